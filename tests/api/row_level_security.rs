//! Row-level security on PostgreSQL: the database itself keeps each
//! organization's rows to the transactions that act for it, whatever a
//! query forgets to filter. All but the search test run only against
//! PostgreSQL (they are ignored on SQLite, which has no such layer; CI runs
//! them with `--include-ignored` on PostgreSQL). The application's own
//! connections are used, acting as `roster_app`; the tests look from
//! outside as the login (`Db::owner`), a superuser, to see what really is
//! there.

use roster::db::{CrossOrg, Tenant};
use roster::domain::role::OrgRole;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::helpers::{TestApp, email, postgres_url, spawn_app};

const POSTGRES_ONLY: &str = "row-level security is PostgreSQL's: set ROSTER_TEST_DATABASE_URL";

/// Tables that hold no organization's rows: people, their sign-in and
/// their second factor, and the migrations' own bookkeeping. Any other
/// table must have row-level security.
const ACCOUNT_TABLES: &[&str] = &[
    "account_tokens",
    "email_changes",
    "recovery_codes",
    "seaql_migrations",
    "sign_in_failures",
    "two_factor",
    "user_sessions",
    "users",
];

/// The tables a forgotten filter is tried on, each with the column that
/// ties a row to its organization (for counting from outside).
const TENANT_QUERIES: &[(&str, &str)] = &[
    ("memberships", "org_id"),
    ("invitations", "org_id"),
    ("workspaces", "org_id"),
    ("workspace_members", "org_id"),
    ("products", "org_id"),
    ("product_grants", "org_id"),
    ("audit_events", "org_id"),
    ("outbox", "org_id"),
    ("organizations", "id"),
    ("member_counts", "org_id"),
    ("product_counts", "org_id"),
];

async fn postgres_app() -> TestApp {
    assert!(postgres_url().is_some(), "{POSTGRES_ONLY}");
    spawn_app().await
}

async fn count_on<C: ConnectionTrait>(conn: &C, sql: &str) -> i64 {
    conn.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_string()))
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .expect("a row")
        .try_get_by_index::<i64>(0)
        .expect("a number")
}

async fn text_on<C: ConnectionTrait>(conn: &C, sql: &str) -> String {
    conn.query_one_raw(Statement::from_string(DbBackend::Postgres, sql.to_string()))
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"))
        .expect("a row")
        .try_get_by_index::<String>(0)
        .expect("text")
}

/// Two organizations, each with members, an invitation, a workspace with
/// a direct role, a product with a grant, audit rows and queued mail.
async fn two_organizations(app: &TestApp) -> (String, String) {
    let a_owner = email("owner-a");
    let b_owner = email("owner-b");
    app.signed_up("Ann Owner", &a_owner, "Acme").await;
    app.signed_up("Bob Owner", &b_owner, "Beta").await;
    let a = app.owned_org(&a_owner).await;
    let b = app.owned_org(&b_owner).await;
    for (org, members) in [(&a, 2), (&b, 3)] {
        let mut last = None;
        for _ in 0..members {
            last = Some(app.add_member(org, OrgRole::Member).await);
        }
        let (membership, address) = last.expect("a member");
        app.add_invitation(org, OrgRole::Viewer).await;
        let workspace = app.add_workspace(org, "Research").await;
        let user = app.user_id(&address).await;
        app.add_workspace_role(&workspace, &user, "editor").await;
        let product = app.add_product(&workspace, "Lab", None).await;
        app.add_grant(&membership, &product, "view").await;
        app.db
            .owner()
            .execute_unprepared(&format!(
                "INSERT INTO outbox (id, kind, org_id, recipient, subject, body_text, body_html, \
                 created_at, next_attempt_at) VALUES ('{}', 'invitation', '{org}', \
                 'someone@example.com', 'Join', 'text', 'html', 0, 0)",
                uuid::Uuid::new_v4()
            ))
            .await
            .expect("queue a message");
    }
    (a, b)
}

