//! Settings → Access review (Admins and the Owner): members with their
//! organization role, direct workspace roles, product restriction and last
//! activity, least recently active first; those inactive for more than N
//! days are flagged and can be removed from here (through the Members
//! page's confirmation). Exported as CSV.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use futures_util::stream;
use serde::Deserialize;

use super::errors::AppError;
use super::extract::OrgCtx;
use super::format;
use super::render::{FieldErrors, Layout, Section, html};
use super::state::AppState;
use crate::domain::permission::Permission;
use crate::services::access_review::{
    self, After, DEFAULT_DAYS, MAX_DAYS, PER_PAGE, ReviewQuery, ReviewRow,
};

/// `days` (default 90), `inactive` (`1`: only the flagged), `page`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReviewParams {
    pub days: Option<String>,
    pub inactive: String,
    /// `on` or `off`: only people with or without two-factor sign-in.
    pub two_factor: String,
    pub page: Option<u64>,
}

impl ReviewParams {
    /// The review asked for, and a message at `days` when it could not be
    /// read (the default then stands in). A page number out of range is
    /// refused.
    fn validate(&self) -> Result<(ReviewQuery, FieldErrors), AppError> {
        let mut errors = FieldErrors::default();
        let days = match self.days.as_deref().map(str::trim) {
            None | Some("") => DEFAULT_DAYS,
            Some(value) => match value
                .parse::<u32>()
                .ok()
                .filter(|d| (1..=MAX_DAYS).contains(d))
            {
                Some(days) => days,
                None => {
                    errors.add(
                        "days",
                        format!("Enter a whole number of days from 1 to {MAX_DAYS}."),
                    );
                    DEFAULT_DAYS
                }
            },
        };
        let two_factor = match self.two_factor.as_str() {
            "" => None,
            "on" => Some(true),
            "off" => Some(false),
            _ => return Err(AppError::bad_request("Unknown two-factor filter.")),
        };
        let query = ReviewQuery {
            days,
            two_factor,
            only_inactive: matches!(self.inactive.as_str(), "1" | "on" | "true"),
            page: super::render::offset_page(self.page)?,
        };
        Ok((query, errors))
    }

    /// What the days field shows: what was typed, or the days in use.
    fn days_input(&self, query: &ReviewQuery) -> String {
        match self.days.as_deref().map(str::trim) {
            Some(typed) if !typed.is_empty() => typed.chars().take(20).collect(),
            _ => query.days.to_string(),
        }
    }
}

fn href(base: &str, query: &ReviewQuery, page: Option<u64>) -> String {
    let mut pairs = vec![("days", query.days.to_string())];
    if query.only_inactive {
        pairs.push(("inactive", "1".to_string()));
    }
    if let Some(on) = query.two_factor {
        pairs.push(("two_factor", if on { "on" } else { "off" }.to_string()));
    }
    if let Some(page) = page {
        pairs.push(("page", page.to_string()));
    }
    format!(
        "{base}?{}",
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    )
}

pub struct ReviewView {
    pub row: ReviewRow,
    pub can_remove: bool,
}

impl ReviewView {
    pub fn last_active(&self) -> String {
        last_active(self.row.member.last_active_at)
    }

    pub fn workspace_roles(&self) -> String {
        workspace_roles(&self.row)
    }

    pub fn products(&self) -> String {
        products(&self.row)
    }
}

fn last_active(at: i64) -> String {
    if at == 0 {
        "Never".into()
    } else {
        format::date(at)
    }
}

fn workspace_roles(row: &ReviewRow) -> String {
    row.workspace_roles
        .iter()
        .map(|(title, role)| format!("{title}: {}", role.label()))
        .collect::<Vec<_>>()
        .join("; ")
}

fn products(row: &ReviewRow) -> String {
    super::format::product_access(row.member.role, row.products)
}

#[derive(Template)]
#[template(path = "access_review.html")]
struct ReviewPage {
    layout: Layout,
    org_id: String,
    /// "on", "off" or "" (anyone).
    two_factor_filter: &'static str,
    rows: Vec<ReviewView>,
    total: u64,
    page: u64,
    pages: u64,
    days: u32,
    /// What the days field shows (what was typed, when it was a mistake).
    days_input: String,
    errors: FieldErrors,
    only_inactive: bool,
    prev_href: String,
    next_href: String,
    export_href: String,
}

