//! Who is acting, in which organization, and with what roles. Every use
//! case loads the actor's roles here, inside its own transaction, and
//! hands them to `domain::policy`: a role changed a moment ago counts.

use anyhow::Context;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Statement};

use super::audit::Actor;
use super::error::ServiceError;
use crate::clock::Clock;
use crate::db::{Db, Tenant};
use crate::domain::module::{Level, Levels};
use crate::domain::policy::{self, Action, Roles};
use crate::domain::product::Grant;
use crate::domain::role::OrgRole;
use crate::domain::workspace::WorkspaceRole;
use crate::entities::{membership, product, product_grant, user, workspace, workspace_member};

/// Who is acting, in which organization, as loaded for this request.
///
/// A person acts through their membership, whether they came with the
/// session cookie or with a personal API key. An organization API key has
/// no account: `user_id` and `membership_id` are empty (they match no row),
/// and its role comes from the key ([`OrgKey`]).
#[derive(Clone, Debug)]
pub struct Acting {
    pub org_id: String,
    pub user_id: String,
    pub membership_id: String,
    pub actor: Actor,
    /// Set when an organization API key acts.
    pub org_key: Option<OrgKey>,
}

/// An organization API key acting with its own role.
#[derive(Clone, Debug)]
pub struct OrgKey {
    pub id: String,
    pub role: OrgRole,
    /// The workspace a key limited to one acts in, and its role there.
    pub workspace: Option<(String, WorkspaceRole)>,
}

impl OrgKey {
    /// A key limited to one workspace stands as a workspace guest there,
    /// with the workspace role its organization role would give
    /// (Admin → Admin, Member → Editor, Viewer → Viewer); any other key
    /// acts with its role in the whole organization.
    pub fn new(id: String, role: OrgRole, workspace_id: Option<String>) -> Self {
        let workspace =
            workspace_id.and_then(|ws| WorkspaceRole::inherited_from(role).map(|r| (ws, r)));
        OrgKey {
            id,
            role,
            workspace,
        }
    }

    /// The organization role the key acts with.
    pub fn org_role(&self) -> OrgRole {
        match self.workspace {
            Some(_) => OrgRole::None,
            None => self.role,
        }
    }

    /// The key's direct role in `workspace_id`.
    pub fn direct_role(&self, workspace_id: &str) -> Option<WorkspaceRole> {
        self.workspace
            .as_ref()
            .filter(|(ws, _)| ws == workspace_id)
            .map(|(_, role)| *role)
    }
}

