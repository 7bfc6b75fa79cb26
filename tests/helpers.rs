//! Spawning the app and driving it: [`spawn_app`] gives a [`TestApp`] with
//! its own database; [`Browser`] is a cookie-keeping client that does not
//! follow redirects, with helpers for Roster's forms.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::header::HeaderValue;
use reqwest::{Response, StatusCode};
use roster::clock::Clock;
use roster::config::{Config, DatabaseUrl, SecretKey, SmtpConfig, SmtpTls};
use roster::db::Db;
use roster::domain::email::normalize_lookup;
use roster::domain::names::{Label, LabelKind};
use roster::domain::product::Grant;
use roster::domain::role::OrgRole;
use roster::domain::workspace::WorkspaceRole;
use roster::entities::{invitation, membership, user, workspace};
use roster::mail::Mailer;
use roster::services::acting::Acting;
use roster::services::audit::Actor;
use roster::services::{memberships, product_access, products};
use roster::startup::Application;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, EntityTrait, QueryFilter, Set,
};

pub const PASSWORD: &str = "correct horse battery staple";

/// An argon2id hash of [`PASSWORD`] with minimal cost, for people the tests
/// create directly in the database.
fn cheap_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let params = argon2::Params::new(8, 1, 1, None).expect("params");
        let hasher =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::encode_b64(b"roster-test-salt").expect("salt");
        hasher
            .hash_password(PASSWORD.as_bytes(), &salt)
            .expect("hash")
            .to_string()
    })
}

/// A database for one test, removed when the test ends.
enum TestDb {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { admin_url, name } = self {
            let admin_url = admin_url.clone();
            let name = name.clone();
            // Drop runs outside async; give the drop its own small runtime.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(conn) = Database::connect(&admin_url).await {
                        let _ = conn
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub clock: Clock,
    pub db: Db,
    pub mailer: Mailer,
    /// Each person's running requests: a test takes places in it to stand
    /// for requests still running.
    pub in_flight: roster::web::in_flight::InFlight,
    pub browser: Browser,
    /// Stops the server as SIGTERM would.
    pub server: ServerHandle,
    /// Resolves when the server and its mail worker have stopped.
    pub stopped: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The settings it runs with (another instance reuses them).
    pub config: Config,
    _db_guard: Arc<TestDb>,
}

/// The backend under test: PostgreSQL when `ROSTER_TEST_DATABASE_URL` is
/// set, SQLite otherwise.
pub fn postgres_url() -> Option<String> {
    std::env::var("ROSTER_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

async fn test_database() -> (DatabaseUrl, TestDb) {
    match postgres_url() {
        Some(admin_url) => {
            let name = format!("roster_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            let base = admin_url
                .rsplit_once('/')
                .map(|(b, _)| b)
                .unwrap_or(&admin_url);
            let url = format!("{base}/{name}");
            (DatabaseUrl::new(url), TestDb::Postgres { admin_url, name })
        }
        None => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("roster.db").display()
            );
            (DatabaseUrl::new(url), TestDb::Sqlite(dir))
        }
    }
}

pub fn test_config(database_url: DatabaseUrl) -> Config {
    Config {
        bind: "127.0.0.1:0".parse().expect("address"),
        database_url,
        base_url: "http://127.0.0.1".into(),
        secret_key: SecretKey::generate(),
        secure_cookies: false,
        idle_timeout: Duration::from_secs(60 * 60),
        session_lifetime: Duration::from_secs(12 * 60 * 60),
        trust_proxy: false,
        requests_per_person: roster::web::in_flight::PER_PERSON,
        smtp: None,
        mail_from: "Roster <roster@roster.test>".into(),
        invitations_per_day: 500,
        api_requests_per_minute: 600,
        // No test asks the real DNS: by default lookups go to a local port
        // where nothing answers; domain-proof tests start their own server.
        dns: crate::dns::config_for("127.0.0.1:9".parse().expect("address")),
        default_seat_limit: None,
    }
}

/// Settings that deliver mail to a local sink on `port`.
pub fn smtp_to(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        user: None,
        password: None,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    // ROSTER_TEST_LOG=1 shows the application's logs (with RUST_LOG).
    if std::env::var("ROSTER_TEST_LOG").is_ok() {
        roster::telemetry::init();
    }
    let (database_url, guard) = test_database().await;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("address").port()
    );
    let mut config = test_config(database_url);
    config.base_url = address.clone();
    configure(&mut config);
    let db = Db::connect(&config.database_url).await.expect("connect");
    db.migrate().await.expect("migrate");
    start(config, Clock::default(), db, listener, Arc::new(guard))
}

fn start(
    config: Config,
    clock: Clock,
    db: Db,
    listener: TcpListener,
    guard: Arc<TestDb>,
) -> TestApp {
    let address = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().expect("address").port()
    );
    let app = Application::build_with(config.clone(), clock.clone(), db.clone(), listener)
        .expect("build app");
    let mailer = app.mailer();
    let in_flight = app.in_flight();
    let server = app.handle();
    let stopped = tokio::spawn(app.run_until_stopped());
    TestApp {
        browser: Browser::new(&address),
        address,
        clock,
        db,
        mailer,
        in_flight,
        server,
        stopped,
        config,
        _db_guard: guard,
    }
}