pub async fn review(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    params: web::Query<ReviewParams>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageMembers)?;
    let (query, errors) = params.validate()?;
    let (rows, total) = if errors.is_empty() {
        access_review::page(&state.db, &ctx.org.id, state.clock.now(), &query).await?
    } else {
        (Vec::new(), 0)
    };
    let base = format!("/orgs/{}/access-review", ctx.org.id);
    let rows = rows
        .into_iter()
        .map(|row| {
            let can_remove = row.member.caps(ctx.roles(), &ctx.user().id).remove();
            ReviewView { row, can_remove }
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(
        status,
        &ReviewPage {
            layout: Layout::org(&ctx, Section::AccessReview, "Access review"),
            org_id: ctx.org.id.clone(),
            rows,
            total,
            page: query.page,
            pages: super::render::offset_pages(total, PER_PAGE),
            days: query.days,
            days_input: params.days_input(&query),
            errors,
            only_inactive: query.only_inactive,
            two_factor_filter: match query.two_factor {
                Some(true) => "on",
                Some(false) => "off",
                None => "",
            },
            prev_href: href(&base, &query, Some(query.page.saturating_sub(1).max(1))),
            next_href: href(&base, &query, Some(query.page + 1)),
            export_href: href(
                &format!("/orgs/{}/access-review.csv", ctx.org.id),
                &query,
                None,
            ),
        },
    )
}

/// How many members the export reads at a time.
const EXPORT_BATCH: u64 = 1000;

enum Export {
    Header,
    After(Option<After>),
    Done,
}

/// The review as CSV: every member (or only the flagged), streamed.
pub async fn export(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    params: web::Query<ReviewParams>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageMembers)?;
    let (query, errors) = params.validate()?;
    if let Some((_, message)) = errors.all().first() {
        return Err(AppError::bad_request(message.clone()));
    }
    let db = state.db.clone();
    let org_id = ctx.org.id.clone();
    let cutoff = access_review::cutoff(state.clock.now(), query.days);
    let only = query.only_inactive.then_some(cutoff);
    let two_factor = query.two_factor;
    let body = stream::unfold(Export::Header, move |step| {
        let db = db.clone();
        let org_id = org_id.clone();
        async move {
            let after = match step {
                Export::Done => return None,
                Export::Header => {
                    let header = super::csv::line(&[
                        "Name",
                        "Email",
                        "Role",
                        "Workspace roles",
                        "Products",
                        "Last active",
                        "Inactive",
                        "Two-factor",
                    ]);
                    return Some(match header {
                        Ok(header) => (Ok(web::Bytes::from(header)), Export::After(None)),
                        Err(err) => (super::csv::failed(&err, "access review"), Export::Done),
                    });
                }
                Export::After(after) => after,
            };
            let batch = async {
                let members = access_review::rows(
                    &db,
                    &org_id,
                    only,
                    two_factor,
                    0,
                    after.as_ref(),
                    EXPORT_BATCH,
                )
                .await?;
                access_review::with_details(&db, &org_id, cutoff, members).await
            }
            .await;
            match batch {
                Err(err) => Some((super::csv::failed(&err, "access review"), Export::Done)),
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = if (rows.len() as u64) < EXPORT_BATCH {
                        Export::Done
                    } else {
                        Export::After(rows.last().map(|r| After {
                            last_active_at: r.member.last_active_at,
                            membership_id: r.member.membership_id.clone(),
                        }))
                    };
                    let chunk = rows
                        .iter()
                        .map(|row| {
                            super::csv::line(&[
                                row.member.name.as_str(),
                                row.member.email.as_str(),
                                row.member.role.label(),
                                workspace_roles(row).as_str(),
                                products(row).as_str(),
                                last_active(row.member.last_active_at).as_str(),
                                if row.inactive { "yes" } else { "no" },
                                if row.member.two_factor_at.is_some() {
                                    "on"
                                } else {
                                    "off"
                                },
                            ])
                        })
                        .collect::<anyhow::Result<String>>();
                    match chunk {
                        Ok(chunk) => Some((Ok(web::Bytes::from(chunk)), next)),
                        Err(err) => Some((super::csv::failed(&err, "access review"), Export::Done)),
                    }
                }
            }
        }
    });
    Ok(super::csv::download("access-review.csv", body))
}
