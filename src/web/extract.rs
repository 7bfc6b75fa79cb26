//! Request extractors: who is asking ([`CurrentUser`]), in which
//! organization and with what role ([`OrgCtx`]), whether htmx asked
//! ([`Htmx`]) and from which address ([`ClientAddr`]). Membership and role
//! are read from the database on every request, so a role change or a
//! removal takes effect on the very next one.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::{LocalBoxFuture, Ready, ready};

use super::errors::AppError;
use super::in_flight::Slot;
use super::session;
use super::state::AppState;
use crate::db::Tenant;
use crate::domain::permission::Permission;
use crate::domain::policy::{self, Action, Roles};
use crate::domain::role::OrgRole;
use crate::entities::{membership, organization, user};
use crate::services::acting::CustomLevels;
use crate::services::page_rows::{Along, AlongRead};
use crate::services::security_log::Origin;
use crate::services::security_policy::{self, TwoFactorStanding};
use crate::services::{accounts, audit, orgs, sessions};

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Unexpected(anyhow::anyhow!("application state is missing")))
}

/// Whether the request came from htmx (and is not a history restore, which
/// needs the whole page).
pub fn is_htmx(req: &HttpRequest) -> bool {
    let headers = req.headers();
    headers.contains_key("HX-Request") && !headers.contains_key("HX-History-Restore-Request")
}

#[derive(Clone, Copy, Debug)]
pub struct Htmx(pub bool);

impl FromRequest for Htmx {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Htmx(is_htmx(req))))
    }
}

/// The client's address: the peer, or the forwarded address when Roster is
/// configured to trust its reverse proxy.
#[derive(Clone, Debug)]
pub struct ClientAddr(pub Option<String>);

fn client_addr(req: &HttpRequest) -> Option<String> {
    let trust_proxy = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.trust_proxy);
    if trust_proxy {
        req.connection_info()
            .realip_remote_addr()
            .map(str::to_string)
    } else {
        req.peer_addr().map(|a| a.ip().to_string())
    }
}

impl FromRequest for ClientAddr {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(ClientAddr(client_addr(req))))
    }
}

/// The longest User-Agent kept with a session.
const MAX_USER_AGENT: usize = 512;

/// Where the request came from: the client's address and its browser.
#[derive(Clone, Debug)]
pub struct ClientOrigin(pub Origin);

pub fn origin_of(req: &HttpRequest) -> Origin {
    let user_agent = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(MAX_USER_AGENT).collect());
    Origin {
        address: client_addr(req),
        user_agent,
    }
}

impl FromRequest for ClientOrigin {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(ClientOrigin(origin_of(req))))
    }
}

/// How stale the session's "last seen" time may get before it is rewritten.
const SEEN_RESOLUTION_SECS: i64 = 60;

/// A signed-in person whose session is current.
pub struct CurrentUser {
    pub user: user::Model,
    /// Every organization the person belongs to, with their membership.
    pub memberships: Vec<(organization::Model, membership::Model)>,
    /// What the person's custom roles add organization-wide in the
    /// organization of the request, as (module, level); see
    /// [`accounts::SessionUser`].
    custom_levels: Vec<(String, String)>,
    pub session: Session,
    pub address: Option<String>,
    /// This request's place among the person's running requests, freed
    /// when the handler is done with the person.
    _running: Slot,
}

impl CurrentUser {
    /// The person's organizations, for the switcher.
    /// The person's organizations for the switcher, same-named ones told
    /// apart.
    pub fn orgs(&self) -> Vec<orgs::OrgSummary> {
        let mut list: Vec<orgs::OrgSummary> = self
            .memberships
            .iter()
            .map(|(org, m)| orgs::OrgSummary::of(org, m))
            .collect();
        orgs::OrgSummary::distinguish(&mut list);
        list
    }

    pub fn audit_actor(&self) -> audit::Actor {
        audit::Actor {
            user_id: Some(self.user.id.clone()),
            label: self.user.email.clone(),
            address: self.address.clone(),
        }
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(load_current_user(&req, None, None).await?.0) })
    }
}

