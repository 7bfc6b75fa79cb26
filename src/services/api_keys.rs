//! API keys: making, listing and revoking them, and recognizing one on a
//! request. An organization key acts with its own role (never Owner) and
//! outlives its creator's membership; a personal key acts as its member
//! with that member's roles as of each request. Every change is audited;
//! a key's expiry is audited once, the first time it is noticed.

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::acting::{Acting, OrgKey};
use super::audit::{self, Actor, AuditAction, Entry};
use super::error::ServiceError;
use super::new_id;
use crate::clock::Clock;
use crate::db::{CrossOrg, Db, Tenant};
use crate::domain::api_key;
use crate::domain::permission::Permission;
use crate::domain::policy::{self, Action};
use crate::domain::role::OrgRole;
use crate::entities::api_key::{self as key_entity, KeyKind};
use crate::entities::{membership, user, workspace};

/// What a new key acts as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewKind {
    /// An organization key with this role.
    Organization(OrgRole),
    /// A personal key of the acting person.
    Personal,
}

/// A key to make.
#[derive(Clone, Debug)]
pub struct NewKey {
    pub name: String,
    pub kind: NewKind,
    pub expires_at: i64,
    /// Limits an organization key to one workspace of the organization.
    pub workspace_id: Option<String>,
}

/// One key as the list shows it.
#[derive(Clone, Debug)]
pub struct KeyRow {
    pub key: key_entity::Model,
    /// The member a personal key acts as.
    pub member_name: Option<String>,
    /// The workspace an organization key is limited to.
    pub workspace_title: Option<String>,
}

impl KeyRow {
    pub fn is_live(&self, now: i64) -> bool {
        self.key.revoked_at.is_none() && self.key.expires_at > now
    }
}

fn describe(kind: NewKind, workspace: Option<&str>, expires_at: i64) -> String {
    let what = match (kind, workspace) {
        (NewKind::Organization(role), None) => format!("organization key, role {}", role.label()),
        (NewKind::Organization(role), Some(title)) => format!(
            "organization key, role {} in the workspace {title}",
            role.label()
        ),
        (NewKind::Personal, _) => "personal key".to_string(),
    };
    format!(
        "{what}, expires {}",
        crate::web::format::date_time(expires_at)
    )
}

/// Makes a key; returns it and its secret, which is never shown again.
pub async fn create(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    new: NewKey,
) -> Result<(key_entity::Model, String), ServiceError> {
    let now = clock.now();
    let name = api_key::parse_name(&new.name).map_err(|m| ServiceError::invalid("name", m))?;
    if new.expires_at <= now {
        return Err(ServiceError::invalid(
            "expires",
            "Choose a date after today.",
        ));
    }
    let txn = db.begin_org_write(acting.tenant()).await?;
    let me = acting.in_org(&txn).await?;
    let Some(person) = acting.person() else {
        return Err(ServiceError::Denied(policy::Denied::MissingPermission(
            Permission::ManageApiKeys,
        )));
    };
    let (role, user_id) = match new.kind {
        NewKind::Organization(role) => {
            policy::authorize(me, Action::CreateApiKey { role })?;
            (Some(role), None)
        }
        NewKind::Personal => {
            policy::authorize(me, Action::Use(Permission::UsePersonalKeys))?;
            (None, Some(person.to_string()))
        }
    };
    let workspace = match (&new.workspace_id, new.kind) {
        (None, _) => None,
        (Some(_), NewKind::Personal) => {
            return Err(ServiceError::invalid(
                "workspace_id",
                "A personal key acts as you, in every workspace you can reach.",
            ));
        }
        (Some(id), NewKind::Organization(_)) => Some(
            workspace::Entity::find_by_id(id.clone())
                .filter(workspace::Column::OrgId.eq(acting.org_id.as_str()))
                .one(&txn)
                .await?
                .ok_or_else(|| {
                    ServiceError::invalid("workspace_id", "Choose one of the workspaces offered.")
                })?,
        ),
    };
    let creator = user::Entity::find_by_id(person.to_string())
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let secret = api_key::generate();
    let created = key_entity::ActiveModel {
        id: Set(new_id()),
        org_id: Set(acting.org_id.clone()),
        kind: Set(match new.kind {
            NewKind::Organization(_) => KeyKind::Organization,
            NewKind::Personal => KeyKind::Personal,
        }),
        name: Set(name.clone()),
        role: Set(role),
        user_id: Set(user_id),
        workspace_id: Set(workspace.as_ref().map(|w| w.id.clone())),
        created_by: Set(Some(creator.id.clone())),
        created_by_name: Set(creator.name.clone()),
        secret_hash: Set(api_key::hash(&secret)),
        last4: Set(api_key::last4(&secret)),
        created_at: Set(now),
        expires_at: Set(new.expires_at),
        revoked_at: Set(None),
        expiry_recorded_at: Set(None),
        last_used_at: Set(None),
        last_used_address: Set(None),
    }
    .insert(&txn)
    .await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            after: Some(describe(
                new.kind,
                workspace.as_ref().map(|w| w.title.as_str()),
                new.expires_at,
            )),
            ..Entry::naming(
                &acting.org_id,
                AuditAction::ApiKeyCreated,
                "api_key",
                &created.id,
                &name,
            )
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((created, secret))
}