impl TestApp {
    /// Another Roster instance on the same database with the same secret
    /// key, as an operator runs several behind a load balancer: its own
    /// port, connection pool, clock and mail worker.
    pub async fn another_instance(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut config = self.config.clone();
        config.base_url = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("address").port()
        );
        configure(&mut config);
        let db = Db::connect(&config.database_url).await.expect("connect");
        start(
            config,
            Clock::default(),
            db,
            listener,
            self._db_guard.clone(),
        )
    }

    /// Stops the server as SIGTERM does and waits until it and its mail
    /// worker are done; the database stays for [`StoppedApp::start`].
    pub async fn stop(self) -> StoppedApp {
        self.server.stop(true).await;
        self.stopped
            .await
            .expect("the server task")
            .expect("the server stopped cleanly");
        StoppedApp {
            config: self.config,
            db: self.db,
            guard: self._db_guard,
        }
    }

    /// Another browser with its own cookies.
    pub fn new_browser(&self) -> Browser {
        Browser::new(&self.address)
    }

    /// Signs up a new person with their own organization in a fresh browser,
    /// signs in with their password and confirms their address (as
    /// following the verification link would), so they may send
    /// invitations.
    pub async fn signed_up(&self, name: &str, email: &str, org: &str) -> (Browser, String) {
        let (browser, org_id) = self.signed_up_unconfirmed(name, email, org).await;
        self.confirm_email(email).await;
        (browser, org_id)
    }

    /// Signs up a new person who has not followed their verification link
    /// and signs them in with their password (sign-up itself starts no
    /// session).
    pub async fn signed_up_unconfirmed(
        &self,
        name: &str,
        email: &str,
        org: &str,
    ) -> (Browser, String) {
        let browser = self.new_browser();
        browser.sign_up(name, email, PASSWORD, org).await;
        let signed_in = browser.sign_in(email, PASSWORD).await;
        assert_eq!(
            signed_in.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {email} after sign-up"
        );
        (browser, self.owned_org(email).await)
    }

    /// The organization the account with `address` owns (the one its
    /// sign-up created).
    pub async fn owned_org(&self, address: &str) -> String {
        self.scalar_text(&format!(
            "SELECT org_id FROM memberships WHERE role = 'owner' AND email_normalized = '{}'",
            normalize_lookup(address)
        ))
        .await
    }

    /// The path of the newest link in the outbox to `address` that starts
    /// with `marker` (`/verify/`, say), from a message still waiting there
    /// (no SMTP configured).
    pub async fn outbox_link(&self, address: &str, marker: &str) -> String {
        let body = self
            .scalar_text(&format!(
                "SELECT body_text FROM outbox WHERE LOWER(recipient) = '{}' \
                 AND body_text LIKE '%{marker}%' ORDER BY created_at DESC, id DESC LIMIT 1",
                normalize_lookup(address)
            ))
            .await;
        let at = body.find(marker).expect("a link in the message");
        let token: String = body[at + marker.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        format!("{marker}{token}")
    }

    /// Marks the account with `address` as having confirmed it.
    pub async fn confirm_email(&self, address: &str) {
        user::Entity::update_many()
            .col_expr(
                user::Column::EmailVerifiedAt,
                Expr::value(Some(self.clock.now())),
            )
            .filter(user::Column::EmailNormalized.eq(address.to_lowercase()))
            .exec(self.db.owner())
            .await
            .expect("confirm an address");
    }

    /// The account with `address`.
    pub async fn user(&self, address: &str) -> user::Model {
        user::Entity::find()
            .filter(user::Column::EmailNormalized.eq(address.to_lowercase()))
            .one(self.db.owner())
            .await
            .expect("query")
            .expect("an account")
    }

    /// Creates a person straight in the database (password [`PASSWORD`],
    /// hashed with cheap argon2 parameters so tests sign in quickly).
    pub async fn insert_user(&self, email: &str, name: &str) -> user::Model {
        user::ActiveModel {
            id: Set(uuid::Uuid::new_v4().to_string()),
            email: Set(email.to_string()),
            email_normalized: Set(email.to_lowercase()),
            name: Set(name.to_string()),
            password_hash: Set(cheap_hash().to_string()),
            email_verified_at: Set(None),
            session_epoch: Set(0),
            created_at: Set(self.clock.now()),
            last_active_at: Set(None),
            join_org_id: Set(None),
            two_factor_at: Set(None),
        }
        .insert(self.db.owner())
        .await
        .expect("insert user")
    }

    /// Makes `user` a member of `org_id` with `role` (never active yet),
    /// as every use case does; returns the membership id.
    pub async fn add_membership(&self, org_id: &str, user: &user::Model, role: OrgRole) -> String {
        self.add_membership_last_active(org_id, user, role, 0).await
    }

    /// Makes `user` a member of `org_id` with `role`, last active at
    /// `last_active_at` (0 for never); returns the membership id.
    pub async fn add_membership_last_active(
        &self,
        org_id: &str,
        user: &user::Model,
        role: OrgRole,
        last_active_at: i64,
    ) -> String {
        memberships::insert(
            self.db.owner(),
            org_id,
            user,
            role,
            self.clock.now(),
            last_active_at,
        )
        .await
        .expect("insert membership")
        .id
    }

    /// A new person in `org_id` with `role` (not signed in anywhere);
    /// returns (membership id, email).
    pub async fn add_member(&self, org_id: &str, role: OrgRole) -> (String, String) {
        self.add_member_last_active(org_id, role, 0).await
    }

    /// [`TestApp::add_member`], last active at `last_active_at` (0 for
    /// never).
    pub async fn add_member_last_active(
        &self,
        org_id: &str,
        role: OrgRole,
        last_active_at: i64,
    ) -> (String, String) {
        let address = email(role.as_str());
        let user = self
            .insert_user(
                &address,
                &format!("{} {}", role.label(), &address[..address.len().min(14)]),
            )
            .await;
        let membership = self
            .add_membership_last_active(org_id, &user, role, last_active_at)
            .await;
        (membership, address)
    }

    /// The Owner of `org_id` acting there, for fixtures that go through a
    /// use case with an actor (and its audit row).
    pub async fn owner_acting(&self, org_id: &str) -> Acting {
        let owner = membership::Entity::find()
            .filter(membership::Column::OrgId.eq(org_id))
            .filter(membership::Column::Role.eq(OrgRole::Owner))
            .one(self.db.owner())
            .await
            .expect("query")
            .expect("the organization's Owner");
        self.acting_as(owner).await
    }

    /// The person with `address` acting in `org_id`.
    pub async fn acting_of(&self, org_id: &str, address: &str) -> Acting {
        let person = self.user(address).await;
        let found = membership::Entity::find()
            .filter(membership::Column::OrgId.eq(org_id))
            .filter(membership::Column::UserId.eq(person.id.as_str()))
            .one(self.db.owner())
            .await
            .expect("query")
            .expect("a membership");
        self.acting_as(found).await
    }

    /// A key made by `acting` (through the service the page uses), living
    /// `days` days; returns its secret.
    pub async fn api_key(
        &self,
        acting: &Acting,
        name: &str,
        kind: roster::services::api_keys::NewKind,
        days: i64,
    ) -> String {
        let (_, secret) = roster::services::api_keys::create(
            &self.db,
            &self.clock,
            acting,
            roster::services::api_keys::NewKey {
                name: name.to_string(),
                kind,
                expires_at: self.clock.now() + days * 24 * 60 * 60,
                workspace_id: None,
            },
        )
        .await
        .expect("make a key");
        secret
    }

    /// An organization key of the Owner's with `role`, for 30 days.
    pub async fn org_key(&self, org_id: &str, role: OrgRole) -> String {
        let owner = self.owner_acting(org_id).await;
        self.api_key(
            &owner,
            &format!("{} key", role.label()),
            roster::services::api_keys::NewKind::Organization(role),
            30,
        )
        .await
    }

    /// A request to `/api/v1{path}` with `secret` as the Bearer key.
    pub fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        secret: &str,
    ) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .request(method, format!("{}/api/v1{path}", self.address))
            .bearer_auth(secret)
    }

    /// The holder of `membership` acting in its organization.
    async fn acting_as(&self, membership: membership::Model) -> Acting {
        let person = user::Entity::find_by_id(membership.user_id.clone())
            .one(self.db.owner())
            .await
            .expect("query")
            .expect("the member's account");
        Acting {
            org_id: membership.org_id,
            user_id: membership.user_id,
            membership_id: membership.id,
            actor: Actor {
                user_id: Some(person.id),
                label: person.email,
                address: None,
            },
            org_key: None,
        }
    }

    async fn workspace(&self, workspace_id: &str) -> workspace::Model {
        workspace::Entity::find_by_id(workspace_id.to_string())
            .one(self.db.owner())
            .await
            .expect("query")
            .expect("a workspace")
    }

    async fn membership(&self, membership_id: &str) -> membership::Model {
        membership::Entity::find_by_id(membership_id.to_string())
            .one(self.db.owner())
            .await
            .expect("query")
            .expect("a membership")
    }

    /// A pending invitation (sent by the Owner) for a new address, straight
    /// in the database; returns its id and the token of its link.
    pub async fn add_invitation(&self, org_id: &str, role: OrgRole) -> (String, String) {
        let owner = self.owner_acting(org_id).await.user_id;
        let token = roster::domain::token::generate();
        let id = uuid::Uuid::new_v4().to_string();
        let address = email("invitee");
        // Sent ten minutes ago, so that it may be resent at once.
        let now = self.clock.now() - 600;
        invitation::ActiveModel {
            id: Set(id.clone()),
            org_id: Set(org_id.to_string()),
            email: Set(address.clone()),
            email_normalized: Set(address.to_lowercase()),
            role: Set(role),
            token_hash: Set(roster::domain::token::hash(&token)),
            state: Set(invitation::StoredState::Pending),
            invited_by: Set(Some(owner)),
            invited_by_name: Set("Olivia Owner".into()),
            created_at: Set(now),
            sent_at: Set(now),
            expires_at: Set(now + roster::services::invitations::VALID_SECS),
            accepted_at: Set(None),
            accepted_by: Set(None),
            revoked_at: Set(None),
            message_id: Set(None),
            workspace_id: Set(None),
            workspace_role: Set(None),
            invited_by_key_id: Set(None),
        }
        .insert(self.db.owner())
        .await
        .expect("insert invitation");
        (id, token)
    }

    /// Gives `user_id` the direct `role` (`viewer`, `editor`, `admin` or
    /// `owner`) in a workspace.
    pub async fn add_workspace_role(&self, workspace_id: &str, user_id: &str, role: &str) {
        let role = WorkspaceRole::parse(role).expect("a workspace role");
        let ws = self.workspace(workspace_id).await;
        memberships::insert_direct_role(
            self.db.owner(),
            &ws.org_id,
            &ws.id,
            user_id,
            role,
            self.clock.now(),
        )
        .await
        .expect("add a workspace role");
    }

    /// A workspace created by the organization's Owner (who owns it);
    /// returns its id.
    pub async fn add_workspace(&self, org_id: &str, title: &str) -> String {
        let title = roster::domain::names::Label::parse(
            title,
            roster::domain::names::LabelKind::WorkspaceTitle,
        )
        .expect("a valid title");
        let acting = self.owner_acting(org_id).await;
        roster::services::workspaces::create(&self.db, &self.clock, &acting, &title, "")
            .await
            .expect("create a workspace")
            .id
    }

    /// A product in a workspace; returns its id. With an owner, that
    /// person creates it (and owns it) as the product form would. Without
    /// one it is written straight in the database: a product nobody owns
    /// that does not need an owner is no state any use case makes.
    pub async fn add_product(&self, workspace_id: &str, name: &str, owner: Option<&str>) -> String {
        let Some(owner) = owner else {
            return self.add_unowned_product(workspace_id, name).await;
        };
        let ws = self.workspace(workspace_id).await;
        let membership = membership::Entity::find()
            .filter(membership::Column::OrgId.eq(ws.org_id.as_str()))
            .filter(membership::Column::UserId.eq(owner))
            .one(self.db.owner())
            .await
            .expect("query")
            .expect("the owner belongs to the organization");
        let acting = self.acting_as(membership).await;
        let name = Label::parse(name, LabelKind::ProductName).expect("a product name");
        products::create(&self.db, &self.clock, &acting, &ws.id, &name, "")
            .await
            .expect("add a product")
            .id
    }

    async fn add_unowned_product(&self, workspace_id: &str, name: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        self.db
            .owner()
            .execute_unprepared(&format!(
                "INSERT INTO products (id, org_id, workspace_id, name, name_normalized, description, \
                 owner_id, needs_owner, created_at, updated_at) \
                 SELECT '{id}', org_id, id, '{name}', '{}', '', NULL, FALSE, 0, 0 \
                 FROM workspaces WHERE id = '{workspace_id}'",
                name.to_lowercase()
            ))
            .await
            .expect("add a product");
        id
    }

    /// Restricts a member to their granted products (or lifts it), as the
    /// Owner does on the Product Access page.
    pub async fn set_restricted(&self, membership_id: &str, restricted: bool) {
        let org_id = self.membership(membership_id).await.org_id;
        let acting = self.owner_acting(&org_id).await;
        product_access::set_restricted(&self.db, &self.clock, &acting, membership_id, restricted)
            .await
            .expect("restrict");
    }

    /// Stores the restriction flag on a membership the Product Access page
    /// refuses to restrict (an Admin's, the Owner's): the flag a restricted
    /// Member keeps when promoted, which must change nothing.
    pub async fn store_restricted_flag(&self, membership_id: &str, restricted: bool) {
        membership::Entity::update_many()
            .col_expr(
                membership::Column::ProductsRestricted,
                Expr::value(restricted),
            )
            .filter(membership::Column::Id.eq(membership_id))
            .exec(self.db.owner())
            .await
            .expect("store the restriction flag");
    }

    /// Grants `access` (`view` or `edit`) on a product to a membership, as
    /// the Owner does on the Product Access page.
    pub async fn add_grant(&self, membership_id: &str, product_id: &str, access: &str) {
        let grant = Grant::parse(access)
            .expect("a grant")
            .expect("view or edit");
        let org_id = self.membership(membership_id).await.org_id;
        let acting = self.owner_acting(&org_id).await;
        product_access::set_grant(
            &self.db,
            &self.clock,
            &acting,
            membership_id,
            product_id,
            Some(grant),
        )
        .await
        .expect("grant");
    }

    /// The id of the workspace an organization starts with ("General").
    pub async fn general_workspace(&self, org_id: &str) -> String {
        self.scalar_text(&format!(
            "SELECT id FROM workspaces WHERE org_id = '{org_id}' AND title_normalized = 'general'"
        ))
        .await
    }

    /// The user id of the account with `address`.
    pub async fn user_id(&self, address: &str) -> String {
        self.scalar_text(&format!(
            "SELECT id FROM users WHERE email_normalized = '{}'",
            address.to_lowercase()
        ))
        .await
    }

    /// One text value from the database.
    pub async fn scalar_text(&self, sql: &str) -> String {
        let backend = self.db.owner().get_database_backend();
        let row = self
            .db
            .owner()
            .query_one_raw(sea_orm::Statement::from_string(backend, sql.to_string()))
            .await
            .expect("query")
            .expect("a row");
        row.try_get_by_index::<String>(0).expect("a text value")
    }

    /// Adds a new person to an organization with `role` straight in the
    /// database and returns a browser signed in as them.
    pub async fn member_with_role(&self, org_id: &str, email: &str, role: OrgRole) -> Browser {
        let user = self
            .insert_user(email, &format!("{} person", role.label()))
            .await;
        self.add_membership(org_id, &user, role).await;
        self.confirm_email(email).await;
        let browser = self.new_browser();
        let response = browser.sign_in(email, PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-in as {email}"
        );
        browser
    }

    /// The role a person holds in an organization, if any.
    pub async fn role_of(&self, org_id: &str, email: &str) -> Option<String> {
        let backend = self.db.owner().get_database_backend();
        let row = self
            .db
            .owner()
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                match backend {
                    sea_orm::DbBackend::Postgres => {
                        "SELECT role FROM memberships WHERE org_id = $1 AND email_normalized = $2"
                    }
                    _ => "SELECT role FROM memberships WHERE org_id = ? AND email_normalized = ?",
                },
                [org_id.into(), email.to_lowercase().into()],
            ))
            .await
            .expect("query")?;
        Some(row.try_get_by_index::<String>(0).expect("role"))
    }

    /// The stored member counts agree with the memberships, role by role.
    pub async fn assert_counts_match(&self, org_id: &str) {
        for role in ["owner", "admin", "member", "viewer", "none"] {
            let real = self
                .scalar(&format!(
                    "SELECT COUNT(*) FROM memberships WHERE org_id = '{org_id}' AND role = '{role}'"
                ))
                .await;
            let stored = self
                .scalar(&format!(
                    "SELECT CAST(COALESCE(SUM(members), 0) AS BIGINT) FROM member_counts WHERE org_id = '{org_id}' AND role = '{role}'"
                ))
                .await;
            assert_eq!(stored, real, "stored count of {role}s");
        }
    }

    pub async fn owners_of(&self, org_id: &str) -> i64 {
        self.scalar(&format!(
            "SELECT COUNT(*) FROM memberships WHERE org_id = '{org_id}' AND role = 'owner'"
        ))
        .await
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {table}")).await
    }

    pub async fn scalar(&self, sql: &str) -> i64 {
        scalar_on(&self.db, sql).await
    }
}

