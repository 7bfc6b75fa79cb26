//! Modules and custom roles: the organization's own modules, custom roles
//! as named sets of module levels, who holds them where, and what a
//! member's roles add up to (with the reasons), for the Manage roles panel
//! and the host product's access check.
//!
//! Every change runs in the organization's write transaction (see
//! `Db::begin_org_write`), so a role's definition and its grants are
//! checked against each other one at a time: an edit racing a grant
//! cannot slip a level past the ceiling.

use std::collections::{BTreeSet, HashMap};

use anyhow::Context;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, Statement, TransactionTrait,
};

use super::acting::{Acting, membership, refuse_unseen};
use super::audit::{self, AuditAction, Entry};
use super::error::ServiceError;
use crate::clock::Clock;
use crate::db::{Db, Tenant};
use crate::domain::module::{self, Level, Levels, RoleScope, Source};
use crate::domain::permission::Permission;
use crate::domain::policy::{self, Action, Roles};
use crate::domain::workspace::WsPermission;
use crate::entities::{
    custom_module, custom_role, custom_role_level, invitation, invitation_role,
    membership as membership_entity, role_assignment, workspace,
};

/// A module as pages and the API list it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleInfo {
    pub key: String,
    pub name: String,
    pub description: String,
    /// The row of an organization's own module; `None` for Roster's.
    pub id: Option<String>,
}

/// Roster's modules, then the organization's own by name.
pub async fn modules<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
) -> Result<Vec<ModuleInfo>, ServiceError> {
    let mut all: Vec<ModuleInfo> = module::BUILTIN
        .iter()
        .map(|m| ModuleInfo {
            key: m.key.to_string(),
            name: m.name.to_string(),
            description: m.description.to_string(),
            id: None,
        })
        .collect();
    let own = custom_module::Entity::find()
        .filter(custom_module::Column::OrgId.eq(org_id))
        .order_by_asc(custom_module::Column::Name)
        .all(conn)
        .await?;
    all.extend(own.into_iter().map(|m| ModuleInfo {
        key: m.module_key,
        name: m.name,
        description: m.description,
        id: Some(m.id),
    }));
    Ok(all)
}

/// Lists the modules; anyone who sees the settings may.
pub async fn list_modules(db: &Db, acting: &Acting) -> Result<Vec<ModuleInfo>, ServiceError> {
    let conn = db.read_in(acting.tenant()).await?;
    let conn = &conn;
    acting
        .authorize(conn, Action::Use(Permission::ViewSettings))
        .await?;
    modules(conn, &acting.org_id).await
}

/// What a new module is called.
#[derive(Clone, Debug, Default)]
pub struct ModuleInput {
    pub name: String,
    /// Empty: derived from the name.
    pub key: String,
    pub description: String,
}

fn parse_name(field: &'static str, value: &str, what: &str) -> Result<String, ServiceError> {
    let name = value.trim();
    if name.is_empty() {
        return Err(ServiceError::invalid(
            field,
            format!("Enter a name for the {what}."),
        ));
    }
    if name.chars().count() > 60 {
        return Err(ServiceError::invalid(
            field,
            format!("A {what}'s name has at most 60 characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            field,
            format!("A {what}'s name cannot contain control characters."),
        ));
    }
    Ok(name.to_string())
}

fn parse_description(value: &str) -> Result<String, ServiceError> {
    let description = value.trim();
    if description.chars().count() > 300 {
        return Err(ServiceError::invalid(
            "description",
            "A description has at most 300 characters.",
        ));
    }
    if description
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(ServiceError::invalid(
            "description",
            "A description cannot contain control characters.",
        ));
    }
    Ok(description.to_string())
}

/// Adds one of the organization's own modules (the Owner's).
pub async fn add_module(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    input: &ModuleInput,
) -> Result<custom_module::Model, ServiceError> {
    let name = parse_name("name", &input.name, "module")?;
    let description = parse_description(&input.description)?;
    let key_source = if input.key.trim().is_empty() {
        module::key_from_name(&name)
    } else {
        input.key.trim().to_string()
    };
    let key = module::parse_custom_key(&key_source).map_err(|m| ServiceError::invalid("key", m))?;
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    acting
        .authorize(&txn, Action::Use(Permission::ManageModules))
        .await?;
    let added = insert_module(&txn, acting, &key, &name, &description, now).await?;
    txn.commit().await?;
    Ok(added)
}

async fn insert_module<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    key: &str,
    name: &str,
    description: &str,
    now: i64,
) -> Result<custom_module::Model, ServiceError> {
    let taken = custom_module::Entity::find()
        .filter(custom_module::Column::OrgId.eq(acting.org_id.as_str()))
        .filter(custom_module::Column::ModuleKey.eq(key))
        .count(conn)
        .await?;
    if taken > 0 {
        return Err(ServiceError::invalid(
            "key",
            format!("The organization already has a module with the key {key}."),
        ));
    }
    let added = custom_module::ActiveModel {
        id: Set(super::new_id()),
        org_id: Set(acting.org_id.clone()),
        module_key: Set(key.to_string()),
        name: Set(name.to_string()),
        description: Set(description.to_string()),
        created_at: Set(now),
    }
    .insert(conn)
    .await?;
    audit::record(
        conn,
        &acting.actor,
        Entry::naming(
            &acting.org_id,
            AuditAction::ModuleAdded,
            "module",
            &added.id,
            &format!("{name} ({key})"),
        ),
        now,
    )
    .await?;
    Ok(added)
}