/// Makes an organization key in the name of the organization's Owner, for
/// the command line (an operator setting Roster up); returns its secret.
pub async fn create_as_owner(
    db: &Db,
    clock: &Clock,
    org_id: &str,
    new: NewKey,
) -> anyhow::Result<String> {
    let found = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org_id))
        .filter(membership::Column::Role.eq(OrgRole::Owner))
        .find_also_related(user::Entity)
        .one(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to find the organization's Owner")?;
    let Some((owner, Some(person))) = found else {
        anyhow::bail!("no organization has the id {org_id}");
    };
    let acting = Acting {
        org_id: owner.org_id.clone(),
        user_id: person.id.clone(),
        membership_id: owner.id.clone(),
        actor: Actor {
            user_id: Some(person.id.clone()),
            label: format!("{} (command line)", person.email),
            address: None,
        },
        org_key: None,
    };
    let (_, secret) = create(db, clock, &acting, new)
        .await
        .map_err(|err| anyhow::anyhow!("the key was not made: {err}"))?;
    Ok(secret)
}

/// The keys the actor may see: every key of the organization for those
/// who manage keys, their own personal keys for everyone else. Keys that
/// expired since last looked at are audited first.
pub async fn list(db: &Db, clock: &Clock, acting: &Acting) -> Result<Vec<KeyRow>, ServiceError> {
    let now = clock.now();
    record_expiries(db, &acting.org_id, now).await?;
    let roles = acting.in_org(&db.read_in(acting.tenant()).await?).await?;
    let mut query = key_entity::Entity::find()
        .filter(key_entity::Column::OrgId.eq(acting.org_id.as_str()))
        .order_by_desc(key_entity::Column::CreatedAt)
        .order_by_asc(key_entity::Column::Id);
    if !policy::allows(roles, Action::Use(Permission::ManageApiKeys)) {
        query = query.filter(key_entity::Column::UserId.eq(acting.person().unwrap_or_default()));
    }
    let keys = query.all(&db.read_in(acting.tenant()).await?).await?;
    let member_ids: Vec<String> = keys.iter().filter_map(|k| k.user_id.clone()).collect();
    let names: std::collections::HashMap<String, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(member_ids))
        .all(&db.read_in(acting.tenant()).await?)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let titles: std::collections::HashMap<String, String> =
        super::workspaces::titles(db, &acting.org_id)
            .await?
            .into_iter()
            .collect();
    Ok(keys
        .into_iter()
        .map(|key| {
            let member_name = key.user_id.as_ref().and_then(|id| names.get(id).cloned());
            let workspace_title = key
                .workspace_id
                .as_ref()
                .and_then(|id| titles.get(id).cloned());
            KeyRow {
                key,
                member_name,
                workspace_title,
            }
        })
        .collect())
}

