//! Settings → Audit log (Owner and Admins): every change newest first,
//! filtered by who acted, the action, the member it concerned and dates,
//! 50 a page, and the filtered view as CSV.

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
use crate::domain::role::OrgRole;
use crate::domain::workspace::WorkspaceRole;
use crate::entities::audit_event;
use crate::services::audit::AuditAction;
use crate::services::audit_log::{self, Cursor, Filter, PER_PAGE};

/// The page's query: `actor` and `member` (email addresses), `action`,
/// `from` and `to` (dates, inclusive, UTC), `after` (where the page starts).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    pub actor: String,
    pub action: String,
    pub member: String,
    pub from: String,
    pub to: String,
    pub after: String,
}

/// The query, validated: what the form shows and what the service gets.
struct Validated {
    filter: Filter,
    cursor: Option<Cursor>,
}

const MAX_EMAIL_CHARS: usize = 320;

impl AuditQuery {
    /// The filter, with a message per field that could not be read (that
    /// field then filters nothing). A page link that is not one is refused.
    async fn validate(&self, state: &AppState) -> Result<(Validated, FieldErrors), AppError> {
        let mut filter = Filter::default();
        let mut errors = FieldErrors::default();
        for (field, value, slot) in [
            ("actor", &self.actor, &mut filter.actor),
            ("member", &self.member, &mut filter.target),
        ] {
            let value = value.trim();
            if value.chars().count() > MAX_EMAIL_CHARS {
                errors.add(field, "That email address is too long.");
            } else if !value.is_empty() {
                *slot = Some(audit_log::person(&state.db, value).await?);
            }
        }
        if !self.action.is_empty() {
            if let Some(action) = AuditAction::parse(&self.action) {
                filter.action = Some(action.as_str().to_string());
            } else {
                errors.add("action", "Choose one of the actions offered.");
            }
        }
        match parse_day(&self.from) {
            Ok(day) => filter.from = day,
            Err(message) => errors.add("from", message),
        }
        match parse_day(&self.to) {
            Ok(day) => filter.until = day.map(|day| day + 86_400),
            Err(message) => errors.add("to", message),
        }
        if let (Some(from), Some(until)) = (filter.from, filter.until)
            && from >= until
        {
            errors.add("to", "The end date is before the start date.");
        }
        let cursor = match self.after.as_str() {
            "" => None,
            value => Some(
                Cursor::parse(value)
                    .ok_or_else(|| AppError::bad_request("That page link is not valid."))?,
            ),
        };
        Ok((Validated { filter, cursor }, errors))
    }

    /// The filters as a query string (without the page position).
    fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("actor", self.actor.trim()),
            ("action", self.action.as_str()),
            ("member", self.member.trim()),
            ("from", self.from.trim()),
            ("to", self.to.trim()),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, v.to_string()))
        .collect()
    }

    fn href(&self, base: &str, after: Option<&Cursor>) -> String {
        let mut pairs = self.filter_pairs();
        if let Some(after) = after {
            pairs.push(("after", after.encode()));
        }
        if pairs.is_empty() {
            return base.to_string();
        }
        format!(
            "{base}?{}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    }
}

/// `2026-11-23` as Unix seconds at its start (UTC); empty is no bound.
pub(crate) fn parse_day(value: &str) -> Result<Option<i64>, &'static str> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let invalid = || "Enter the date as YYYY-MM-DD, for example 2026-11-23.";
    let mut parts = value.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(invalid());
    };
    let year: i32 = y.parse().map_err(|_| invalid())?;
    let month: u8 = m.parse().map_err(|_| invalid())?;
    let day: u8 = d.parse().map_err(|_| invalid())?;
    if !(1970..=9999).contains(&year) {
        return Err(invalid());
    }
    let month = time::Month::try_from(month).map_err(|_| invalid())?;
    let date = time::Date::from_calendar_date(year, month, day).map_err(|_| invalid())?;
    Ok(Some(date.midnight().assume_utc().unix_timestamp()))
}

/// What a change was about, in people's words: "Invitation for
/// ada@example.com", "Member Ada Lovelace".
fn target_in_words(event: &audit_event::Model) -> String {
    let kind = kind_in_words(event.target_type.as_deref().unwrap_or(""));
    match (kind, &event.target_label) {
        ("Invitation", Some(label)) => format!("Invitation for {label}"),
        ("", Some(label)) => label.clone(),
        (kind, Some(label)) => format!("{kind} {label}"),
        (kind, None) => kind.to_string(),
    }
}

/// The kind of thing a change was about, as a word.
fn kind_in_words(kind: &str) -> &'static str {
    match kind {
        "invitation" => "Invitation",
        "member" => "Member",
        "organization" => "Organization",
        "workspace" => "Workspace",
        "product" => "Product",
        "domain" => "Domain",
        "account" => "Account",
        _ => "",
    }
}

/// A stored before or after value in people's words: role values become
/// their labels ("admin" → "Admin", "none" → "Workspace guest", "a.test
/// as member" → "a.test as Member"); anything else is shown as written.
fn in_words(value: &str) -> String {
    if let Some(role) = OrgRole::parse(value) {
        return role.label().to_string();
    }
    if let Some(role) = WorkspaceRole::parse(value) {
        return role.label().to_string();
    }
    if let Some((head, role)) = value.rsplit_once(" as ")
        && let Some(role) = OrgRole::parse(role)
    {
        return format!("{head} as {}", role.label());
    }
    value.to_string()
}