/// Removes one of the organization's own modules; the roles that gave a
/// level in it give none any more.
pub async fn remove_module(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    module_id: &str,
) -> Result<custom_module::Model, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    acting
        .authorize(&txn, Action::Use(Permission::ManageModules))
        .await?;
    let found = custom_module::Entity::find_by_id(module_id.to_string())
        .filter(custom_module::Column::OrgId.eq(acting.org_id.as_str()))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let role_ids: Vec<String> = custom_role::Entity::find()
        .filter(custom_role::Column::OrgId.eq(acting.org_id.as_str()))
        .all(&txn)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    custom_role_level::Entity::delete_many()
        .filter(custom_role_level::Column::RoleId.is_in(role_ids))
        .filter(custom_role_level::Column::ModuleKey.eq(found.module_key.as_str()))
        .exec(&txn)
        .await?;
    custom_module::Entity::delete_by_id(found.id.clone())
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry::naming(
            &acting.org_id,
            AuditAction::ModuleRemoved,
            "module",
            &found.id,
            &format!("{} ({})", found.name, found.module_key),
        )
        .as_deletion(),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(found)
}

/// A custom role with its levels and how many hold it.
#[derive(Clone, Debug)]
pub struct RoleDef {
    pub role: custom_role::Model,
    pub levels: Levels,
    pub holders: u64,
}

/// What a custom role is to be.
#[derive(Clone, Debug)]
pub struct RoleInput {
    pub name: String,
    pub description: String,
    pub scope: RoleScope,
    /// (module key, level) for every module the form offered.
    pub levels: Vec<(String, Level)>,
}

async fn levels_of<C: ConnectionTrait>(
    conn: &C,
    role_ids: &[String],
) -> anyhow::Result<HashMap<String, Levels>> {
    let rows = custom_role_level::Entity::find()
        .filter(custom_role_level::Column::RoleId.is_in(role_ids.iter().cloned()))
        .all(conn)
        .await
        .context("failed to read role levels")?;
    let mut out: HashMap<String, Levels> = HashMap::new();
    for row in rows {
        out.entry(row.role_id)
            .or_default()
            .raise(&row.module_key, row.level);
    }
    Ok(out)
}

async fn role_defs<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
) -> Result<Vec<RoleDef>, ServiceError> {
    let roles = custom_role::Entity::find()
        .filter(custom_role::Column::OrgId.eq(org_id))
        .order_by_asc(custom_role::Column::NameNormalized)
        .all(conn)
        .await?;
    let ids: Vec<String> = roles.iter().map(|r| r.id.clone()).collect();
    let mut levels = levels_of(conn, &ids).await?;
    let counts = conn
        .query_all_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT role_id, COUNT(*) FROM role_assignments WHERE org_id = $1 GROUP BY role_id",
            [org_id.into()],
        ))
        .await
        .context("failed to count role holders")?;
    let mut holders: HashMap<String, i64> = HashMap::new();
    for row in counts {
        let id: String = row.try_get_by_index(0).context("role_id")?;
        let count: i64 = row.try_get_by_index(1).context("count")?;
        holders.insert(id, count);
    }
    Ok(roles
        .into_iter()
        .map(|role| RoleDef {
            levels: levels.remove(&role.id).unwrap_or_default(),
            holders: holders
                .get(&role.id)
                .copied()
                .and_then(|n| u64::try_from(n).ok())
                .unwrap_or(0),
            role,
        })
        .collect())
}

/// The organization's custom roles; anyone who sees the settings may.
pub async fn list_roles(db: &Db, acting: &Acting) -> Result<Vec<RoleDef>, ServiceError> {
    let conn = db.read_in(acting.tenant()).await?;
    let conn = &conn;
    acting
        .authorize(conn, Action::Use(Permission::ViewSettings))
        .await?;
    role_defs(conn, &acting.org_id).await
}

/// The custom roles that may be held organization-wide or (when
/// `in_workspace`) in a workspace, as (id, name), for the forms that carry
/// them; the service granting them checks the ceiling.
pub async fn choices(
    db: &Db,
    org_id: &str,
    in_workspace: bool,
) -> Result<Vec<(String, String)>, ServiceError> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    Ok(custom_role::Entity::find()
        .filter(custom_role::Column::OrgId.eq(org_id))
        .order_by_asc(custom_role::Column::NameNormalized)
        .all(&conn)
        .await?
        .into_iter()
        .filter(|r| r.scope.allows(in_workspace))
        .map(|r| (r.id, r.name))
        .collect())
}

/// One custom role.
pub async fn get_role(db: &Db, acting: &Acting, role_id: &str) -> Result<RoleDef, ServiceError> {
    let conn = db.read_in(acting.tenant()).await?;
    let conn = &conn;
    acting
        .authorize(conn, Action::Use(Permission::ViewSettings))
        .await?;
    role_defs(conn, &acting.org_id)
        .await?
        .into_iter()
        .find(|d| d.role.id == role_id)
        .ok_or(ServiceError::NotFound)
}

/// The levels the actor holds organization-wide: the ceiling of what they
/// may define.
async fn held_org_wide<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
) -> Result<(Roles, Levels), ServiceError> {
    let role = acting.membership(conn).await?.role;
    let custom = acting.custom_levels(conn, None).await?;
    let roles = Roles::in_org(role).with_custom(&custom.org_wide, &custom.here);
    Ok((roles, module::org_role_levels(role).union(&custom.org_wide)))
}

