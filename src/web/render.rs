//! The shared page frame ([`Layout`]) and the helper that turns a template
//! into a response.

use crate::services::security_policy::TwoFactorStanding;
use actix_session::Session;
use actix_web::HttpResponse;
use actix_web::http::header;
use askama::Template;

use super::errors::AppError;
use super::extract::OrgCtx;
use super::session::{self, Flash};
use crate::domain::permission::Permission;
use crate::services::error::{Invalid, ServiceError};
use crate::services::orgs::OrgSummary;

/// A Settings page, for the sidebar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Members,
    Invitations,
    Workspaces,
    Products,
    ProductAccess,
    General,
    AuditLog,
    AccessReview,
    ApiKeys,
    Roles,
    Security,
}

impl Section {
    pub const ALL: [Section; 11] = [
        Section::Members,
        Section::Invitations,
        Section::Workspaces,
        Section::Products,
        Section::ProductAccess,
        Section::General,
        Section::Roles,
        Section::Security,
        Section::AuditLog,
        Section::AccessReview,
        Section::ApiKeys,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Section::Members => "Members",
            Section::Invitations => "Invitations",
            Section::Workspaces => "Workspaces",
            Section::Products => "Products",
            Section::ProductAccess => "Product Access",
            Section::General => "Organization",
            Section::AuditLog => "Audit log",
            Section::AccessReview => "Access review",
            Section::ApiKeys => "API keys",
            Section::Roles => "Roles",
            Section::Security => "Security",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Section::Members => "members",
            Section::Invitations => "invitations",
            Section::Workspaces => "workspaces",
            Section::Products => "products",
            Section::ProductAccess => "product-access",
            Section::General => "settings",
            Section::AuditLog => "audit",
            Section::AccessReview => "access-review",
            Section::ApiKeys => "api-keys",
            Section::Roles => "roles",
            Section::Security => "settings/security",
        }
    }

    /// What a person needs to open the page; `None` means every member
    /// (workspace guests see only their own workspaces there).
    pub fn permission(self) -> Option<Permission> {
        match self {
            Section::Members => Some(Permission::ViewMembers),
            Section::Invitations => Some(Permission::ManageMembers),
            Section::Workspaces => None,
            Section::Products => None,
            Section::ProductAccess => Some(Permission::ManageProductAccess),
            Section::General => Some(Permission::ViewSettings),
            Section::AuditLog => Some(Permission::ReadAuditLog),
            Section::AccessReview => Some(Permission::ManageMembers),
            Section::ApiKeys => Some(Permission::UsePersonalKeys),
            Section::Roles => Some(Permission::ViewSettings),
            Section::Security => Some(Permission::EditSettings),
        }
    }
}

pub struct NavLink {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

pub struct TwoFactorNotice {
    pub org_name: String,
    pub days_left: i64,
    /// The deadline, as a date.
    pub deadline: String,
}

pub struct UserNav {
    pub name: String,
    pub email: String,
}

pub struct OrgNav {
    pub id: String,
    pub name: String,
    pub role: &'static str,
}

/// Everything the base template needs around a page's content.
pub struct Layout {
    pub title: String,
    pub csrf: String,
    pub user: Option<UserNav>,
    pub org: Option<OrgNav>,
    pub orgs: Vec<OrgSummary>,
    pub sidebar: Vec<NavLink>,
    pub flash: Option<Flash>,
    /// The organization requires two-factor sign-in, which the person has
    /// not set up yet: a banner until the deadline.
    pub two_factor_notice: Option<TwoFactorNotice>,
    pub css_href: String,
    pub htmx_href: String,
    pub js_href: String,
}

impl Layout {
    /// A frame with no session: error pages.
    pub fn bare(title: &str) -> Self {
        Layout {
            title: title.to_string(),
            csrf: String::new(),
            user: None,
            org: None,
            orgs: Vec::new(),
            sidebar: Vec::new(),
            flash: None,
            two_factor_notice: None,
            css_href: super::assets::url("css/roster.css"),
            htmx_href: super::assets::url("vendor/htmx/htmx.min.js"),
            js_href: super::assets::url("js/roster.js"),
        }
    }

    /// A frame for pages anyone may see (sign-in, sign-up).
    pub fn public(session: &Session, title: &str) -> Self {
        Layout {
            csrf: session::csrf_token(session),
            flash: session::take_flash(session),
            ..Layout::bare(title)
        }
    }

    /// A frame for a signed-in person outside any organization page.
    pub fn account(
        session: &Session,
        user: &crate::entities::user::Model,
        orgs: Vec<OrgSummary>,
        title: &str,
    ) -> Self {
        Layout {
            user: Some(UserNav {
                name: user.name.clone(),
                email: user.email.clone(),
            }),
            orgs,
            ..Layout::public(session, title)
        }
    }