/// A row as the page shows it.
pub struct EventView {
    pub event: audit_event::Model,
}

impl EventView {
    pub fn when(&self) -> String {
        format::date_time(self.event.created_at)
    }

    pub fn what(&self) -> &str {
        audit_log::action_label(&self.event.action)
    }

    pub fn target(&self) -> String {
        target_in_words(&self.event)
    }

    pub fn before(&self) -> String {
        in_words(self.event.before_value.as_deref().unwrap_or(""))
    }

    pub fn after(&self) -> String {
        in_words(self.event.after_value.as_deref().unwrap_or(""))
    }

    pub fn address(&self) -> &str {
        self.event.address.as_deref().unwrap_or("")
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    org_id: String,
    events: Vec<EventView>,
    query: AuditQuery,
    actions: &'static [AuditAction],
    filtered: bool,
    first_page: bool,
    first_href: String,
    next_href: Option<String>,
    export_href: String,
    errors: FieldErrors,
}

pub async fn log(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ReadAuditLog)?;
    let query = query.into_inner();
    let (valid, errors) = query.validate(&state).await?;
    // One more than a page tells whether an older page exists; a filter
    // with mistakes shows its messages instead of rows.
    let mut events = if errors.is_empty() {
        audit_log::page(
            &state.db,
            &ctx.org.id,
            &valid.filter,
            valid.cursor.as_ref(),
            PER_PAGE + 1,
        )
        .await?
    } else {
        Vec::new()
    };
    let more = events.len() as u64 > PER_PAGE;
    events.truncate(usize::try_from(PER_PAGE).unwrap_or(50));
    let base = format!("/orgs/{}/audit", ctx.org.id);
    let next_href = more
        .then(|| {
            events
                .last()
                .map(|e| query.href(&base, Some(&Cursor::of(e))))
        })
        .flatten();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(
        status,
        &AuditPage {
            layout: Layout::org(&ctx, Section::AuditLog, "Audit log"),
            org_id: ctx.org.id.clone(),
            events: events
                .into_iter()
                .map(|event| EventView { event })
                .collect(),
            filtered: !query.filter_pairs().is_empty(),
            first_page: valid.cursor.is_none(),
            first_href: query.href(&base, None),
            export_href: query.href(&format!("/orgs/{}/audit.csv", ctx.org.id), None),
            next_href,
            actions: &AuditAction::ALL,
            query,
            errors,
        },
    )
}

/// How many rows the export reads at a time.
const EXPORT_BATCH: u64 = 1000;

enum Export {
    Header,
    After(Option<Cursor>),
    Done,
}

fn csv_row(event: &audit_event::Model) -> anyhow::Result<String> {
    super::csv::line(&[
        format::date_time(event.created_at).as_str(),
        event.actor_label.as_str(),
        audit_log::action_label(&event.action),
        kind_in_words(event.target_type.as_deref().unwrap_or("")),
        event.target_label.as_deref().unwrap_or(""),
        in_words(event.before_value.as_deref().unwrap_or("")).as_str(),
        in_words(event.after_value.as_deref().unwrap_or("")).as_str(),
        event.address.as_deref().unwrap_or(""),
    ])
}

/// The filtered log as CSV, streamed a thousand rows at a time.
pub async fn export(
    state: web::Data<AppState>,
    ctx: OrgCtx,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ReadAuditLog)?;
    let (valid, errors) = query.validate(&state).await?;
    if let Some((_, message)) = errors.all().first() {
        return Err(AppError::bad_request(message.clone()));
    }
    let db = state.db.clone();
    let org_id = ctx.org.id.clone();
    let filter = valid.filter;
    let body = stream::unfold(Export::Header, move |step| {
        let db = db.clone();
        let org_id = org_id.clone();
        let filter = filter.clone();
        async move {
            let cursor = match step {
                Export::Done => return None,
                Export::Header => {
                    let header = super::csv::line(&[
                        "When",
                        "Who",
                        "What",
                        "Kind",
                        "About",
                        "Before",
                        "After",
                        "From address",
                    ]);
                    return Some(match header {
                        Ok(header) => (Ok(web::Bytes::from(header)), Export::After(None)),
                        Err(err) => (super::csv::failed(&err, "audit"), Export::Done),
                    });
                }
                Export::After(cursor) => cursor,
            };
            match audit_log::page(&db, &org_id, &filter, cursor.as_ref(), EXPORT_BATCH).await {
                Err(err) => Some((super::csv::failed(&err, "audit"), Export::Done)),
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = if (rows.len() as u64) < EXPORT_BATCH {
                        Export::Done
                    } else {
                        Export::After(rows.last().map(Cursor::of))
                    };
                    match rows.iter().map(csv_row).collect::<anyhow::Result<String>>() {
                        Ok(chunk) => Some((Ok(web::Bytes::from(chunk)), next)),
                        Err(err) => Some((super::csv::failed(&err, "audit"), Export::Done)),
                    }
                }
            }
        }
    });
    Ok(super::csv::download("audit-log.csv", body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_to_midnight_utc() {
        assert_eq!(parse_day("2026-11-22").ok().flatten(), Some(1_795_305_600));
        assert_eq!(parse_day("").ok().flatten(), None);
        assert!(parse_day("2026-02-30").is_err());
        assert!(parse_day("22/11/2026").is_err());
        assert!(parse_day("99999-01-01").is_err());
    }
}