/// Checks a role's name, description and levels against the
/// organization's modules; returns (name, description, levels).
async fn validate<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    input: &RoleInput,
    except: Option<&str>,
) -> Result<(String, String, Levels), ServiceError> {
    let name = parse_name("name", &input.name, "role")?;
    let normalized = name.to_lowercase();
    let builtin = [
        "owner",
        "admin",
        "member",
        "viewer",
        "editor",
        "workspace guest",
    ];
    if builtin.contains(&normalized.as_str()) {
        return Err(ServiceError::invalid(
            "name",
            format!("{name} is a built-in role; choose another name."),
        ));
    }
    let description = parse_description(&input.description)?;
    let known: BTreeSet<String> = modules(conn, org_id)
        .await?
        .into_iter()
        .map(|m| m.key)
        .collect();
    let mut levels = Levels::new();
    for (key, level) in &input.levels {
        if !known.contains(key) {
            return Err(ServiceError::invalid(
                "levels",
                format!("There is no module {key} in this organization."),
            ));
        }
        levels.raise(key, *level);
    }
    let clash = custom_role::Entity::find()
        .filter(custom_role::Column::OrgId.eq(org_id))
        .filter(custom_role::Column::NameNormalized.eq(normalized.as_str()))
        .one(conn)
        .await?
        .filter(|r| Some(r.id.as_str()) != except);
    if clash.is_some() {
        return Err(ServiceError::invalid(
            "name",
            format!("This organization already has a role called {name}."),
        ));
    }
    Ok((name, description, levels))
}

/// Says which modules a set of levels gives, for the audit log.
pub fn describe(levels: &Levels) -> String {
    let mut parts: Vec<String> = levels
        .explicit()
        .map(|(module, level)| format!("{module}: {}", level.label()))
        .collect();
    if levels.custom_floor() > Level::None {
        parts.push(format!(
            "every own module: {}",
            levels.custom_floor().label()
        ));
    }
    if parts.is_empty() {
        "no modules".to_string()
    } else {
        parts.join(", ")
    }
}

async fn write_levels<C: ConnectionTrait>(
    conn: &C,
    role_id: &str,
    levels: &Levels,
) -> Result<(), ServiceError> {
    custom_role_level::Entity::delete_many()
        .filter(custom_role_level::Column::RoleId.eq(role_id))
        .exec(conn)
        .await?;
    let rows: Vec<custom_role_level::ActiveModel> = levels
        .explicit()
        .map(|(module, level)| custom_role_level::ActiveModel {
            role_id: Set(role_id.to_string()),
            module_key: Set(module.to_string()),
            level: Set(level),
        })
        .collect();
    if !rows.is_empty() {
        custom_role_level::Entity::insert_many(rows)
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// Defines a custom role.
pub async fn create_role(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    input: &RoleInput,
) -> Result<custom_role::Model, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let created = insert_role(&txn, acting, input, now).await?;
    txn.commit().await?;
    Ok(created)
}

async fn insert_role<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    input: &RoleInput,
    now: i64,
) -> Result<custom_role::Model, ServiceError> {
    let (actor, held) = held_org_wide(conn, acting).await?;
    policy::authorize(actor, Action::Use(Permission::ManageRoles))?;
    let (name, description, levels) = validate(conn, &acting.org_id, input, None).await?;
    policy::authorize_custom_definition(actor, &held, &levels)?;
    let created = custom_role::ActiveModel {
        id: Set(super::new_id()),
        org_id: Set(acting.org_id.clone()),
        name_normalized: Set(name.to_lowercase()),
        name: Set(name),
        description: Set(description),
        scope: Set(input.scope),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(conn)
    .await?;
    write_levels(conn, &created.id, &levels).await?;
    audit::record(
        conn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::CustomRoleCreated,
            target_type: Some("role"),
            target_id: Some(&created.id),
            target_label: Some(&created.name),
            before: None,
            after: Some(describe(&levels)),
        },
        now,
    )
    .await?;
    Ok(created)
}

/// Defines a custom role from a template, adding the modules it names
/// that the organization lacks when the actor may add modules; otherwise
/// the levels in those modules are left out. Returns the role and the
/// names of the modules left out.
pub async fn create_from_template(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    template_key: &str,
) -> Result<(custom_role::Model, Vec<String>), ServiceError> {
    let template = module::template(template_key).ok_or(ServiceError::NotFound)?;
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let (actor, _) = held_org_wide(&txn, acting).await?;
    policy::authorize(actor, Action::Use(Permission::ManageRoles))?;
    let may_add_modules = policy::allows(actor, Action::Use(Permission::ManageModules));
    let existing: BTreeSet<String> = modules(&txn, &acting.org_id)
        .await?
        .into_iter()
        .map(|m| m.key)
        .collect();
    let mut left_out = Vec::new();
    for (key, name, description) in template.modules {
        if existing.contains(*key) {
            continue;
        }
        if may_add_modules {
            insert_module(&txn, acting, key, name, description, now).await?;
        } else {
            left_out.push((*name).to_string());
        }
    }
    let missing: BTreeSet<&str> = template
        .modules
        .iter()
        .filter(|(key, _, _)| !may_add_modules && !existing.contains(*key))
        .map(|(key, _, _)| *key)
        .collect();
    let input = RoleInput {
        name: template.name.to_string(),
        description: template.description.to_string(),
        scope: template.scope,
        levels: template
            .levels
            .iter()
            .filter(|(key, _)| !missing.contains(key))
            .map(|(key, level)| ((*key).to_string(), *level))
            .collect(),
    };
    let created = insert_role(&txn, acting, &input, now).await?;
    txn.commit().await?;
    Ok((created, left_out))
}

