//! Organizations: creation (with the first workspace), the list a person
//! belongs to, and the membership that scopes every tenant request.

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::audit::{self, Actor, AuditAction, Entry};
use super::new_id;
use crate::clock::Clock;
use crate::db::{Db, Tenant};
use crate::domain::names::OrgName;
use crate::domain::permission::Permission;
use crate::domain::role::OrgRole;
use crate::entities::{membership, organization, user, workspace};

/// The first workspace of every organization.
pub const FIRST_WORKSPACE: &str = "General";

/// Creates an organization owned by `owner`, with its first workspace,
/// inside the caller's transaction, which acts for the new organization
/// (and `owner`) from here on: on PostgreSQL it sees nothing else after.
pub async fn create_in<C: ConnectionTrait>(
    conn: &C,
    owner: &user::Model,
    name: &OrgName,
    actor: &Actor,
    seat_limit: Option<u64>,
    now: i64,
) -> anyhow::Result<organization::Model> {
    let org_id = new_id();
    crate::db::act_for(
        conn,
        Tenant::Org {
            org_id: &org_id,
            person: Some(&owner.id),
        },
    )
    .await
    .context("failed to act for the new organization")?;
    let org = organization::ActiveModel {
        id: Set(org_id),
        name: Set(name.as_str().to_string()),
        description: Set(String::new()),
        created_at: Set(now),
        auto_join_role: Set(OrgRole::Member),
        seat_limit: Set(seat_limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX))),
        two_factor_required_at: Set(None),
        two_factor_grace_days: Set(7),
        session_idle_minutes: Set(None),
        session_lifetime_hours: Set(None),
    }
    .insert(conn)
    .await
    .context("failed to create the organization")?;
    super::memberships::insert(conn, &org.id, owner, OrgRole::Owner, now, now)
        .await
        .context("failed to make the creator the Owner")?;
    let first = workspace::ActiveModel {
        id: Set(new_id()),
        org_id: Set(org.id.clone()),
        title: Set(FIRST_WORKSPACE.to_string()),
        title_normalized: Set(FIRST_WORKSPACE.to_lowercase()),
        description: Set(String::new()),
        created_at: Set(now),
    }
    .insert(conn)
    .await
    .context("failed to create the first workspace")?;
    super::workspaces::add_owner(conn, &first, &owner.id, now).await?;
    audit::record(
        conn,
        actor,
        Entry::naming(
            &org.id,
            AuditAction::OrganizationCreated,
            "organization",
            &org.id,
            &org.name,
        ),
        now,
    )
    .await?;
    Ok(org)
}

/// Creates another organization for a signed-in person.
pub async fn create(
    db: &Db,
    clock: &Clock,
    owner: &user::Model,
    name: &OrgName,
    actor: &Actor,
    seat_limit: Option<u64>,
) -> anyhow::Result<organization::Model> {
    let txn = db.begin_accounts_write().await.context("failed to begin")?;
    let org = create_in(&txn, owner, name, actor, seat_limit, clock.now()).await?;
    txn.commit()
        .await
        .context("failed to commit the new organization")?;
    Ok(org)
}

/// An organization a person belongs to, for the switcher.
#[derive(Clone, Debug)]
pub struct OrgSummary {
    pub id: String,
    pub name: String,
    pub role: OrgRole,
    pub created_at: i64,
    /// What tells this organization apart from another of the person's
    /// with the same name ("created 2026-12-02 · a1b2c3"); empty when
    /// the name is theirs alone.
    pub distinction: String,
}

impl OrgSummary {
    pub fn of(org: &organization::Model, membership: &membership::Model) -> Self {
        OrgSummary {
            id: org.id.clone(),
            name: org.name.clone(),
            role: membership.role,
            created_at: org.created_at,
            distinction: String::new(),
        }
    }

    /// Fills in [`OrgSummary::distinction`] for names that appear more
    /// than once in `list` (compared case-insensitively).
    pub fn distinguish(list: &mut [OrgSummary]) {
        let keys: Vec<String> = list.iter().map(|o| o.name.to_lowercase()).collect();
        for (i, org) in list.iter_mut().enumerate() {
            if keys.iter().filter(|k| **k == keys[i]).count() > 1 {
                let short: String = org.id.chars().filter(|c| *c != '-').take(6).collect();
                org.distinction = format!("created {} · {short}", day(org.created_at));
            }
        }
    }

    /// The first page of this organization the person may see: Members for
    /// those who may list them, their workspaces for a workspace guest.
    pub fn landing_path(&self) -> String {
        landing_path(&self.id, self.role)
    }
}

/// The first page of an organization a holder of `role` may see.
pub fn landing_path(org_id: &str, role: OrgRole) -> String {
    let lists_members = crate::domain::policy::allows(
        crate::domain::policy::Roles::in_org(role),
        crate::domain::policy::Action::Use(Permission::ViewMembers),
    );
    let section = if lists_members {
        "members"
    } else {
        "workspaces"
    };
    format!("/orgs/{org_id}/{section}")
}