/// Revokes a key: its next request is refused.
pub async fn revoke(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    key_id: &str,
) -> Result<key_entity::Model, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let roles = acting.in_org(&txn).await?;
    let found = key_entity::Entity::find_by_id(key_id.to_string())
        .filter(key_entity::Column::OrgId.eq(acting.org_id.as_str()))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let own = found.user_id.is_some() && found.user_id.as_deref() == acting.person();
    if !own && !policy::allows(roles, Action::Use(Permission::ManageApiKeys)) {
        return Err(ServiceError::NotFound);
    }
    if found.revoked_at.is_some() {
        return Err(ServiceError::Conflict("This key was already revoked."));
    }
    key_entity::Entity::update_many()
        .col_expr(key_entity::Column::RevokedAt, Expr::value(now))
        .filter(key_entity::Column::Id.eq(found.id.as_str()))
        .filter(key_entity::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry::naming(
            &acting.org_id,
            AuditAction::ApiKeyRevoked,
            "api_key",
            &found.id,
            &found.name,
        )
        .as_deletion(),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(found)
}

/// Writes one "API key expired" row for each key of the organization that
/// has expired and has none yet.
pub async fn record_expiries(db: &Db, org_id: &str, now: i64) -> anyhow::Result<()> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let due = key_entity::Entity::find()
        .filter(key_entity::Column::OrgId.eq(org_id))
        .filter(key_entity::Column::ExpiresAt.lte(now))
        .filter(key_entity::Column::ExpiryRecordedAt.is_null())
        .filter(key_entity::Column::RevokedAt.is_null())
        .all(&conn)
        .await
        .context("failed to list expired keys")?;
    drop(conn);
    for key in due {
        record_expiry(db, &key, now).await?;
    }
    Ok(())
}

async fn record_expiry(db: &Db, key: &key_entity::Model, now: i64) -> anyhow::Result<()> {
    let txn = db
        .begin_in(Tenant::org(&key.org_id))
        .await
        .context("failed to begin recording an expiry")?;
    let claimed = key_entity::Entity::update_many()
        .col_expr(key_entity::Column::ExpiryRecordedAt, Expr::value(now))
        .filter(key_entity::Column::Id.eq(key.id.as_str()))
        .filter(key_entity::Column::ExpiryRecordedAt.is_null())
        .exec(&txn)
        .await
        .context("failed to mark an expiry")?;
    if claimed.rows_affected == 1 {
        let actor = Actor {
            user_id: None,
            label: "Roster".to_string(),
            address: None,
        };
        audit::record(
            &txn,
            &actor,
            Entry {
                after: Some(crate::web::format::date_time(key.expires_at)),
                ..Entry::naming(
                    &key.org_id,
                    AuditAction::ApiKeyExpired,
                    "api_key",
                    &key.id,
                    &key.name,
                )
            },
            key.expires_at.min(now),
        )
        .await?;
    }
    txn.commit().await.context("failed to record an expiry")?;
    Ok(())
}

/// Why a presented key does not authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a Roster key at all, or mistyped (checked without a lookup).
    Malformed,
    /// No such key.
    Unknown,
    Revoked,
    Expired,
    /// A personal key whose member no longer belongs to the organization.
    MemberGone,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Malformed => {
                "The key is not a Roster API key or was mistyped: keys start with roster_ and end with a checksum."
            }
            Refusal::Unknown => "No such API key.",
            Refusal::Revoked => "This API key was revoked.",
            Refusal::Expired => "This API key has expired.",
            Refusal::MemberGone => {
                "This personal API key's member no longer belongs to the organization."
            }
        }
    }
}

/// A recognized key and who acts with it.
#[derive(Clone, Debug)]
pub struct Authenticated {
    pub key: key_entity::Model,
    pub acting: Acting,
    /// The actor's organization role for this request (`None` for an
    /// organization key limited to one workspace).
    pub role: OrgRole,
}

/// How stale a key's "last used" may get before it is rewritten.
const USED_RESOLUTION_SECS: i64 = 60;