/// Loads one custom role of the organization (callers hold the
/// organization's write lock, which orders edits and grants).
async fn load_role<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    role_id: &str,
) -> Result<custom_role::Model, ServiceError> {
    custom_role::Entity::find_by_id(role_id.to_string())
        .filter(custom_role::Column::OrgId.eq(org_id))
        .one(conn)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// A custom role the actor is about to edit or delete, with its levels,
/// and the actor's roles and organization-wide levels: refused unless they
/// define roles and hold every level it gives now (one may not change a
/// role giving more than one holds, even to narrow it).
async fn role_to_change<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    role_id: &str,
) -> Result<(Roles, Levels, custom_role::Model, Levels), ServiceError> {
    let (actor, held) = held_org_wide(conn, acting).await?;
    policy::authorize(actor, Action::Use(Permission::ManageRoles))?;
    let found = load_role(conn, &acting.org_id, role_id).await?;
    let levels = levels_of(conn, std::slice::from_ref(&found.id))
        .await?
        .remove(&found.id)
        .unwrap_or_default();
    policy::authorize_custom_definition(actor, &held, &levels)?;
    Ok((actor, held, found, levels))
}

/// Changes a custom role's name, description, scope and levels. Those who
/// hold it have the new levels from their next request.
pub async fn update_role(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    role_id: &str,
    input: &RoleInput,
) -> Result<custom_role::Model, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let (actor, held, found, before) = role_to_change(&txn, acting, role_id).await?;
    let (name, description, levels) = validate(&txn, &acting.org_id, input, Some(role_id)).await?;
    policy::authorize_custom_definition(actor, &held, &levels)?;
    for (in_workspace, what) in [(false, "organization-wide"), (true, "in workspaces")] {
        if input.scope.allows(in_workspace) {
            continue;
        }
        let held_there = role_assignment::Entity::find()
            .filter(role_assignment::Column::RoleId.eq(found.id.as_str()))
            .filter(if in_workspace {
                role_assignment::Column::ScopeKey.ne("")
            } else {
                role_assignment::Column::ScopeKey.eq("")
            })
            .count(&txn)
            .await?;
        if held_there > 0 {
            return Err(ServiceError::invalid(
                "scope",
                format!(
                    "{held_there} people hold this role {what}; take it away there before \
                     changing where it may be held."
                ),
            ));
        }
    }
    let mut active: custom_role::ActiveModel = found.clone().into();
    active.name_normalized = Set(name.to_lowercase());
    active.name = Set(name);
    active.description = Set(description);
    active.scope = Set(input.scope);
    active.updated_at = Set(now);
    let updated = active.update(&txn).await?;
    write_levels(&txn, &found.id, &levels).await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::CustomRoleEdited,
            target_type: Some("role"),
            target_id: Some(&updated.id),
            target_label: Some(&updated.name),
            before: Some(describe(&before)),
            after: Some(describe(&levels)),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Deletes a custom role; those who hold it lose it.
pub async fn delete_role(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    role_id: &str,
) -> Result<custom_role::Model, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let (_, _, found, levels) = role_to_change(&txn, acting, role_id).await?;
    custom_role::Entity::delete_by_id(found.id.clone())
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::CustomRoleDeleted,
            target_type: Some("role"),
            target_id: Some(&found.id),
            target_label: Some(&found.name),
            before: Some(describe(&levels)),
            after: None,
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(found)
}

/// A custom role held by a member, with its name.
#[derive(Clone, Debug)]
struct Held {
    role_id: String,
    name: String,
    scope_key: String,
}

async fn held_by<C: ConnectionTrait>(conn: &C, membership_id: &str) -> anyhow::Result<Vec<Held>> {
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT a.role_id, r.name, a.scope_key FROM role_assignments a \
             JOIN custom_roles r ON r.id = a.role_id \
             WHERE a.membership_id = $1 ORDER BY r.name_normalized",
            [membership_id.into()],
        ))
        .await
        .context("failed to read held roles")?;
    rows.into_iter()
        .map(|row| {
            Ok(Held {
                role_id: row.try_get_by_index(0).context("role_id")?,
                name: row.try_get_by_index(1).context("name")?,
                scope_key: row.try_get_by_index(2).context("scope_key")?,
            })
        })
        .collect()
}

/// What one member holds in one place (the organization, or a workspace
/// with what the organization passes down), with the reasons.
async fn access_of<C: ConnectionTrait>(
    conn: &C,
    member: &membership_entity::Model,
    place: Option<&workspace::Model>,
    defs: &HashMap<String, Levels>,
    held: &[Held],
) -> anyhow::Result<module::Access> {
    let mut sources = vec![Source::base(member.role, place.is_some())];
    if let Some(ws) = place {
        let direct = super::acting::direct_role(conn, &ws.id, &member.user_id).await?;
        if let Some(direct) = direct {
            sources.push(Source::direct(direct, &ws.title));
        }
    }
    for h in held {
        let levels = defs.get(&h.role_id).cloned().unwrap_or_default();
        if h.scope_key.is_empty() {
            sources.push(Source::custom(&h.name, None, levels));
        } else if place.is_some_and(|ws| ws.id == h.scope_key) {
            sources.push(Source::custom(
                &h.name,
                place.map(|w| w.title.as_str()),
                levels,
            ));
        }
    }
    Ok(module::Access::new(sources))
}

/// One module's level for a member, and why.
#[derive(Clone, Debug)]
pub struct ModuleAccess {
    pub module: ModuleInfo,
    pub level: Level,
    pub reasons: Vec<String>,
}

/// What a member holds in one place, module by module.
#[derive(Clone, Debug)]
pub struct MemberAccess {
    pub membership: membership_entity::Model,
    pub workspace: Option<workspace::Model>,
    pub modules: Vec<ModuleAccess>,
}

