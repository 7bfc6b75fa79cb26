//! Who calls the API: the key in `Authorization: Bearer`, and nothing
//! else. The session cookie is never read here, so a page cannot lend its
//! session to the API, and the API needs no CSRF token. Each request is
//! counted against the key's rate limit.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use super::problem::ApiError;
use crate::domain::permission::Permission;
use crate::domain::policy::{self, Action, Roles};
use crate::domain::role::OrgRole;
use crate::entities::{api_key, organization, user};
use crate::services::acting::Acting;
use crate::services::api_keys::{self, Refusal};
use crate::services::security_policy::{self, TwoFactorStanding};
use crate::web::extract::ClientAddr;
use crate::web::state::AppState;
use sea_orm::EntityTrait;

/// A request made with a working key.
pub struct ApiCtx {
    pub state: web::Data<AppState>,
    pub key: api_key::Model,
    pub acting: Acting,
    /// The organization role the key acts with for this request.
    pub role: OrgRole,
    /// That role and, for a personal key, its member's custom roles held
    /// organization-wide.
    roles: Roles,
}

impl ApiCtx {
    pub fn roles(&self) -> Roles {
        self.roles
    }

    /// Refuses unless the key's roles grant `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        policy::authorize(self.roles(), Action::Use(permission)).map_err(ApiError::from)
    }

    pub fn org_id(&self) -> &str {
        &self.acting.org_id
    }
}

const MISSING: &str =
    "Send an API key as `Authorization: Bearer roster_…`; make one at Settings → API keys.";

impl FromRequest for ApiCtx {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await })
    }
}

/// The secret of an `Authorization: Bearer` header (the scheme is
/// case-insensitive, RFC 9110).
fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(secret.trim())
}

async fn authenticate(req: &HttpRequest) -> Result<ApiCtx, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Unexpected(anyhow::anyhow!("application state is missing")))?;
    let Some(secret) = bearer(req).filter(|s| !s.is_empty()) else {
        // No Bearer key at all (none, or another scheme): a bare challenge.
        return Err(ApiError::Unauthorized {
            detail: MISSING,
            presented: false,
        });
    };
    let address = ClientAddr::extract(req)
        .await
        .map_err(|_| ApiError::Unexpected(anyhow::anyhow!("no client address")))?
        .0;
    let found = api_keys::authenticate(&state.db, &state.clock, secret, address).await?;
    let authenticated = found.map_err(|refusal: Refusal| ApiError::Unauthorized {
        detail: refusal.message(),
        presented: true,
    })?;
    let now = state.clock.now();
    let limit = state.config.api_requests_per_minute;
    let counted = state
        .rate_leases
        .count(
            &state.db,
            authenticated.acting.tenant(),
            &authenticated.key.id,
            now,
            limit,
        )
        .await?;
    if let Err(wait) = counted {
        return Err(ApiError::TooMany {
            message: format!(
                "This key may make {limit} requests a minute; try again in {wait} seconds."
            ),
            retry_after: Some(wait),
        });
    }
    if authenticated.acting.org_key.is_none() {
        refuse_without_two_factor(&state, &authenticated.acting).await?;
    }
    // An organization key holds no custom role: nothing to read for it.
    let custom = match authenticated.acting.org_key {
        Some(_) => Default::default(),
        None => authenticated
            .acting
            .custom_levels(
                &state.db.read_in(authenticated.acting.tenant()).await?,
                None,
            )
            .await
            .map_err(ApiError::Unexpected)?,
    };
    let roles = Roles::in_org(authenticated.role).with_custom(&custom.org_wide, &custom.here);
    Ok(ApiCtx {
        state,
        key: authenticated.key,
        acting: authenticated.acting,
        role: authenticated.role,
        roles,
    })
}

/// A personal key acts as its person: once the organization's grace
/// period for two-factor sign-in is over, a person without it is refused
/// here as on the organization's pages.
async fn refuse_without_two_factor(state: &AppState, acting: &Acting) -> Result<(), ApiError> {
    let org = organization::Entity::find_by_id(acting.org_id.clone())
        .one(&state.db.read_in(acting.tenant()).await?)
        .await
        .map_err(|err| ApiError::Unexpected(anyhow::Error::new(err)))?;
    let Some(org) = org.filter(|org| org.two_factor_required_at.is_some()) else {
        return Ok(());
    };
    let person = user::Entity::find_by_id(acting.user_id.clone())
        .one(state.db.accounts_read())
        .await
        .map_err(|err| ApiError::Unexpected(anyhow::Error::new(err)))?;
    let has_it = person.is_some_and(|p| p.two_factor_at.is_some());
    match security_policy::standing(&org, has_it, state.clock.now()) {
        TwoFactorStanding::Blocked => Err(ApiError::Forbidden(format!(
            "{} requires two-factor authentication; this key's owner has not set it up. \
             Set it up at {}/account/two-factor and the key works again.",
            org.name, state.config.base_url
        ))),
        _ => Ok(()),
    }
}