/// A stopped instance's database and settings, to look at and start again.
pub struct StoppedApp {
    config: Config,
    pub db: Db,
    guard: Arc<TestDb>,
}

impl StoppedApp {
    pub async fn scalar(&self, sql: &str) -> i64 {
        scalar_on(&self.db, sql).await
    }

    /// Starts Roster again on the same database and settings (a new port).
    pub async fn start(self) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut config = self.config;
        config.base_url = format!(
            "http://127.0.0.1:{}",
            listener.local_addr().expect("address").port()
        );
        start(config, Clock::default(), self.db, listener, self.guard)
    }
}

async fn scalar_on(db: &Db, sql: &str) -> i64 {
    let backend = db.owner().get_database_backend();
    let row = db
        .owner()
        .query_one_raw(sea_orm::Statement::from_string(backend, sql.to_string()))
        .await
        .expect("query")
        .expect("a row");
    row.try_get_by_index::<i64>(0).expect("an integer")
}

/// A client that keeps cookies and does not follow redirects.
pub struct Browser {
    pub address: String,
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
}

impl Browser {
    pub fn new(address: &str) -> Self {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Browser {
            address: address.to_string(),
            client,
            jar,
        }
    }

    /// The same browser (cookies and all) talking to another instance.
    pub fn on(&self, app: &TestApp) -> Browser {
        Browser {
            address: app.address.clone(),
            client: self.client.clone(),
            jar: self.jar.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_html(&self, path: &str) -> (StatusCode, String) {
        let response = self.get(path).await;
        let status = response.status();
        (status, response.text().await.expect("body"))
    }

    /// The CSRF token of this browser's session, read from a page.
    pub async fn csrf_token(&self) -> String {
        let (_, body) = self.get_html("/signin").await;
        if let Some(token) = csrf_in(&body) {
            return token;
        }
        let (_, body) = self.get_html("/account").await;
        if let Some(token) = csrf_in(&body) {
            return token;
        }
        // A session ended elsewhere: the cookie still claimed it (so the
        // sign-in page sent it home), and asking for a page cleared it.
        let (_, body) = self.get_html("/signin").await;
        csrf_in(&body).expect("a page with a CSRF token")
    }

    /// POSTs a urlencoded form with this session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.post_raw(path, &all).await
    }

    /// POSTs exactly the given fields.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body = serde_urlencoded::to_string(fields).expect("encode");
        self.client
            .post(self.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST")
    }

    /// Fills in the sign-up form; the answer is "check your email" (200)
    /// whether or not the address had an account, and no session starts.
    pub async fn sign_up(&self, name: &str, email: &str, password: &str, org: &str) {
        let response = self
            .post_form(
                "/signup",
                &[
                    ("name", name),
                    ("email", email),
                    ("password", password),
                    ("org_name", org),
                    // Their own organization, also when their domain's
                    // organization is offered.
                    ("org", "new"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK, "sign-up of {email}");
        let body = response.text().await.expect("body");
        assert!(body.contains("Check your email"), "sign-up of {email}");
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Response {
        self.post_form("/signin", &[("email", email), ("password", password)])
            .await
    }

    pub async fn sign_out(&self) -> Response {
        self.post_form("/signout", &[]).await
    }

    /// The `Cookie` header this browser would send, to replay elsewhere.
    pub fn cookie_header(&self) -> HeaderValue {
        let url = self.address.parse().expect("url");
        self.jar.cookies(&url).expect("a cookie")
    }
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

pub fn csrf_in(body: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_string()).filter(|t| !t.is_empty())
}

/// Unique email addresses per test: 64 random bits, so the thousands a run
/// makes never collide (a collision is a unique violation in a test that
/// did nothing wrong), and long enough to show a table that a long address
/// would widen.
pub fn email(label: &str) -> String {
    format!(
        "{label}-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

/// Who makes a request in the authorization tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Anonymous,
    /// The Owner of another organization.
    Outsider,
    /// A former member, still signed in.
    Removed,
    /// Org role none (workspace-only guest).
    Guest,
    Viewer,
    Member,
    Admin,
    Owner,
}

impl Who {
    /// Least to most powerful; the Owner comes last because some of its
    /// actions (transfer, delete) change the organization for everyone.
    pub const ALL: [Who; 8] = [
        Who::Anonymous,
        Who::Outsider,
        Who::Removed,
        Who::Guest,
        Who::Viewer,
        Who::Member,
        Who::Admin,
        Who::Owner,
    ];
}

/// An organization with one person of each kind, each signed in in their
/// own browser.
pub struct Fixture {
    pub org_id: String,
    pub org_name: String,
    browsers: Vec<(Who, Browser)>,
}

impl Fixture {
    pub fn browser(&self, who: Who) -> &Browser {
        self.browsers
            .iter()
            .find(|(w, _)| *w == who)
            .map(|(_, b)| b)
            .expect("a browser for everyone")
    }
}

impl TestApp {
    pub async fn fixture(&self) -> Fixture {
        let org_name = format!("Org {}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
        let owner_email = email("owner");
        let (owner, org_id) = self
            .signed_up("Olivia Owner", &owner_email, &org_name)
            .await;
        let (outsider, _) = self
            .signed_up("Oscar Outsider", &email("outsider"), "Elsewhere")
            .await;
        let removed_email = email("removed");
        let removed = self
            .member_with_role(&org_id, &removed_email, OrgRole::Viewer)
            .await;
        self.db
            .owner()
            .execute_unprepared(&format!(
                "DELETE FROM memberships WHERE org_id = '{org_id}' AND email_normalized = '{}'",
                removed_email.to_lowercase()
            ))
            .await
            .expect("remove");
        let mut browsers = vec![
            (Who::Anonymous, self.new_browser()),
            (Who::Outsider, outsider),
            (Who::Removed, removed),
        ];
        for (who, role) in [
            (Who::Guest, OrgRole::None),
            (Who::Viewer, OrgRole::Viewer),
            (Who::Member, OrgRole::Member),
            (Who::Admin, OrgRole::Admin),
        ] {
            browsers.push((
                who,
                self.member_with_role(&org_id, &email(role.as_str()), role)
                    .await,
            ));
        }
        browsers.push((Who::Owner, owner));
        Fixture {
            org_id,
            org_name,
            browsers,
        }
    }
}

/// The id of the newest invitation of `org` to `address`.
pub async fn invitation_id(app: &TestApp, org: &str, address: &str) -> String {
    app.scalar_text(&format!(
        "SELECT id FROM invitations WHERE org_id = '{org}' AND email_normalized = '{}' \
         ORDER BY created_at DESC",
        address.to_lowercase()
    ))
    .await
}

/// A fresh browser signed in as `address` (after the clock moved on and
/// an earlier session ended, too).
pub async fn signed_in(app: &TestApp, address: &str) -> Browser {
    let browser = app.new_browser();
    let response = browser.sign_in(address, PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "sign-in as {address}"
    );
    browser
}

/// The text a person reads in an HTML fragment: tags dropped (each as a
/// space), whitespace collapsed.
pub fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The six-digit code an authenticator app shows for `secret` at `t`
/// (RFC 6238: SHA-1, 30-second steps), computed with totp-rs as an app
/// would, independently of Roster's own check.
pub fn code_at(secret: &str, t: i64) -> String {
    use totp_rs::{Algorithm, Secret, TOTP};
    let bytes = Secret::Encoded(secret.to_string())
        .to_bytes()
        .expect("a base32 secret");
    TOTP::new(Algorithm::SHA1, 6, 1, 30, bytes)
        .expect("a TOTP")
        .generate(u64::try_from(t).expect("a time after 1970"))
}

/// A six-digit code that is none of the codes accepted around `t`.
pub fn wrong_code(secret: &str, t: i64) -> String {
    let accepted = [
        code_at(secret, t - 30),
        code_at(secret, t),
        code_at(secret, t + 30),
    ];
    (0..10)
        .map(|d| d.to_string().repeat(6))
        .find(|c| !accepted.contains(c))
        .expect("a wrong code")
}
