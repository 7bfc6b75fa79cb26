//! An organization's sign-in policy: two-factor authentication required
//! of its members after a grace period, and session limits stricter than
//! the server's; and signing one member out everywhere. A person is held
//! to the strictest limits among the organizations they belong to.

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::acting::Acting;
use super::audit::{self, AuditAction, Entry};
use super::error::ServiceError;
use super::members;
use super::sessions;
use crate::clock::Clock;
use crate::db::Db;
use crate::domain::permission::Permission;
use crate::domain::policy::Action;
use crate::entities::{organization, user};

const DAY_SECS: i64 = 24 * 60 * 60;
pub const MAX_GRACE_DAYS: i32 = 90;
pub const MIN_IDLE_MINUTES: i32 = 5;

/// When members without two-factor lose access to `org`; `None` while it
/// is not required.
pub fn two_factor_deadline(org: &organization::Model) -> Option<i64> {
    org.two_factor_required_at
        .map(|since| since + i64::from(org.two_factor_grace_days) * DAY_SECS)
}

/// Where a person without two-factor stands with `org` at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TwoFactorStanding {
    /// Not required, or the person has it.
    Fine,
    /// Required; this many whole days are left (0: the last day).
    Grace { days_left: i64, deadline: i64 },
    /// Required and past the deadline: no access until it is set up.
    Blocked,
}

pub fn standing(org: &organization::Model, has_two_factor: bool, now: i64) -> TwoFactorStanding {
    match two_factor_deadline(org) {
        Some(_) if has_two_factor => TwoFactorStanding::Fine,
        None => TwoFactorStanding::Fine,
        Some(deadline) if now >= deadline => TwoFactorStanding::Blocked,
        Some(deadline) => TwoFactorStanding::Grace {
            days_left: (deadline - now) / DAY_SECS,
            deadline,
        },
    }
}

/// The session limits that hold for a person, and the organization that
/// set each (`None`: the server's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle_secs: i64,
    pub idle_by: Option<String>,
    pub lifetime_secs: i64,
    pub lifetime_by: Option<String>,
}

/// The strictest limits among `orgs` and the server's.
pub fn session_limits<'a>(
    orgs: impl IntoIterator<Item = &'a organization::Model>,
    server_idle_secs: i64,
    server_lifetime_secs: i64,
) -> SessionLimits {
    let mut limits = SessionLimits {
        idle_secs: server_idle_secs,
        idle_by: None,
        lifetime_secs: server_lifetime_secs,
        lifetime_by: None,
    };
    for org in orgs {
        if let Some(minutes) = org.session_idle_minutes {
            let secs = i64::from(minutes) * 60;
            if secs < limits.idle_secs {
                limits.idle_secs = secs;
                limits.idle_by = Some(org.name.clone());
            }
        }
        if let Some(hours) = org.session_lifetime_hours {
            let secs = i64::from(hours) * 3600;
            if secs < limits.lifetime_secs {
                limits.lifetime_secs = secs;
                limits.lifetime_by = Some(org.name.clone());
            }
        }
    }
    limits
}

/// The Security form as typed.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct SecurityForm {
    pub require_two_factor: Option<String>,
    pub grace_days: String,
    pub idle_minutes: String,
    pub lifetime_hours: String,
}

/// A checked Security form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecuritySettings {
    pub require_two_factor: bool,
    pub grace_days: i32,
    pub idle_minutes: Option<i32>,
    pub lifetime_hours: Option<i32>,
}