impl Acting {
    /// The rows this actor's transactions may touch: the organization's,
    /// and the acting person's own.
    pub fn tenant(&self) -> Tenant<'_> {
        Tenant::Org {
            org_id: &self.org_id,
            person: self.person(),
        }
    }

    /// The account acting, unless an organization key acts.
    pub fn person(&self) -> Option<&str> {
        match self.org_key {
            Some(_) => None,
            None => Some(&self.user_id),
        }
    }

    /// The actor's membership as of now. An organization key stands as a
    /// member with the key's role, no account and no restriction.
    pub(crate) async fn membership<C: ConnectionTrait>(
        &self,
        conn: &C,
    ) -> Result<membership::Model, ServiceError> {
        match &self.org_key {
            Some(key) => Ok(membership::Model {
                id: String::new(),
                org_id: self.org_id.clone(),
                user_id: String::new(),
                role: key.org_role(),
                sort_name: String::new(),
                email_normalized: String::new(),
                created_at: 0,
                last_active_at: 0,
                products_restricted: false,
            }),
            None => membership(conn, &self.org_id, &self.membership_id).await,
        }
    }

    /// The actor's roles for an action on the organization, custom roles
    /// held organization-wide included.
    pub(crate) async fn in_org<C: ConnectionTrait>(&self, conn: &C) -> Result<Roles, ServiceError> {
        let role = self.membership(conn).await?.role;
        let custom = self.custom_levels(conn, None).await?;
        Ok(Roles::in_org(role).with_custom(&custom.org_wide, &custom.here))
    }

    /// The levels of the custom roles the actor holds organization-wide
    /// and in `workspace_id` (an organization key holds none).
    pub(crate) async fn custom_levels<C: ConnectionTrait>(
        &self,
        conn: &C,
        workspace_id: Option<&str>,
    ) -> anyhow::Result<CustomLevels> {
        match &self.org_key {
            Some(_) => Ok(CustomLevels::default()),
            None => custom_levels(conn, &self.membership_id, workspace_id).await,
        }
    }

    /// Refuses unless the policy allows `action` on the organization;
    /// returns the actor's roles.
    pub(crate) async fn authorize<C: ConnectionTrait>(
        &self,
        conn: &C,
        action: Action,
    ) -> Result<Roles, ServiceError> {
        let roles = self.in_org(conn).await?;
        policy::authorize(roles, action)?;
        Ok(roles)
    }

    /// A workspace of the organization and the actor's roles in it.
    /// `NotFound` for another organization's workspace as for none.
    pub(crate) async fn in_workspace<C: ConnectionTrait>(
        &self,
        conn: &C,
        workspace_id: &str,
    ) -> Result<(workspace::Model, Roles), ServiceError> {
        let found = workspace::Entity::find_by_id(workspace_id.to_string())
            .filter(workspace::Column::OrgId.eq(self.org_id.as_str()))
            .one(conn)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let org = self.membership(conn).await?.role;
        let direct = self.direct_role_in(conn, workspace_id).await?;
        let custom = self.custom_levels(conn, Some(workspace_id)).await?;
        let roles = Roles::in_workspace(org, direct).with_custom(&custom.org_wide, &custom.here);
        Ok((found, roles))
    }

    /// The actor's direct role in a workspace.
    pub(crate) async fn direct_role_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        workspace_id: &str,
    ) -> anyhow::Result<Option<WorkspaceRole>> {
        match &self.org_key {
            Some(key) => Ok(key.direct_role(workspace_id)),
            None => direct_role(conn, workspace_id, &self.user_id).await,
        }
    }

    /// The actor's roles on one product.
    pub(crate) async fn product_roles<C: ConnectionTrait>(
        &self,
        conn: &C,
        found: &product::Model,
    ) -> Result<Roles, ServiceError> {
        let member = self.membership(conn).await?;
        match &self.org_key {
            Some(key) => Ok(Roles::on_product(
                key.org_role(),
                key.direct_role(&found.workspace_id),
                false,
                None,
            )),
            None => Ok(product_roles(conn, &member, found).await?),
        }
    }

    /// The workspace and the actor's roles there, once the policy allows
    /// `action` in it.
    pub(crate) async fn authorize_in_workspace<C: ConnectionTrait>(
        &self,
        conn: &C,
        workspace_id: &str,
        action: Action,
    ) -> Result<(workspace::Model, Roles), ServiceError> {
        let (found, roles) = self.in_workspace(conn, workspace_id).await?;
        refuse_unseen(policy::authorize(roles, action))?;
        Ok((found, roles))
    }

    /// Re-checks the acting person's password before a grave change,
    /// under the sign-in limits of their account.
    pub(crate) async fn recheck_password(
        &self,
        db: &Db,
        clock: &Clock,
        user: &user::Model,
        attempt: &str,
    ) -> Result<(), ServiceError> {
        use super::accounts::Checked;
        let address = self.actor.address.as_deref();
        match super::accounts::check_password(db, clock, user, attempt, address).await? {
            Checked::Matched => Ok(()),
            Checked::Wrong => Err(ServiceError::WrongPassword),
            Checked::RateLimited => Err(ServiceError::TooManyAttempts),
        }
    }
}

/// A refusal, with "you may not see it" answered as "it does not exist".
pub(crate) fn refuse_unseen(decision: Result<(), policy::Denied>) -> Result<(), ServiceError> {
    match decision {
        Ok(()) => Ok(()),
        Err(denied) if denied.is_invisible() => Err(ServiceError::NotFound),
        Err(denied) => Err(ServiceError::Denied(denied)),
    }
}