fn module_rows(access: &module::Access, all: &[ModuleInfo]) -> Vec<ModuleAccess> {
    all.iter()
        .map(|m| {
            let level = access.module(&m.key);
            ModuleAccess {
                module: m.clone(),
                level: level.level,
                reasons: level.reasons,
            }
        })
        .collect()
}

/// Loads a workspace of the organization the actor may see; `NotFound`
/// otherwise.
async fn visible_workspace<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    workspace_id: &str,
) -> Result<workspace::Model, ServiceError> {
    let (found, roles) = acting.in_workspace(conn, workspace_id).await?;
    refuse_unseen(policy::authorize(
        roles,
        Action::InWorkspace(WsPermission::View),
    ))?;
    Ok(found)
}

/// Every module's level for one member, organization-wide or in one
/// workspace, with the reasons. Needs the right to see members.
pub async fn member_access(
    db: &Db,
    acting: &Acting,
    member_id: &str,
    workspace_id: Option<&str>,
) -> Result<MemberAccess, ServiceError> {
    let conn = db.read_in(acting.tenant()).await?;
    let conn = &conn;
    acting
        .authorize(conn, Action::Use(Permission::ViewMembers))
        .await?;
    let member = membership(conn, &acting.org_id, member_id).await?;
    let place = match workspace_id {
        Some(id) => Some(visible_workspace(conn, acting, id).await?),
        None => None,
    };
    let all = modules(conn, &acting.org_id).await?;
    let held = held_by(conn, &member.id).await?;
    let ids: Vec<String> = held.iter().map(|h| h.role_id.clone()).collect();
    let defs = levels_of(conn, &ids).await?;
    let access = access_of(conn, &member, place.as_ref(), &defs, &held).await?;
    Ok(MemberAccess {
        modules: module_rows(&access, &all),
        membership: member,
        workspace: place,
    })
}

/// One question of the host product: does this member hold at least
/// `level` in `module` (in `workspace_id`, or organization-wide)?
#[derive(Clone, Debug)]
pub struct Check {
    pub member_id: String,
    pub module: String,
    pub level: Level,
    pub workspace_id: Option<String>,
}

/// The answer to one [`Check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    /// The level held (None when the member or place is unknown).
    pub level: Level,
    pub reason: String,
}

/// Answers a batch of checks. An unknown member, workspace or module is a
/// refusal with its reason, not an error: the host product asked about
/// something that is not (or no longer) there.
pub async fn check(
    db: &Db,
    acting: &Acting,
    checks: &[Check],
) -> Result<Vec<Verdict>, ServiceError> {
    let conn = db.read_in(acting.tenant()).await?;
    // One snapshot for the whole batch.
    let txn = conn.begin().await?;
    acting
        .authorize(&txn, Action::Use(Permission::ViewMembers))
        .await?;
    let all = modules(&txn, &acting.org_id).await?;
    let mut members: HashMap<String, Option<(membership_entity::Model, Vec<Held>)>> =
        HashMap::new();
    let mut places: HashMap<String, Option<workspace::Model>> = HashMap::new();
    let mut answers = Vec::with_capacity(checks.len());
    for c in checks {
        let deny = |reason: &str| Verdict {
            allowed: false,
            level: Level::None,
            reason: reason.to_string(),
        };
        if !all.iter().any(|m| m.key == c.module) {
            answers.push(deny("There is no such module in this organization."));
            continue;
        }
        if !members.contains_key(&c.member_id) {
            let found = match membership(&txn, &acting.org_id, &c.member_id).await {
                Ok(m) => {
                    let held = held_by(&txn, &m.id).await?;
                    Some((m, held))
                }
                Err(ServiceError::NotFound) => None,
                Err(other) => return Err(other),
            };
            members.insert(c.member_id.clone(), found);
        }
        let Some(Some((member, held))) = members.get(&c.member_id) else {
            answers.push(deny("Not a member of this organization."));
            continue;
        };
        let place = match &c.workspace_id {
            None => None,
            Some(ws) => {
                if !places.contains_key(ws) {
                    let found = match visible_workspace(&txn, acting, ws).await {
                        Ok(w) => Some(w),
                        Err(ServiceError::NotFound) => None,
                        Err(other) => return Err(other),
                    };
                    places.insert(ws.clone(), found);
                }
                match places.get(ws) {
                    Some(Some(w)) => Some(w),
                    _ => {
                        answers.push(deny("There is no such workspace in this organization."));
                        continue;
                    }
                }
            }
        };
        let ids: Vec<String> = held.iter().map(|h| h.role_id.clone()).collect();
        let defs = levels_of(&txn, &ids).await?;
        let access = access_of(&txn, member, place, &defs, held).await?;
        let got = access.module(&c.module);
        let allowed = got.level >= c.level;
        let reason = if got.level == Level::None {
            "Holds no role that gives this module.".to_string()
        } else {
            format!("{} — {}", got.level.label(), got.reasons.join(", "))
        };
        answers.push(Verdict {
            allowed,
            level: got.level,
            reason,
        });
    }
    txn.commit().await?;
    Ok(answers)
}

/// One place of the Manage roles panel: the organization or a workspace.
#[derive(Clone, Debug)]
pub struct PanelPlace {
    /// `None` for the organization.
    pub workspace: Option<workspace::Model>,
    /// Every custom role that may be held here, whether held, and whether
    /// the actor may change that.
    pub roles: Vec<PanelRole>,
    pub modules: Vec<ModuleAccess>,
    /// Whether the actor may change anything here.
    pub editable: bool,
}