impl SecuritySettings {
    /// Checks `form` against the server's limits (in minutes and hours):
    /// an organization may only be stricter. Every message, by field.
    pub fn parse(
        form: &SecurityForm,
        server_idle_minutes: i64,
        server_lifetime_hours: i64,
    ) -> Result<Self, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let grace = form.grace_days.trim();
        let grace_days = if grace.is_empty() {
            7
        } else {
            match grace.parse::<i32>() {
                Ok(days) if (0..=MAX_GRACE_DAYS).contains(&days) => days,
                _ => {
                    errors.push((
                        "grace_days",
                        format!("Enter a number of days from 0 to {MAX_GRACE_DAYS}."),
                    ));
                    0
                }
            }
        };
        let idle_minutes = optional(&form.idle_minutes, i64::from(MIN_IDLE_MINUTES), server_idle_minutes)
            .map_err(|()| {
                errors.push((
                    "idle_minutes",
                    format!(
                        "Enter minutes from {MIN_IDLE_MINUTES} to {server_idle_minutes} (this server's limit), or leave it empty."
                    ),
                ))
            })
            .ok()
            .flatten();
        let lifetime_hours = optional(&form.lifetime_hours, 1, server_lifetime_hours)
            .map_err(|()| {
                errors.push((
                    "lifetime_hours",
                    format!(
                        "Enter hours from 1 to {server_lifetime_hours} (this server's limit), or leave it empty."
                    ),
                ))
            })
            .ok()
            .flatten();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SecuritySettings {
            require_two_factor: form.require_two_factor.as_deref() == Some("on"),
            grace_days,
            idle_minutes,
            lifetime_hours,
        })
    }

    fn of(org: &organization::Model) -> Self {
        SecuritySettings {
            require_two_factor: org.two_factor_required_at.is_some(),
            grace_days: org.two_factor_grace_days,
            idle_minutes: org.session_idle_minutes,
            lifetime_hours: org.session_lifetime_hours,
        }
    }

    /// What the audit row shows.
    fn describe(&self) -> String {
        let two_factor = if self.require_two_factor {
            format!(
                "two-factor required ({} days to set it up)",
                self.grace_days
            )
        } else {
            "two-factor not required".to_string()
        };
        let idle = self
            .idle_minutes
            .map_or("server idle timeout".to_string(), |m| {
                format!("idle timeout {m} min")
            });
        let lifetime = self
            .lifetime_hours
            .map_or("server session lifetime".to_string(), |h| {
                format!("session lifetime {h} h")
            });
        format!("{two_factor}; {idle}; {lifetime}")
    }
}

/// An optional whole number within `min..=max`; empty is `None`.
fn optional(typed: &str, min: i64, max: i64) -> Result<Option<i32>, ()> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    match typed.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => i32::try_from(n).map(Some).map_err(|_| ()),
        _ => Err(()),
    }
}

/// Stores the organization's security settings. Requiring two-factor
/// starts the grace period now; it keeps running while the requirement
/// stays on (a changed grace counts from the same start).
pub async fn save(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    settings: SecuritySettings,
) -> Result<(), ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    acting
        .authorize(&txn, Action::Use(Permission::EditSettings))
        .await?;
    let org = organization::Entity::find_by_id(acting.org_id.clone())
        .one(&txn)
        .await
        .context("failed to load the organization")?
        .ok_or(ServiceError::NotFound)?;
    let before = SecuritySettings::of(&org);
    if before == settings {
        return Ok(());
    }
    let required_at = match (org.two_factor_required_at, settings.require_two_factor) {
        (_, false) => None,
        (Some(since), true) => Some(since),
        (None, true) => Some(now),
    };
    organization::Entity::update_many()
        .col_expr(
            organization::Column::TwoFactorRequiredAt,
            Expr::value(required_at),
        )
        .col_expr(
            organization::Column::TwoFactorGraceDays,
            Expr::value(settings.grace_days),
        )
        .col_expr(
            organization::Column::SessionIdleMinutes,
            Expr::value(settings.idle_minutes),
        )
        .col_expr(
            organization::Column::SessionLifetimeHours,
            Expr::value(settings.lifetime_hours),
        )
        .filter(organization::Column::Id.eq(org.id.as_str()))
        .exec(&txn)
        .await
        .context("failed to store the security settings")?;
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&org.id),
            action: AuditAction::SecuritySettingsChanged,
            target_type: Some("organization"),
            target_id: Some(&org.id),
            target_label: Some(&org.name),
            before: Some(before.describe()),
            after: Some(settings.describe()),
        },
        now,
    )
    .await?;
    txn.commit().await.context("failed to commit")?;
    Ok(())
}