/// One membership of the organization, by id; `NotFound` for another
/// organization's.
pub(crate) async fn membership<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    membership_id: &str,
) -> Result<membership::Model, ServiceError> {
    membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org_id))
        .filter(membership::Column::Id.eq(membership_id))
        .one(conn)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The organization role of someone who is not the actor (an inviter whose
/// invitation is being accepted), if they still belong.
pub(crate) async fn org_role_of<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    user_id: &str,
) -> Result<Option<OrgRole>, sea_orm::DbErr> {
    Ok(membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org_id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(conn)
        .await?
        .map(|m| m.role))
}

/// A person's direct role in a workspace.
pub(crate) async fn direct_role<C: ConnectionTrait>(
    conn: &C,
    workspace_id: &str,
    user_id: &str,
) -> anyhow::Result<Option<WorkspaceRole>> {
    Ok(workspace_member::Entity::find()
        .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
        .filter(workspace_member::Column::UserId.eq(user_id))
        .one(conn)
        .await
        .context("failed to read a workspace role")?
        .map(|m| m.role))
}

/// What a membership was granted on one product.
pub(crate) async fn grant_of<C: ConnectionTrait>(
    conn: &C,
    membership_id: &str,
    product_id: &str,
) -> anyhow::Result<Option<Grant>> {
    Ok(
        product_grant::Entity::find_by_id((membership_id.to_string(), product_id.to_string()))
            .one(conn)
            .await
            .context("failed to read a product grant")?
            .map(|g| g.access),
    )
}

/// The module levels of the custom roles one member holds.
#[derive(Clone, Debug, Default)]
pub(crate) struct CustomLevels {
    /// Of those held organization-wide.
    pub org_wide: Levels,
    /// Of those held organization-wide and in the workspace asked about.
    pub here: Levels,
}

impl CustomLevels {
    /// Of custom roles held organization-wide, as (module, level) pairs.
    pub(crate) fn org_wide(pairs: &[(String, String)]) -> Self {
        let mut levels = CustomLevels::default();
        for (module, level) in pairs {
            let level = Level::parse(level).unwrap_or(Level::None);
            levels.org_wide.raise(module, level);
            levels.here.raise(module, level);
        }
        levels
    }
}

/// The levels of the custom roles `membership_id` holds organization-wide
/// and, when given, in `workspace_id`: one query.
pub(crate) async fn custom_levels<C: ConnectionTrait>(
    conn: &C,
    membership_id: &str,
    workspace_id: Option<&str>,
) -> anyhow::Result<CustomLevels> {
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT a.scope_key, l.module_key, l.level FROM role_assignments a \
             JOIN custom_role_levels l ON l.role_id = a.role_id \
             WHERE a.membership_id = $1 AND a.scope_key IN ('', $2)",
            [membership_id.into(), workspace_id.unwrap_or("").into()],
        ))
        .await
        .context("failed to read custom roles")?;
    let mut levels = CustomLevels::default();
    for row in rows {
        let scope: String = row.try_get_by_index(0).context("scope_key")?;
        let module: String = row.try_get_by_index(1).context("module_key")?;
        let level: String = row.try_get_by_index(2).context("level")?;
        let level = Level::parse(&level).unwrap_or(Level::None);
        if scope.is_empty() {
            levels.org_wide.raise(&module, level);
        }
        levels.here.raise(&module, level);
    }
    Ok(levels)
}

/// The roles of a member on one product: their organization role, their
/// direct role in its workspace, their custom roles, their restriction and
/// grant.
pub(crate) async fn product_roles<C: ConnectionTrait>(
    conn: &C,
    member: &membership::Model,
    found: &product::Model,
) -> anyhow::Result<Roles> {
    let direct = direct_role(conn, &found.workspace_id, &member.user_id).await?;
    let custom = custom_levels(conn, &member.id, Some(&found.workspace_id)).await?;
    let restricted = crate::domain::product::is_restricted(member.role, member.products_restricted);
    let grant = if restricted {
        grant_of(conn, &member.id, &found.id).await?
    } else {
        None
    };
    Ok(
        Roles::on_product(member.role, direct, member.products_restricted, grant)
            .with_custom(&custom.org_wide, &custom.here),
    )
}