#[derive(Clone, Debug)]
pub struct PanelRole {
    pub id: String,
    pub name: String,
    pub held: bool,
    /// Why the actor may not grant or take it away, if they may not.
    pub refused: Option<policy::Denied>,
}

/// A member whose custom roles the actor may see and manage: anyone, for
/// those who see the members; for someone who does not (a workspace Admin
/// without an organization role), only people holding a direct or custom
/// role in a workspace whose people the actor manages (`place`, when
/// given, must be one). `NotFound` otherwise. Returns the member and
/// whether the actor sees the members.
async fn reachable_member<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    member_id: &str,
    place: Option<&str>,
) -> Result<(membership_entity::Model, bool), ServiceError> {
    let roles = acting.in_org(conn).await?;
    let member = membership(conn, &acting.org_id, member_id).await?;
    if policy::allows(roles, Action::Use(Permission::ViewMembers)) {
        return Ok((member, true));
    }
    let mut workspaces: BTreeSet<String> = crate::entities::workspace_member::Entity::find()
        .filter(crate::entities::workspace_member::Column::OrgId.eq(acting.org_id.as_str()))
        .filter(crate::entities::workspace_member::Column::UserId.eq(member.user_id.as_str()))
        .all(conn)
        .await?
        .into_iter()
        .map(|row| row.workspace_id)
        .collect();
    workspaces.extend(
        held_by(conn, &member.id)
            .await?
            .into_iter()
            .filter(|h| !h.scope_key.is_empty())
            .map(|h| h.scope_key),
    );
    for ws in workspaces
        .iter()
        .filter(|ws| place.is_none_or(|p| p == ws.as_str()))
    {
        let (_, here) = acting.in_workspace(conn, ws).await?;
        if policy::allows(here, Action::InWorkspace(WsPermission::ManageMembers)) {
            return Ok((member, false));
        }
    }
    Err(ServiceError::NotFound)
}

/// Refuses changes to the custom roles of someone above the actor where
/// they are changed: organization-wide, a higher organization role; in a
/// workspace, a higher role there (inherited or direct).
async fn target_within<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    actor: Roles,
    member: &membership_entity::Model,
    place: Option<&workspace::Model>,
) -> Result<(), policy::Denied> {
    if member.id == acting.membership_id {
        return Ok(());
    }
    let above = match place {
        None => member.role > actor.org,
        Some(ws) => {
            let direct = super::acting::direct_role(conn, &ws.id, &member.user_id)
                .await
                .unwrap_or(None);
            let theirs = crate::domain::workspace::Access::new(member.role, direct).top_role();
            theirs > actor.workspace().top_role()
        }
    };
    if above {
        Err(policy::Denied::TargetAboveOwnRole)
    } else {
        Ok(())
    }
}

/// The Manage roles panel of one member: the organization (for those who
/// see the members) and every workspace the actor sees.
pub async fn panel(
    db: &Db,
    acting: &Acting,
    member_id: &str,
) -> Result<(membership_entity::Model, Vec<PanelPlace>), ServiceError> {
    let conn = db.read_in(acting.tenant()).await?;
    let conn = &conn;
    let (member, sees_members) = reachable_member(conn, acting, member_id, None).await?;
    let all = modules(conn, &acting.org_id).await?;
    let defs_list = role_defs(conn, &acting.org_id).await?;
    let defs: HashMap<String, Levels> = defs_list
        .iter()
        .map(|d| (d.role.id.clone(), d.levels.clone()))
        .collect();
    let held = held_by(conn, &member.id).await?;
    let workspaces = workspace::Entity::find()
        .filter(workspace::Column::OrgId.eq(acting.org_id.as_str()))
        .order_by_asc(workspace::Column::Title)
        .all(conn)
        .await?;
    let mut places = Vec::new();
    let mut candidates: Vec<Option<workspace::Model>> = Vec::new();
    if sees_members {
        candidates.push(None);
    }
    candidates.extend(workspaces.into_iter().map(Some));
    for place in candidates {
        let (actor, actor_held) = match &place {
            None => held_org_wide(conn, acting).await?,
            Some(ws) => {
                let (_, roles) = acting.in_workspace(conn, &ws.id).await?;
                if !policy::allows(roles, Action::InWorkspace(WsPermission::View)) {
                    continue;
                }
                (roles, actor_levels_in(conn, acting, ws).await?)
            }
        };
        let scope_key = place.as_ref().map(|w| w.id.clone()).unwrap_or_default();
        let target = target_within(conn, acting, actor, &member, place.as_ref()).await;
        let roles: Vec<PanelRole> = defs_list
            .iter()
            .filter(|d| d.role.scope.allows(place.is_some()))
            .map(|d| PanelRole {
                id: d.role.id.clone(),
                name: d.role.name.clone(),
                held: held
                    .iter()
                    .any(|h| h.role_id == d.role.id && h.scope_key == scope_key),
                refused: target
                    .and_then(|()| {
                        policy::authorize_custom_grant(
                            actor,
                            place.is_some(),
                            &actor_held,
                            &d.levels,
                        )
                    })
                    .err(),
            })
            .collect();
        let access = access_of(conn, &member, place.as_ref(), &defs, &held).await?;
        places.push(PanelPlace {
            editable: roles.iter().any(|r| r.refused.is_none()),
            roles,
            modules: module_rows(&access, &all),
            workspace: place,
        });
    }
    Ok((member, places))
}