/// Ends every session of the member `membership_id` (a lost laptop). Who
/// may remove a member may sign them out; the Owner's sessions are the
/// Owner's own business.
pub async fn sign_member_out(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    membership_id: &str,
) -> Result<members::MemberRow, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let row = members::find(&txn, &acting.org_id, membership_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if row.user_id == acting.user_id {
        return Err(ServiceError::invalid(
            "member",
            "To sign yourself out everywhere, use Sign out everywhere on your account page.",
        ));
    }
    acting
        .authorize(
            &txn,
            Action::Remove {
                target: row.role,
                is_self: false,
            },
        )
        .await?;
    let person = user::Entity::find_by_id(row.user_id.clone())
        .one(&txn)
        .await
        .context("failed to load the member's account")?
        .ok_or(ServiceError::NotFound)?;
    let org_name: Option<String> = organization::Entity::find_by_id(acting.org_id.clone())
        .one(&txn)
        .await
        .context("failed to load the organization")?
        .map(|org| org.name);
    // The log names the actor; the detail says from which organization.
    let detail = org_name.map(|name| format!("From {name}"));
    sessions::end_all_in(&txn, &person, &acting.actor, detail, now).await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::MemberSignedOut,
            target_type: Some("member"),
            target_id: Some(&row.membership_id),
            target_label: Some(&person.email),
            before: None,
            after: None,
        },
        now,
    )
    .await?;
    txn.commit().await.context("failed to commit")?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(grace: &str, idle: &str, lifetime: &str) -> SecurityForm {
        SecurityForm {
            require_two_factor: Some("on".into()),
            grace_days: grace.into(),
            idle_minutes: idle.into(),
            lifetime_hours: lifetime.into(),
        }
    }

    #[test]
    fn an_organization_may_only_be_stricter_than_the_server() {
        let ok = SecuritySettings::parse(&form("7", "10", "8"), 60, 12).unwrap();
        assert_eq!(ok.idle_minutes, Some(10));
        assert_eq!(ok.lifetime_hours, Some(8));
        assert!(ok.require_two_factor);
        let none = SecuritySettings::parse(&form("", "", ""), 60, 12).unwrap();
        assert_eq!((none.grace_days, none.idle_minutes), (7, None));
        for (grace, idle, lifetime, field) in [
            ("91", "", "", "grace_days"),
            ("-1", "", "", "grace_days"),
            ("x", "", "", "grace_days"),
            ("7", "4", "", "idle_minutes"),
            ("7", "61", "", "idle_minutes"),
            ("7", "", "0", "lifetime_hours"),
            ("7", "", "13", "lifetime_hours"),
        ] {
            let errors = SecuritySettings::parse(&form(grace, idle, lifetime), 60, 12).unwrap_err();
            assert_eq!(errors[0].0, field, "{grace} {idle} {lifetime}");
        }
    }

    #[test]
    fn the_grace_period_counts_whole_days_to_the_deadline() {
        let org = organization::Model {
            id: "o".into(),
            name: "Acme".into(),
            description: String::new(),
            created_at: 0,
            auto_join_role: crate::domain::role::OrgRole::Member,
            seat_limit: None,
            two_factor_required_at: Some(1_000_000),
            two_factor_grace_days: 7,
            session_idle_minutes: None,
            session_lifetime_hours: None,
        };
        let deadline = 1_000_000 + 7 * DAY_SECS;
        assert_eq!(
            standing(&org, false, 1_000_000),
            TwoFactorStanding::Grace {
                days_left: 7,
                deadline
            }
        );
        assert_eq!(standing(&org, false, deadline), TwoFactorStanding::Blocked);
        assert_eq!(standing(&org, true, deadline), TwoFactorStanding::Fine);
        let limits = session_limits([&org], 3600, 43_200);
        assert_eq!((limits.idle_secs, limits.idle_by), (3600, None));
    }
}