#[tokio::test]
#[ignore = "PostgreSQL only"]
async fn every_organization_table_has_forced_row_level_security() {
    let app = postgres_app().await;
    let owner = app.db.owner();
    let tables = owner
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity, \
                    (SELECT COUNT(*) FROM pg_policies p WHERE p.schemaname = 'public' \
                       AND p.tablename = c.relname)::bigint, \
                    EXISTS (SELECT 1 FROM information_schema.columns col \
                       WHERE col.table_schema = 'public' AND col.table_name = c.relname \
                       AND col.column_name = 'org_id') \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1"
                .to_string(),
        ))
        .await
        .expect("list tables");
    assert!(tables.len() > 20, "the schema has its tables");
    let mut unguarded = Vec::new();
    let mut with_org_column = 0;
    for row in &tables {
        let name: String = row.try_get_by_index(0).expect("name");
        let enabled: bool = row.try_get_by_index(1).expect("enabled");
        let forced: bool = row.try_get_by_index(2).expect("forced");
        let policies: i64 = row.try_get_by_index(3).expect("policies");
        let has_org: bool = row.try_get_by_index(4).expect("org column");
        if has_org {
            with_org_column += 1;
        }
        let guarded = enabled && forced && policies >= 2;
        if has_org && !guarded {
            unguarded.push(format!("{name} (has org_id)"));
        } else if !guarded && !ACCOUNT_TABLES.contains(&name.as_str()) {
            unguarded.push(format!("{name} (not an account table)"));
        }
    }
    assert!(with_org_column >= 15, "found {with_org_column} org tables");
    assert!(
        unguarded.is_empty(),
        "tables without forced row-level security and policies: {unguarded:?}"
    );
}

#[tokio::test]
#[ignore = "PostgreSQL only"]
async fn roster_acts_as_a_role_that_policies_bind() {
    let app = postgres_app().await;
    // Outside any transaction that names a tenant, as in one that does.
    let pool = app.db.accounts_read();
    assert_eq!(
        text_on(pool, "SELECT current_user::text").await,
        "roster_app"
    );
    let scoped = app.db.read_in(Tenant::org("nobody")).await.expect("begin");
    assert_eq!(
        text_on(&scoped, "SELECT current_user::text").await,
        "roster_app"
    );
    let flags = text_on(
        &scoped,
        "SELECT rolsuper::text || ',' || rolbypassrls::text FROM pg_roles \
         WHERE rolname = current_user",
    )
    .await;
    assert_eq!(flags, "false,false", "neither superuser nor BYPASSRLS");
    let owns = count_on(
        &scoped,
        "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public' \
         AND tableowner = current_user",
    )
    .await;
    assert_eq!(owns, 0, "the role owns no table");
}