/// The signed-in person; with `org_id`, also what their custom roles there
/// add (read in the same query), and the page `along` asks for when they
/// belong there (see [`OrgCtx::with_page`]).
async fn load_current_user(
    req: &HttpRequest,
    org_id: Option<&str>,
    along: Option<Along>,
) -> Result<(CurrentUser, Option<AlongRead>), AppError> {
    let state = state(req)?;
    let session = req.get_session();
    let next = matches!(*req.method(), Method::GET | Method::HEAD)
        .then(|| req.uri().path_and_query().map(|pq| pq.to_string()))
        .flatten();
    let sign_in_required = AppError::SignInRequired {
        next,
        htmx: is_htmx(req),
    };
    let Some(mut auth) = session::auth(&session) else {
        return Err(sign_in_required);
    };
    // Taken before any database work, so a burst of one person's requests
    // costs the others nothing. The cookie is sealed, so only its holder
    // can spend this person's places.
    let running = state
        .in_flight
        .try_enter(&auth.user_id)
        .ok_or(AppError::TooManyRunning)?;
    let now = state.clock.now();
    let config = &state.config;
    let idle = i64::try_from(config.idle_timeout.as_secs()).unwrap_or(i64::MAX);
    let lifetime = i64::try_from(config.session_lifetime.as_secs()).unwrap_or(i64::MAX);
    if now - auth.last_seen_at > idle || now - auth.signed_in_at > lifetime {
        sessions::end_current(&state.db, &auth.session_id).await?;
        session.purge();
        return Err(sign_in_required);
    }
    let found =
        accounts::session_user(&state.db, &auth.session_id, &auth.user_id, org_id, along).await?;
    let Some(accounts::SessionUser {
        user,
        memberships,
        custom_levels,
        along,
    }) = found.filter(|f| f.user.id == auth.user_id && f.user.session_epoch == auth.epoch)
    else {
        session.purge();
        return Err(sign_in_required);
    };
    // The strictest limits among the person's organizations hold too.
    let limits =
        security_policy::session_limits(memberships.iter().map(|(org, _)| org), idle, lifetime);
    if now - auth.last_seen_at > limits.idle_secs || now - auth.signed_in_at > limits.lifetime_secs
    {
        sessions::end_current(&state.db, &auth.session_id).await?;
        session.purge();
        return Err(sign_in_required);
    }
    // Rewriting the cookie at most once a minute keeps most responses free
    // of a fresh Set-Cookie; the idle timeout is measured to the minute.
    if now - auth.last_seen_at >= SEEN_RESOLUTION_SECS {
        auth.last_seen_at = now;
        session::set_auth(&session, &auth)?;
        sessions::touch(&state.db, &auth.session_id, now).await?;
    }
    accounts::touch(&state.db, &user, now).await?;
    let address = ClientAddr::extract(req).await?.0;
    let current = CurrentUser {
        user,
        memberships,
        custom_levels,
        session,
        address,
        _running: running,
    };
    Ok((current, along))
}

/// A signed-in person acting in the organization named by the `org_id`
/// path segment, with their membership loaded from the database. Someone
/// who does not belong gets 404, the same as for an organization that does
/// not exist.
pub struct OrgCtx {
    pub current: CurrentUser,
    pub org: organization::Model,
    pub membership: membership::Model,
    /// Every organization the person belongs to, for the switcher.
    pub orgs: Vec<orgs::OrgSummary>,
    /// The organization role and what custom roles held
    /// organization-wide add to it, as of this request.
    roles: Roles,
    /// Whether the organization requires two-factor sign-in the person
    /// has not set up (never `Blocked`: such a request is refused).
    two_factor: TwoFactorStanding,
}

impl OrgCtx {
    pub fn role(&self) -> OrgRole {
        self.membership.role
    }