/// The organization and the person's membership in it, if they belong.
pub async fn membership_in(
    db: &Db,
    org_id: &str,
    user_id: &str,
) -> anyhow::Result<Option<(organization::Model, membership::Model)>> {
    let row = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org_id))
        .filter(membership::Column::UserId.eq(user_id))
        .find_also_related(organization::Entity)
        .one(
            &db.read_in(Tenant::Org {
                org_id,
                person: Some(user_id),
            })
            .await?,
        )
        .await
        .context("failed to load the membership")?;
    Ok(row.and_then(|(m, org)| org.map(|org| (org, m))))
}

/// Records that a member used the organization, at most once a minute.
pub async fn touch_membership(
    db: &Db,
    membership: &membership::Model,
    now: i64,
) -> anyhow::Result<()> {
    if now - membership.last_active_at < 60 {
        return Ok(());
    }
    let txn = db
        .begin_in(Tenant::Org {
            org_id: &membership.org_id,
            person: Some(&membership.user_id),
        })
        .await
        .context("failed to begin")?;
    membership::Entity::update_many()
        .col_expr(membership::Column::LastActiveAt, Expr::value(now))
        .filter(membership::Column::Id.eq(membership.id.as_str()))
        .exec(&txn)
        .await
        .context("failed to record member activity")?;
    txn.commit()
        .await
        .context("failed to record member activity")?;
    Ok(())
}

/// A validated organization profile.
#[derive(Clone, Debug)]
pub struct OrgProfile {
    pub name: OrgName,
    pub description: String,
}

pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// Validates the free-text description.
pub fn parse_description(input: &str) -> Result<String, String> {
    let value = input.trim();
    if value.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(format!(
            "The description must be at most {MAX_DESCRIPTION_CHARS} characters."
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("The description cannot contain control characters.".into());
    }
    Ok(value.to_string())
}

/// Updates the organization's name and description.
pub async fn update_profile(
    db: &Db,
    clock: &Clock,
    acting: &super::acting::Acting,
    profile: &OrgProfile,
) -> Result<organization::Model, super::error::ServiceError> {
    use super::error::ServiceError;
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let org = authorized_org(&txn, acting, Permission::EditSettings).await?;
    let mut before = Vec::new();
    let mut after = Vec::new();
    if org.name != profile.name.as_str() {
        before.push(format!("name: {}", org.name));
        after.push(format!("name: {}", profile.name.as_str()));
    }
    if org.description != profile.description {
        before.push(format!("description: {}", org.description));
        after.push(format!("description: {}", profile.description));
    }
    if before.is_empty() {
        return Ok(org);
    }
    organization::Entity::update_many()
        .col_expr(
            organization::Column::Name,
            Expr::value(profile.name.as_str()),
        )
        .col_expr(
            organization::Column::Description,
            Expr::value(profile.description.as_str()),
        )
        .filter(organization::Column::Id.eq(acting.org_id.as_str()))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::SettingsChanged,
            target_type: Some("organization"),
            target_id: Some(&acting.org_id),
            target_label: Some(profile.name.as_str()),
            before: Some(before.join("\n")),
            after: Some(after.join("\n")),
        },
        now,
    )
    .await?;
    let updated = organization::Entity::find_by_id(acting.org_id.clone())
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    txn.commit().await?;
    Ok(updated)
}

/// Deletes the organization and everything in it, after the Owner's
/// password and the typed name. The audit row names no foreign key, so it
/// survives the organization.
pub async fn delete(
    db: &Db,
    clock: &Clock,
    acting: &super::acting::Acting,
    owner: &user::Model,
    password_attempt: &str,
    typed_name: &str,
) -> Result<organization::Model, super::error::ServiceError> {
    use super::error::ServiceError;
    acting
        .recheck_password(db, clock, owner, password_attempt)
        .await?;
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let org = authorized_org(&txn, acting, Permission::DeleteOrganization).await?;
    if typed_name.trim() != org.name {
        return Err(ServiceError::invalid(
            "confirm_name",
            "Type the organization's name exactly as shown to confirm.",
        ));
    }
    organization::Entity::delete_by_id(org.id.clone())
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry::naming(
            &org.id,
            AuditAction::OrganizationDeleted,
            "organization",
            &org.id,
            &org.name,
        )
        .as_deletion(),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(org)
}

/// The acting organization, once the actor's role (read inside the
/// transaction) grants `permission`.
async fn authorized_org<C: ConnectionTrait>(
    conn: &C,
    acting: &super::acting::Acting,
    permission: Permission,
) -> Result<organization::Model, super::error::ServiceError> {
    acting
        .authorize(conn, crate::domain::policy::Action::Use(permission))
        .await?;
    organization::Entity::find_by_id(acting.org_id.clone())
        .one(conn)
        .await?
        .ok_or(super::error::ServiceError::NotFound)
}

/// A Unix timestamp as `2026-12-02` (UTC).
fn day(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .map(|t| t.date().to_string())
        .unwrap_or_default()
}