/// Recognizes the secret presented with a request: one hash and one
/// indexed read (two for a personal key, whose member's current role is
/// read on every request).
pub async fn authenticate(
    db: &Db,
    clock: &Clock,
    secret: &str,
    address: Option<String>,
) -> anyhow::Result<Result<Authenticated, Refusal>> {
    if api_key::check(secret).is_err() {
        return Ok(Err(Refusal::Malformed));
    }
    let now = clock.now();
    let Some(key) = key_entity::Entity::find()
        .filter(key_entity::Column::SecretHash.eq(api_key::hash(secret)))
        .one(&db.read_cross_org(CrossOrg::ApiKeyLookup).await?)
        .await
        .context("failed to look up an API key")?
    else {
        return Ok(Err(Refusal::Unknown));
    };
    if key.revoked_at.is_some() {
        return Ok(Err(Refusal::Revoked));
    }
    if key.expires_at <= now {
        if key.expiry_recorded_at.is_none() {
            record_expiry(db, &key, now).await?;
        }
        return Ok(Err(Refusal::Expired));
    }
    let label_of = |owner: &str| format!("API key '{}' of {owner}", key.name);
    let (acting, role) = match (key.kind, key.role, key.user_id.as_deref()) {
        (KeyKind::Organization, Some(role), _) => {
            let org_key = OrgKey::new(key.id.clone(), role, key.workspace_id.clone());
            let acts_as = org_key.org_role();
            (
                Acting {
                    org_id: key.org_id.clone(),
                    user_id: String::new(),
                    membership_id: String::new(),
                    actor: Actor {
                        user_id: None,
                        label: label_of(&key.created_by_name),
                        address: address.clone(),
                    },
                    org_key: Some(org_key),
                },
                acts_as,
            )
        }
        (KeyKind::Personal, _, Some(user_id)) => {
            let found = membership::Entity::find()
                .filter(membership::Column::OrgId.eq(key.org_id.as_str()))
                .filter(membership::Column::UserId.eq(user_id))
                .find_also_related(user::Entity)
                .one(
                    &db.read_in(Tenant::Org {
                        org_id: &key.org_id,
                        person: Some(user_id),
                    })
                    .await?,
                )
                .await
                .context("failed to load a key's member")?;
            let Some((member, Some(person))) = found else {
                return Ok(Err(Refusal::MemberGone));
            };
            (
                Acting {
                    org_id: key.org_id.clone(),
                    user_id: person.id.clone(),
                    membership_id: member.id.clone(),
                    actor: Actor {
                        user_id: Some(person.id.clone()),
                        label: label_of(&person.name),
                        address: address.clone(),
                    },
                    org_key: None,
                },
                member.role,
            )
        }
        _ => return Ok(Err(Refusal::Unknown)),
    };
    let stale = key
        .last_used_at
        .is_none_or(|at| now - at >= USED_RESOLUTION_SECS);
    if stale || key.last_used_address != address {
        let txn = db.begin_in(acting.tenant()).await?;
        key_entity::Entity::update_many()
            .col_expr(key_entity::Column::LastUsedAt, Expr::value(now))
            .col_expr(key_entity::Column::LastUsedAddress, Expr::value(address))
            .filter(key_entity::Column::Id.eq(key.id.as_str()))
            .exec(&txn)
            .await
            .context("failed to record a key's use")?;
        txn.commit().await.context("failed to record a key's use")?;
    }
    Ok(Ok(Authenticated { key, acting, role }))
}

/// The role of an organization key that still works at `now`, for an
/// invitation it sent: `None` once the key is revoked or expired.
pub(crate) async fn live_role<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    key_id: &str,
    now: i64,
) -> Result<Option<OrgRole>, sea_orm::DbErr> {
    Ok(key_entity::Entity::find_by_id(key_id.to_string())
        .filter(key_entity::Column::OrgId.eq(org_id))
        .one(conn)
        .await?
        .filter(|k| k.revoked_at.is_none() && k.expires_at > now)
        .and_then(|k| k.role))
}