/// The levels the actor holds in a workspace: everything passed down,
/// held directly, and custom roles there or organization-wide.
async fn actor_levels_in<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    ws: &workspace::Model,
) -> Result<Levels, ServiceError> {
    let org_role = acting.membership(conn).await?.role;
    let direct = acting.direct_role_in(conn, &ws.id).await?;
    let custom = acting.custom_levels(conn, Some(&ws.id)).await?;
    let mut levels = Source::base(org_role, true).levels.union(&custom.here);
    if let Some(direct) = direct {
        levels = levels.union(&module::workspace_role_levels(direct));
    }
    Ok(levels)
}

/// What changed when a member's custom roles in one place were set.
#[derive(Clone, Debug, Default)]
pub struct SetOutcome {
    pub granted: Vec<String>,
    pub revoked: Vec<String>,
}

/// Sets the custom roles a member holds in one place (organization-wide
/// when `workspace_id` is `None`) to exactly `role_ids`. Each role granted
/// or taken away is checked against the actor's ceiling there and
/// audited with the member's levels there before and after.
pub async fn set_roles(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    member_id: &str,
    workspace_id: Option<&str>,
    role_ids: &[String],
) -> Result<SetOutcome, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let (member, _) = reachable_member(&txn, acting, member_id, workspace_id).await?;
    let place = match workspace_id {
        Some(id) => Some(visible_workspace(&txn, acting, id).await?),
        None => None,
    };
    let (actor, actor_held) = match &place {
        None => held_org_wide(&txn, acting).await?,
        Some(ws) => {
            let (_, roles) = acting.in_workspace(&txn, &ws.id).await?;
            (roles, actor_levels_in(&txn, acting, ws).await?)
        }
    };
    let scope_key = place.as_ref().map(|w| w.id.clone()).unwrap_or_default();
    let defs_list = role_defs(&txn, &acting.org_id).await?;
    let target = target_within(&txn, acting, actor, &member, place.as_ref()).await;
    let wanted: BTreeSet<&str> = role_ids.iter().map(String::as_str).collect();
    for id in &wanted {
        let def = defs_list.iter().find(|d| d.role.id == *id).ok_or_else(|| {
            ServiceError::invalid("roles", "That role no longer exists. Reload and try again.")
        })?;
        if !def.role.scope.allows(place.is_some()) {
            return Err(ServiceError::invalid(
                "roles",
                format!(
                    "{} cannot be held {}.",
                    def.role.name,
                    match place {
                        Some(_) => "in a workspace",
                        None => "organization-wide",
                    }
                ),
            ));
        }
    }
    let defs: HashMap<String, Levels> = defs_list
        .iter()
        .map(|d| (d.role.id.clone(), d.levels.clone()))
        .collect();
    let held = held_by(&txn, &member.id).await?;
    let here: BTreeSet<String> = held
        .iter()
        .filter(|h| h.scope_key == scope_key)
        .map(|h| h.role_id.clone())
        .collect();
    let mut outcome = SetOutcome::default();
    let place_name = place.as_ref().map(|w| w.title.clone());
    for def in &defs_list {
        let id = def.role.id.as_str();
        let want = wanted.contains(id);
        let has = here.contains(id);
        if want == has {
            continue;
        }
        target?;
        policy::authorize_custom_grant(actor, place.is_some(), &actor_held, &def.levels)?;
        let current = held_by(&txn, &member.id).await?;
        let before = access_of(&txn, &member, place.as_ref(), &defs, &current)
            .await?
            .levels();
        if want {
            role_assignment::ActiveModel {
                id: Set(super::new_id()),
                org_id: Set(acting.org_id.clone()),
                role_id: Set(id.to_string()),
                membership_id: Set(member.id.clone()),
                workspace_id: Set(place.as_ref().map(|w| w.id.clone())),
                scope_key: Set(scope_key.clone()),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?;
            outcome.granted.push(def.role.name.clone());
        } else {
            role_assignment::Entity::delete_many()
                .filter(role_assignment::Column::MembershipId.eq(member.id.as_str()))
                .filter(role_assignment::Column::RoleId.eq(id))
                .filter(role_assignment::Column::ScopeKey.eq(scope_key.as_str()))
                .exec(&txn)
                .await?;
            outcome.revoked.push(def.role.name.clone());
        }
        let current = held_by(&txn, &member.id).await?;
        let after = access_of(&txn, &member, place.as_ref(), &defs, &current)
            .await?
            .levels();
        let label = match &place_name {
            Some(ws) => format!("{} — {} ({ws})", member.email_normalized, def.role.name),
            None => format!("{} — {}", member.email_normalized, def.role.name),
        };
        audit::record(
            &txn,
            &acting.actor,
            Entry {
                org_id: Some(&acting.org_id),
                action: if want {
                    AuditAction::CustomRoleGranted
                } else {
                    AuditAction::CustomRoleRevoked
                },
                target_type: Some("member"),
                target_id: Some(&member.user_id),
                target_label: Some(&label),
                before: Some(describe(&before)),
                after: Some(describe(&after)),
            },
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(outcome)
}

/// Checks the custom roles an invitation into `ws` is to carry: each is
/// the organization's, may be held in a workspace, and the inviter may
/// grant it there.
pub(crate) async fn check_carried<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    ws: &workspace::Model,
    roles: Roles,
    role_ids: &[String],
) -> Result<(), ServiceError> {
    if role_ids.is_empty() {
        return Ok(());
    }
    let defs = role_defs(conn, &acting.org_id).await?;
    let held = actor_levels_in(conn, acting, ws).await?;
    for id in role_ids {
        let def = defs.iter().find(|d| &d.role.id == id).ok_or_else(|| {
            ServiceError::invalid(
                "custom_roles",
                "That role no longer exists. Reload and try again.",
            )
        })?;
        if !def.role.scope.allows(true) {
            return Err(ServiceError::invalid(
                "custom_roles",
                format!("{} cannot be held in a workspace.", def.role.name),
            ));
        }
        policy::authorize_custom_grant(roles, true, &held, &def.levels)?;
    }
    Ok(())
}

/// Records the custom roles an invitation carries (replacing any).
pub(crate) async fn carry<C: ConnectionTrait>(
    conn: &C,
    invitation_id: &str,
    role_ids: &[String],
) -> Result<(), ServiceError> {
    invitation_role::Entity::delete_many()
        .filter(invitation_role::Column::InvitationId.eq(invitation_id))
        .exec(conn)
        .await?;
    let unique: BTreeSet<&String> = role_ids.iter().collect();
    let rows: Vec<invitation_role::ActiveModel> = unique
        .into_iter()
        .map(|id| invitation_role::ActiveModel {
            invitation_id: Set(invitation_id.to_string()),
            role_id: Set(id.clone()),
        })
        .collect();
    if !rows.is_empty() {
        invitation_role::Entity::insert_many(rows)
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// The module levels the inviter of `invitation` holds in `workspace_id`
/// now: a person's roles there, or an organization key's role.
async fn inviter_levels<C: ConnectionTrait>(
    conn: &C,
    invitation: &invitation::Model,
    workspace_id: &str,
    now: i64,
) -> Result<Option<Levels>, ServiceError> {
    if let Some(user_id) = &invitation.invited_by {
        let Some(inviter) = membership_entity::Entity::find()
            .filter(membership_entity::Column::OrgId.eq(invitation.org_id.as_str()))
            .filter(membership_entity::Column::UserId.eq(user_id.as_str()))
            .one(conn)
            .await?
        else {
            return Ok(None);
        };
        let direct = super::acting::direct_role(conn, workspace_id, user_id).await?;
        let custom = super::acting::custom_levels(conn, &inviter.id, Some(workspace_id)).await?;
        let mut levels = Source::base(inviter.role, true).levels.union(&custom.here);
        if let Some(direct) = direct {
            levels = levels.union(&module::workspace_role_levels(direct));
        }
        return Ok(Some(levels));
    }
    if let Some(key_id) = &invitation.invited_by_key_id {
        let Some(role) = super::api_keys::live_role(conn, &invitation.org_id, key_id, now).await?
        else {
            return Ok(None);
        };
        let limited_to = crate::entities::api_key::Entity::find_by_id(key_id.clone())
            .one(conn)
            .await?
            .and_then(|k| k.workspace_id);
        // A key limited to one workspace holds there only the workspace
        // role its role gives, and nothing elsewhere.
        let key = super::acting::OrgKey::new(key_id.clone(), role, limited_to);
        let mut levels = Source::base(key.org_role(), true).levels;
        if let Some(direct) = key.direct_role(workspace_id) {
            levels = levels.union(&module::workspace_role_levels(direct));
        }
        return Ok(Some(levels));
    }
    Ok(None)
}

/// Grants, in the workspace, the custom roles an accepted invitation
/// carried: those that still exist, may be held in a workspace, and give
/// nothing beyond what the inviter holds there now.
pub(crate) async fn grant_carried<C: ConnectionTrait>(
    conn: &C,
    invitation: &invitation::Model,
    membership_id: &str,
    person_id: &str,
    workspace_id: &str,
    now: i64,
) -> Result<(), ServiceError> {
    let carried: Vec<String> = invitation_role::Entity::find()
        .filter(invitation_role::Column::InvitationId.eq(invitation.id.as_str()))
        .all(conn)
        .await?
        .into_iter()
        .map(|r| r.role_id)
        .collect();
    if carried.is_empty() {
        return Ok(());
    }
    let Some(ceiling) = inviter_levels(conn, invitation, workspace_id, now).await? else {
        return Ok(());
    };
    let defs = role_defs(conn, &invitation.org_id).await?;
    for def in defs.iter().filter(|d| carried.contains(&d.role.id)) {
        if !def.role.scope.allows(true) || !def.levels.within(&ceiling) {
            continue;
        }
        let already = role_assignment::Entity::find()
            .filter(role_assignment::Column::MembershipId.eq(membership_id))
            .filter(role_assignment::Column::RoleId.eq(def.role.id.as_str()))
            .filter(role_assignment::Column::ScopeKey.eq(workspace_id))
            .count(conn)
            .await?;
        if already > 0 {
            continue;
        }
        role_assignment::ActiveModel {
            id: Set(super::new_id()),
            org_id: Set(invitation.org_id.clone()),
            role_id: Set(def.role.id.clone()),
            membership_id: Set(membership_id.to_string()),
            workspace_id: Set(Some(workspace_id.to_string())),
            scope_key: Set(workspace_id.to_string()),
            created_at: Set(now),
        }
        .insert(conn)
        .await?;
        // In the inviter's name: the grant is theirs, made at acceptance.
        let inviter = audit::Actor {
            user_id: invitation.invited_by.clone(),
            label: invitation.invited_by_name.clone(),
            address: None,
        };
        let label = format!(
            "{} — {} (invited)",
            invitation.email_normalized, def.role.name
        );
        audit::record(
            conn,
            &inviter,
            Entry {
                org_id: Some(&invitation.org_id),
                action: AuditAction::CustomRoleGranted,
                target_type: Some("member"),
                target_id: Some(person_id),
                target_label: Some(&label),
                before: None,
                after: Some(describe(&def.levels)),
            },
            now,
        )
        .await?;
    }
    Ok(())
}