    /// The person's roles in the organization, custom roles included.
    pub fn roles(&self) -> Roles {
        self.roles
    }

    pub fn two_factor_standing(&self) -> TwoFactorStanding {
        self.two_factor
    }

    pub fn user(&self) -> &user::Model {
        &self.current.user
    }

    pub fn session(&self) -> &Session {
        &self.current.session
    }

    pub fn can(&self, permission: Permission) -> bool {
        policy::allows(self.roles, Action::Use(permission))
    }

    /// Refuses the request unless the roles held grant `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        policy::authorize(self.roles, Action::Use(permission)).map_err(AppError::from)
    }

    pub fn audit_actor(&self) -> audit::Actor {
        self.current.audit_actor()
    }

    /// The rows this request's transactions may touch: the organization's,
    /// and the signed-in person's own.
    pub fn tenant(&self) -> Tenant<'_> {
        Tenant::Org {
            org_id: &self.org.id,
            person: Some(&self.current.user.id),
        }
    }

    /// The actor as the services see them.
    pub fn acting(&self) -> crate::services::acting::Acting {
        crate::services::acting::Acting {
            org_id: self.org.id.clone(),
            user_id: self.current.user.id.clone(),
            membership_id: self.membership.id.clone(),
            actor: self.audit_actor(),
            org_key: None,
        }
    }
}

impl FromRequest for OrgCtx {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Ok(load_org(&req, None).await?.0) })
    }
}

impl OrgCtx {
    /// The organization named by the `org_id` path segment, as a valid id
    /// (anything else names no organization).
    pub fn org_id_of(req: &HttpRequest) -> Option<String> {
        req.match_info()
            .get("org_id")
            .and_then(|raw| uuid::Uuid::parse_str(raw).ok())
            .map(|id| id.to_string())
    }

    /// As the extractor, with a page of the organization (of
    /// [`OrgCtx::org_id_of`]) read in the same round trip as the session
    /// (SQLite): the page comes back when the person belongs to the
    /// organization, for the handler to show once their roles allow it.
    /// Elsewhere, or with no `along`, it comes back `None` and the handler
    /// reads the page itself.
    pub async fn with_page(
        req: &HttpRequest,
        along: Option<Along>,
    ) -> Result<(Self, Option<AlongRead>), AppError> {
        load_org(req, along).await
    }
}

async fn load_org(
    req: &HttpRequest,
    along: Option<Along>,
) -> Result<(OrgCtx, Option<AlongRead>), AppError> {
    let org_id = OrgCtx::org_id_of(req);
    let (current, along) = load_current_user(req, org_id.as_deref(), along).await?;
    let org_id = org_id.ok_or(AppError::NotFound)?;
    let state = state(req)?;
    let orgs = current.orgs();
    let position = current
        .memberships
        .iter()
        .position(|(org, _)| org.id == org_id)
        .ok_or(AppError::NotFound)?;
    let (org, membership) = current.memberships[position].clone();
    let now = state.clock.now();
    let two_factor = security_policy::standing(&org, current.user.two_factor_at.is_some(), now);
    // Leaving is never blocked: nobody is kept in an organization
    // until they set up what it requires.
    let leaving = req.path().ends_with("/leave");
    if two_factor == TwoFactorStanding::Blocked && !leaving {
        let reads = matches!(*req.method(), Method::GET | Method::HEAD);
        return Err(AppError::TwoFactorRequired {
            org_id: org.id.clone(),
            org_name: org.name.clone(),
            redirect: reads && !is_htmx(req),
        });
    }
    orgs::touch_membership(&state.db, &membership, state.clock.now()).await?;
    let custom = CustomLevels::org_wide(&current.custom_levels);
    let roles = Roles::in_org(membership.role).with_custom(&custom.org_wide, &custom.here);
    session::set_last_org(&current.session, &org.id);
    let ctx = OrgCtx {
        current,
        org,
        membership,
        orgs,
        roles,
        two_factor,
    };
    Ok((ctx, along))
}