    /// A frame for a Settings page of the organization in `ctx`.
    pub fn org(ctx: &OrgCtx, section: Section, title: &str) -> Self {
        let sidebar = Section::ALL
            .into_iter()
            .filter(|s| s.permission().is_none_or(|p| ctx.can(p)))
            .map(|s| NavLink {
                href: format!("/orgs/{}/{}", ctx.org.id, s.slug()),
                label: s.label(),
                current: s == section,
            })
            .collect();
        Layout {
            org: Some(OrgNav {
                id: ctx.org.id.clone(),
                name: ctx.org.name.clone(),
                role: ctx.role().label(),
            }),
            sidebar,
            two_factor_notice: match ctx.two_factor_standing() {
                TwoFactorStanding::Grace {
                    days_left,
                    deadline,
                } => Some(TwoFactorNotice {
                    org_name: ctx.org.name.clone(),
                    days_left,
                    deadline: super::format::date(deadline),
                }),
                _ => None,
            },
            ..Layout::account(ctx.session(), ctx.user(), ctx.orgs.clone(), title)
        }
    }
}

/// Renders a template as an HTML response with `status`.
pub fn html<T: Template>(
    status: actix_web::http::StatusCode,
    template: &T,
) -> Result<HttpResponse, AppError> {
    let body = template.render()?;
    Ok(HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(body))
}

/// Renders a template as a 200 page.
pub fn page<T: Template>(template: &T) -> Result<HttpResponse, AppError> {
    html(actix_web::http::StatusCode::OK, template)
}

/// A redirect after a successful POST (303, so the browser GETs).
/// A redirect to `location`; a location that cannot be a header value
/// (never expected: callers pass paths they built or checked) goes home
/// instead of failing the request after its work was done.
pub fn see_other(location: &str) -> HttpResponse {
    let value = header::HeaderValue::from_str(location)
        .unwrap_or_else(|_| header::HeaderValue::from_static("/"));
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, value))
        .finish()
}

/// Field messages of a form, in the order the fields appear.
#[derive(Default, Debug)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for `field`, or "" when it is fine.
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
            .unwrap_or("")
    }

    pub fn all(&self) -> &[(&'static str, String)] {
        &self.0
    }
}

impl From<Invalid> for FieldErrors {
    /// The service's message, at the field it names.
    fn from(invalid: Invalid) -> Self {
        FieldErrors(vec![(invalid.field, invalid.message)])
    }
}

/// What became of a form a service was asked to save: `Ok(redirect)` with
/// `done`'s message flashed and its address to go to, or `Err(messages)`
/// at the fields the service named; any other failure is an error page.
pub fn saved<T>(
    session: &Session,
    result: Result<T, ServiceError>,
    done: impl FnOnce(T) -> (String, String),
) -> Result<Result<HttpResponse, FieldErrors>, AppError> {
    match result {
        Ok(value) => {
            let (message, location) = done(value);
            session::flash(session, "success", message);
            Ok(Ok(see_other(&location)))
        }
        Err(ServiceError::Invalid(invalid)) => Ok(Err(invalid.into())),
        Err(err) => Err(err.into()),
    }
}

/// The highest page number a list accepts; beyond it the offset would not
/// fit the database's integers.
pub const MAX_PAGE: u64 = 1_000_000;

/// A 1-based page number from a query string, for a page reached by a
/// Next or Previous link that carries its position (the number is then
/// only its label).
pub fn page_number(raw: Option<u64>) -> Result<u64, AppError> {
    let page = raw.unwrap_or(1).max(1);
    if page > MAX_PAGE {
        return Err(AppError::bad_request("That page number is too large."));
    }
    Ok(page)
}

/// The deepest page a list serves by its number. A page found by number
/// is found by skipping the rows before it, which costs as much as reading
/// them; beyond this depth that is refused (searching, filtering or the
/// Next links of a list that carries positions reach further), so nobody
/// can make Roster read a whole large list again and again.
pub const MAX_OFFSET_PAGE: u64 = 100;

/// A 1-based page number served by skipping rows: at most
/// [`MAX_OFFSET_PAGE`].
pub fn offset_page(raw: Option<u64>) -> Result<u64, AppError> {
    let page = raw.unwrap_or(1).max(1);
    if page > MAX_OFFSET_PAGE {
        return Err(AppError::PageTooDeep);
    }
    Ok(page)
}

/// How many pages a list served by number shows: its pages, but no more
/// than [`offset_page`] serves, so its Next link always works.
pub fn offset_pages(total: u64, per_page: u64) -> u64 {
    total.div_ceil(per_page).clamp(1, MAX_OFFSET_PAGE)
}

/// The cursor of a Next (`after`) or Previous (`before`) link of a list of
/// people sorted by `sort`; `None` for a page reached by its number.
pub fn page_cursor(
    after: &str,
    before: &str,
    sort: crate::services::members::MemberSort,
) -> Result<Option<crate::services::members::Cursor>, AppError> {
    use crate::services::members::{Cursor, Direction};
    let cursor = match (after, before) {
        ("", "") => return Ok(None),
        (after, "") => (after, Direction::After),
        ("", before) => (before, Direction::Before),
        _ => {
            return Err(AppError::bad_request(
                "Give either after or before, not both.",
            ));
        }
    };
    Cursor::parse(cursor.0, sort, cursor.1)
        .map(Some)
        .ok_or_else(|| {
            AppError::bad_request("That page link is not valid; start from the first page.")
        })
}