#[tokio::test]
#[ignore = "PostgreSQL only"]
async fn a_forgotten_filter_reads_only_the_acting_organization() {
    let app = postgres_app().await;
    let (a, b) = two_organizations(&app).await;
    let scoped = app.db.read_in(Tenant::org(&a)).await.expect("begin");
    for (table, column) in TENANT_QUERIES {
        let of_a = count_on(
            app.db.owner(),
            &format!("SELECT COUNT(*) FROM {table} WHERE {column} = '{a}'"),
        )
        .await;
        let of_b = count_on(
            app.db.owner(),
            &format!("SELECT COUNT(*) FROM {table} WHERE {column} = '{b}'"),
        )
        .await;
        assert!(of_a > 0 && of_b > 0, "{table} holds rows of both");
        let seen = count_on(&scoped, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(seen, of_a, "an unfiltered read of {table} for A");
        let of_b_seen = count_on(
            &scoped,
            &format!("SELECT COUNT(*) FROM {table} WHERE {column} = '{b}'"),
        )
        .await;
        assert_eq!(of_b_seen, 0, "B's rows of {table}, asked for by id");
    }
}

#[tokio::test]
#[ignore = "PostgreSQL only"]
async fn with_no_tenant_named_the_organization_tables_read_empty() {
    let app = postgres_app().await;
    two_organizations(&app).await;
    let pool = app.db.accounts_read();
    let txn = app.db.begin_accounts_write().await.expect("begin");
    for (table, _) in TENANT_QUERIES {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        assert_eq!(count_on(pool, &sql).await, 0, "{table} outside a tenant");
        assert_eq!(count_on(&txn, &sql).await, 0, "{table} in a write");
    }
    // The account tables stay readable: sign-in works before any tenant.
    assert!(count_on(pool, "SELECT COUNT(*) FROM users").await >= 2);
}

#[tokio::test]
#[ignore = "PostgreSQL only"]
async fn a_tenant_ends_with_its_transaction_on_a_pooled_connection() {
    let app = postgres_app().await;
    let (a, _) = two_organizations(&app).await;
    // More rounds than the pool has connections: every one is reused.
    for _ in 0..40 {
        let txn = app.db.begin_in(Tenant::org(&a)).await.expect("begin");
        assert!(count_on(&txn, "SELECT COUNT(*) FROM memberships").await > 0);
        txn.commit().await.expect("commit");
        let after = count_on(app.db.accounts_read(), "SELECT COUNT(*) FROM memberships").await;
        assert_eq!(after, 0, "the tenant outlived its transaction");
    }
}

#[tokio::test]
#[ignore = "PostgreSQL only"]
async fn unfiltered_writes_touch_only_the_acting_organization() {
    let app = postgres_app().await;
    let (a, b) = two_organizations(&app).await;
    let before_b = |table: &str| format!("SELECT COUNT(*) FROM {table} WHERE org_id = '{b}'");
    let b_workspaces = count_on(app.db.owner(), &before_b("workspaces")).await;
    let b_invitations = count_on(app.db.owner(), &before_b("invitations")).await;
    let a_invitations = count_on(
        app.db.owner(),
        &format!("SELECT COUNT(*) FROM invitations WHERE org_id = '{a}'"),
    )
    .await;

    let txn = app.db.begin_in(Tenant::org(&a)).await.expect("begin");
    let updated = txn
        .execute_unprepared("UPDATE workspaces SET description = 'renamed by A'")
        .await
        .expect("update");
    let deleted = txn
        .execute_unprepared("DELETE FROM invitations")
        .await
        .expect("delete");
    // A row moved to another organization is refused, not written.
    let moved = txn
        .execute_unprepared(&format!("UPDATE products SET org_id = '{b}'"))
        .await;
    assert!(moved.is_err(), "a row may not be moved out of A");
    drop(txn);

    let txn = app.db.begin_in(Tenant::org(&a)).await.expect("begin");
    let updated_again = txn
        .execute_unprepared("UPDATE workspaces SET description = 'renamed by A'")
        .await
        .expect("update");
    txn.commit().await.expect("commit");
    assert_eq!(updated.rows_affected(), updated_again.rows_affected());
    assert_eq!(deleted.rows_affected() as i64, a_invitations);
    let renamed_in_b = count_on(
        app.db.owner(),
        &format!(
            "SELECT COUNT(*) FROM workspaces WHERE org_id = '{b}' \
             AND description = 'renamed by A'"
        ),
    )
    .await;
    assert_eq!(renamed_in_b, 0, "B's workspaces are untouched");
    assert_eq!(
        count_on(app.db.owner(), &before_b("workspaces")).await,
        b_workspaces
    );
    assert_eq!(
        count_on(app.db.owner(), &before_b("invitations")).await,
        b_invitations,
        "B's invitations are still there"
    );
    let renamed_in_a = count_on(
        app.db.owner(),
        &format!(
            "SELECT COUNT(*) FROM workspaces WHERE org_id = '{a}' \
             AND description = 'renamed by A'"
        ),
    )
    .await;
    assert_eq!(renamed_in_a as u64, updated.rows_affected());

    // Inserting a row for B while acting for A is refused.
    let txn = app.db.begin_in(Tenant::org(&a)).await.expect("begin");
    let planted = txn
        .execute_unprepared(&format!(
            "INSERT INTO workspaces (id, org_id, title, title_normalized, description, created_at) \
             VALUES ('{}', '{b}', 'Planted', 'planted', '', 0)",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert!(planted.is_err(), "A may not write B's rows");
}

#[tokio::test]
#[ignore = "PostgreSQL only"]
async fn a_person_sees_their_own_memberships_and_nothing_else() {
    let app = postgres_app().await;
    let (a, b) = two_organizations(&app).await;
    let address = email("both");
    let person = app.insert_user(&address, "Pat Both").await;
    app.add_membership(&a, &person, OrgRole::Member).await;
    app.add_membership(&b, &person, OrgRole::Viewer).await;
    let conn = app
        .db
        .read_in(Tenant::Person(&person.id))
        .await
        .expect("begin");
    assert_eq!(count_on(&conn, "SELECT COUNT(*) FROM memberships").await, 2);
    assert_eq!(
        count_on(&conn, "SELECT COUNT(*) FROM organizations").await,
        2,
        "the organization switcher's names"
    );
    for table in [
        "invitations",
        "workspaces",
        "products",
        "product_grants",
        "outbox",
    ] {
        let seen = count_on(&conn, &format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(seen, 0, "{table} of organizations, for a person alone");
    }
    // A change of their name reaches their own memberships, no one else's.
    let changed = conn
        .execute_unprepared("UPDATE memberships SET sort_name = 'pat both'")
        .await
        .expect("update");
    assert_eq!(changed.rows_affected(), 2);
}

#[tokio::test]
#[ignore = "PostgreSQL only"]
async fn only_a_named_path_sees_every_organization() {
    let app = postgres_app().await;
    let (a, b) = two_organizations(&app).await;
    let all = count_on(app.db.owner(), "SELECT COUNT(*) FROM outbox").await;
    let worker = app
        .db
        .read_cross_org(CrossOrg::MailWorker)
        .await
        .expect("begin");
    assert_eq!(count_on(&worker, "SELECT COUNT(*) FROM outbox").await, all);
    assert_eq!(
        text_on(&worker, "SELECT current_user::text").await,
        "roster_cross"
    );
    let both = count_on(
        &worker,
        &format!("SELECT COUNT(*) FROM organizations WHERE id IN ('{a}', '{b}')"),
    )
    .await;
    assert_eq!(both, 2);
}

/// Both backends: a search by fragment (on PostgreSQL, matched on its named
/// path) shows only the organization's own members, however well another
/// organization's people match.
#[tokio::test]
async fn a_search_by_fragment_finds_only_the_organizations_members() {
    let app = spawn_app().await;
    let a_owner = email("owner-a");
    let (browser, a) = app.signed_up("Ann Owner", &a_owner, "Acme").await;
    let b_owner = email("owner-b");
    let (_, b) = app.signed_up("Bob Owner", &b_owner, "Beta").await;
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let fragment = format!("zebra{}", &tag[..8]);
    let ours = format!("{fragment}-ours@example.com");
    let theirs = format!("{fragment}-theirs@example.com");
    let ours_user = app.insert_user(&ours, "Zed Ours").await;
    app.add_membership(&a, &ours_user, OrgRole::Member).await;
    let theirs_user = app.insert_user(&theirs, "Zed Theirs").await;
    app.add_membership(&b, &theirs_user, OrgRole::Member).await;
    let (status, page) = browser
        .get_html(&format!("/orgs/{a}/members?q={fragment}"))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(
        page.contains(&ours),
        "the organization's own member is found"
    );
    assert!(
        !page.contains(&theirs),
        "another organization's member is not"
    );
    assert!(!page.contains("Zed Theirs"));
    assert!(
        page.contains("1 member matches this view"),
        "the count is the organization's own"
    );
}

/// An operator whose login is no superuser: it owns the database and may
/// create roles (`CREATEROLE`), nothing more. Roster makes its roles, grants
/// them to that login and runs; the owner itself is held to the policies.
/// The login starts granted `roster_cross` itself, as Roster used to grant
/// it, which would let it past the policies: Roster takes that back.
#[tokio::test]
#[ignore = "PostgreSQL only"]
async fn roster_runs_on_a_login_that_is_no_superuser() {
    let owned = OwnLogin::new("roster_owner", "CREATEROLE", "roster_cross").await;
    let url = owned.url.clone();
    let app = crate::helpers::spawn_app_with(move |config| {
        config.database_url = roster::config::DatabaseUrl::new(url);
    })
    .await;

    let address = email("operator");
    let browser = app.new_browser();
    browser
        .sign_up(
            "Olga Operator",
            &address,
            crate::helpers::PASSWORD,
            "Owned Co",
        )
        .await;
    app.confirm_email(&address).await;
    let signed_in = browser.sign_in(&address, crate::helpers::PASSWORD).await;
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    let home = browser.get("/").await;
    let members = crate::helpers::location(&home);
    assert!(members.ends_with("/members"), "home is {members}");
    let (status, page) = browser.get_html(&members).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(page.contains("1 member"), "the Owner is listed");

    // The owner of the tables is no superuser: forced, the policies hold
    // it too, and with no organization named it sees none of their rows.
    let rows = count_on(app.db.owner(), "SELECT COUNT(*) FROM memberships").await;
    assert_eq!(rows, 0, "the owner sees no membership without a tenant");
    let direct = count_on(
        app.db.owner(),
        "SELECT COUNT(*) FROM pg_auth_members \
         WHERE roleid = 'roster_cross'::regrole AND member = session_user::text::regrole",
    )
    .await;
    assert_eq!(
        direct, 0,
        "the login holds roster_cross only through the gate"
    );
    let cross = app.db.read_cross_org(CrossOrg::Seed).await.expect("begin");
    assert_eq!(
        count_on(&cross, "SELECT COUNT(*) FROM memberships").await,
        1
    );
    drop(cross);

    app.server.stop(true).await;
    drop(app);
    owned.remove().await;
}

/// A login that may not manage roles, set up by a DBA before the gate
/// role existed, was granted `roster_cross` itself. Roster will not run
/// on it (that grant lets it past every policy) and says what to run; once
/// a superuser has, it starts.
#[tokio::test]
#[ignore = "PostgreSQL only"]
async fn a_login_granted_the_crossing_role_itself_is_stopped_with_the_fix() {
    let owned = OwnLogin::new(
        "roster_dba_made",
        "",
        "roster_app, roster_cross_gate, roster_cross",
    )
    .await;
    let login = owned.login.clone();
    let url = roster::config::DatabaseUrl::new(owned.url.clone());

    let refused = roster::db::Db::connect(&url)
        .await
        .expect_err("a login past every policy is refused");
    let message = format!("{refused:#}");
    assert!(
        message.contains(&format!(
            "the login {login} may not take back its own grant of roster_cross"
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!("REVOKE roster_cross FROM {login};")),
        "the error says what to run: {message}"
    );

    owned
        .admin
        .execute_unprepared(&format!("REVOKE roster_cross FROM {login}"))
        .await
        .expect("revoke");
    let db = roster::db::Db::connect(&url).await.expect("starts now");
    db.migrate().await.expect("migrate");
    // Through the gate alone, the named paths still take the role.
    let cross = db.read_cross_org(CrossOrg::Seed).await.expect("begin");
    assert_eq!(
        text_on(&cross, "SELECT current_user::text").await,
        "roster_cross"
    );
    drop(cross);
    drop(db);
    owned.remove().await;
}

/// A database owned by a login of its own (no superuser), made by the
/// test URL's superuser, with Roster's roles in place and `grants` given
/// to the login.
struct OwnLogin {
    admin: sea_orm::DatabaseConnection,
    login: String,
    database: String,
    url: String,
}

impl OwnLogin {
    async fn new(prefix: &str, attributes: &str, grants: &str) -> Self {
        let admin_url = postgres_url().expect(POSTGRES_ONLY);
        let admin = sea_orm::Database::connect(&admin_url)
            .await
            .expect("connect");
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let login = format!("{prefix}_{}", &tag[..12]);
        let database = format!("{prefix}_db_{}", &tag[..12]);
        for sql in [
            format!("CREATE ROLE {login} LOGIN {attributes} PASSWORD 'owner-password'"),
            format!("CREATE DATABASE {database} OWNER {login}"),
        ]
        .into_iter()
        .chain(migrations::role_statements())
        .chain([format!("GRANT {grants} TO {login}")])
        {
            admin.execute_unprepared(&sql).await.expect("set up");
        }
        let host = admin_url
            .rsplit_once('@')
            .map(|(_, rest)| rest)
            .and_then(|rest| rest.rsplit_once('/'))
            .map(|(host, _)| host.to_string())
            .expect("a host in the URL");
        let url = format!("postgres://{login}:owner-password@{host}/{database}");
        Self {
            admin,
            login,
            database,
            url,
        }
    }

    async fn remove(self) {
        for sql in [
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
            format!("DROP ROLE IF EXISTS {}", self.login),
        ] {
            self.admin.execute_unprepared(&sql).await.expect("clean up");
        }
    }
}
