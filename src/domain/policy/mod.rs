//! The one answer to "may this actor do this here?", for the
//! organization, a workspace and a product. Every service asks it, inside
//! its transaction, before it writes; views show what it allows through
//! the capability types below, never through rules of their own.
//!
//! An actor is what [`Roles`] says it holds where it acts: its
//! organization role, its direct role in the workspace in question, and
//! its product restriction and grant. Who or what acts (a person, or an
//! API key carrying a role no higher than its creator's) is the caller's
//! business: the policy never asks.
//!
//! A newcomer's three questions each have one match arm in [`authorize`]:
//! who may change whose role (`ChangeRole`, `SetWorkspaceRole`), who may
//! move a workspace (`MoveWorkspace`), who may edit this product
//! (`OnProduct`).

pub mod table;

use super::module::{self, Levels};
use super::permission::{Permission, PermissionSet};
use super::product::{Grant, is_restricted};
use super::role::OrgRole;
use super::workspace::{Access, WorkspaceRole, WsPermission, WsPermissionSet};

/// The roles an actor holds where it acts, as loaded inside the
/// transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Roles {
    /// The organization role (`None` for a workspace guest).
    pub org: OrgRole,
    /// The direct role in the workspace the action is in.
    pub direct: Option<WorkspaceRole>,
    /// Whether a product restriction is in effect (never for Admins and
    /// the Owner, whatever the stored flag says).
    pub restricted: bool,
    /// The grant on the product the action is on.
    pub grant: Option<Grant>,
    /// What custom roles held organization-wide add to the organization
    /// role's permissions.
    pub extra: PermissionSet,
    /// What custom roles held in the workspace in scope, or
    /// organization-wide, add there.
    pub ws_extra: WsPermissionSet,
}

impl Roles {
    /// Roles for an action on the organization itself.
    pub fn in_org(org: OrgRole) -> Self {
        Roles {
            org,
            direct: None,
            restricted: false,
            grant: None,
            extra: PermissionSet::EMPTY,
            ws_extra: WsPermissionSet::EMPTY,
        }
    }

    /// Adds what custom roles give: `org_wide` the levels of those held
    /// organization-wide, `here` of those held in the workspace in scope
    /// and organization-wide.
    pub fn with_custom(self, org_wide: &Levels, here: &Levels) -> Self {
        Roles {
            extra: module::org_permissions(org_wide),
            ws_extra: module::workspace_permissions(here),
            ..self
        }
    }

    /// The organization permissions held, custom roles included.
    pub fn permissions(self) -> PermissionSet {
        self.org.permissions().union(self.extra)
    }

    /// Roles for an action in one workspace.
    pub fn in_workspace(org: OrgRole, direct: Option<WorkspaceRole>) -> Self {
        Roles {
            direct,
            ..Roles::in_org(org)
        }
    }

    /// Roles for an action on one product: `restricted_flag` is the stored
    /// flag, applied only where a restriction may hold.
    pub fn on_product(
        org: OrgRole,
        direct: Option<WorkspaceRole>,
        restricted_flag: bool,
        grant: Option<Grant>,
    ) -> Self {
        let restricted = is_restricted(org, restricted_flag);
        Roles {
            direct,
            restricted,
            grant: grant.filter(|_| restricted),
            ..Roles::in_org(org)
        }
    }

    /// What the roles add up to in the workspace in scope.
    pub fn workspace(self) -> Access {
        Access::new(self.org, self.direct)
    }
}

/// Something an actor wants to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    // The organization.
    /// Anything that needs one organization permission and has no target.
    Use(Permission),
    /// Give a member (currently `from`) the organization role `to`.
    ChangeRole {
        from: OrgRole,
        to: OrgRole,
        is_self: bool,
    },
    /// Remove a member whose role is `target`.
    Remove {
        target: OrgRole,
        is_self: bool,
    },
    /// Leave the organization.
    Leave,
    /// Invite someone with the organization role `role`.
    Invite {
        role: OrgRole,
    },
    /// Make an organization API key that acts with `role`.
    CreateApiKey {
        role: OrgRole,
    },
    /// Make the member whose role is `target` the Owner.
    TransferOwnership {
        target: OrgRole,
        is_self: bool,
    },

    // A workspace.
    /// Anything that needs one workspace permission.
    InWorkspace(WsPermission),
    /// Grant (`to: Some`), change or take away (`to: None`) a direct role
    /// in the workspace; `current` is the target's direct role there.
    SetWorkspaceRole {
        current: Option<WorkspaceRole>,
        to: Option<WorkspaceRole>,
    },
    /// Invite someone into the workspace with the direct role `role`.
    InviteToWorkspace {
        role: WorkspaceRole,
    },
    /// Move the workspace to another organization, where the actor's role
    /// is `destination` (`None` when they do not belong to it).
    MoveWorkspace {
        destination: Option<OrgRole>,
    },

    // A product.
    OnProduct(ProductAction),
}

/// What one can do to a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProductAction {
    View,
    Edit,
    Delete,
    /// Choose who owns it.
    AssignOwner,
}

/// Why an action was refused; the message is shown to the person.
/// [`Denied::Invisible`] answers 404 (the target must stay unseen), every
/// other reason 403.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("You don't have permission to do that in this organization.")]
    MissingPermission(Permission),
    #[error("You can only grant roles at or below your own.")]
    AboveOwnRole,
    #[error("You can only change or remove members whose role is at or below your own.")]
    TargetAboveOwnRole,
    #[error("The Owner role moves only by transferring ownership.")]
    OwnerOnlyByTransfer,
    #[error("The Owner cannot be removed, demoted or leave; transfer ownership first.")]
    OwnerProtected,
    #[error("Choose another member to transfer ownership to.")]
    InvalidTransferTarget,
    #[error("You don't have permission to do that in this workspace.")]
    MissingWorkspacePermission,
    #[error(
        "You can move a workspace only to an organization where you are an Admin or the Owner."
    )]
    NotAdminOfDestination,
    #[error("You can view this product but not change it.")]
    ProductReadOnly,
    #[error("Only Admins of this product's workspace can delete it.")]
    MayNotDeleteProduct,
    #[error("You don't have permission to choose this product's owner.")]
    MayNotChooseProductOwner,
    /// `InWorkspace(EditProducts)` refused in every workspace one has.
    #[error("You don't have permission to add products in this organization.")]
    NoWorkspaceForProducts,
    /// Removing oneself is leaving, which has its own page.
    #[error("To leave the organization, use Leave organization.")]
    RemoveSelf,
    /// A custom role would give a module level the actor does not hold
    /// where it is granted (or, for a definition, organization-wide).
    #[error("You can only grant or define roles whose module levels you hold yourself.")]
    AboveOwnLevels,
    /// The actor may not even know the target exists.
    #[error("That doesn't exist, or you can't see it.")]
    Invisible,
}

impl Denied {
    /// Whether the refusal must look like a target that does not exist.
    pub fn is_invisible(self) -> bool {
        self == Denied::Invisible
    }
}

/// Organization roles that may be granted by invitations and role changes.
pub const GRANTABLE: [OrgRole; 3] = [OrgRole::Admin, OrgRole::Member, OrgRole::Viewer];

/// Direct workspace roles that may be granted (the Owner's moves only by
/// transfer).
const WORKSPACE_GRANTABLE: [WorkspaceRole; 3] = [
    WorkspaceRole::Viewer,
    WorkspaceRole::Editor,
    WorkspaceRole::Admin,
];

pub fn authorize(actor: Roles, action: Action) -> Result<(), Denied> {
    let has = |p: Permission| {
        if actor.permissions().contains(p) {
            Ok(())
        } else {
            Err(Denied::MissingPermission(p))
        }
    };
    let workspace = actor.workspace();
    let can = |p: WsPermission| workspace.can(p) || actor.ws_extra.contains(p);
    let in_workspace = |p: WsPermission| {
        if !can(WsPermission::View) {
            Err(Denied::Invisible)
        } else if can(p) {
            Ok(())
        } else {
            Err(Denied::MissingWorkspacePermission)
        }
    };
    // The highest workspace role held, inherited or direct: the ceiling of
    // what one may grant or change there.
    let workspace_ceiling = workspace.top_role();
    match action {
        Action::Use(permission) => has(permission),
        Action::ChangeRole { from, to, is_self } => {
            if to == OrgRole::Owner {
                return Err(Denied::OwnerOnlyByTransfer);
            }
            if from == OrgRole::Owner {
                return Err(Denied::OwnerProtected);
            }
            // Anyone below Admin may not change roles, not even their own.
            has(Permission::ManageMembers)?;
            if !GRANTABLE.contains(&to) || to > actor.org {
                return Err(Denied::AboveOwnRole);
            }
            if from > actor.org && !is_self {
                return Err(Denied::TargetAboveOwnRole);
            }
            Ok(())
        }
        Action::Remove { target, is_self } => {
            if is_self {
                return authorize(actor, Action::Leave);
            }
            if target == OrgRole::Owner {
                return Err(Denied::OwnerProtected);
            }
            has(Permission::ManageMembers)?;
            if target > actor.org {
                return Err(Denied::TargetAboveOwnRole);
            }
            Ok(())
        }
        Action::Leave => {
            if actor.org == OrgRole::Owner {
                Err(Denied::OwnerProtected)
            } else {
                Ok(())
            }
        }
        Action::Invite { role } => {
            has(Permission::ManageMembers)?;
            if role == OrgRole::Owner {
                return Err(Denied::OwnerOnlyByTransfer);
            }
            if (!GRANTABLE.contains(&role) && role != OrgRole::None) || role > actor.org {
                return Err(Denied::AboveOwnRole);
            }
            Ok(())
        }
        Action::CreateApiKey { role } => {
            has(Permission::ManageApiKeys)?;
            if role == OrgRole::Owner {
                return Err(Denied::OwnerOnlyByTransfer);
            }
            if !GRANTABLE.contains(&role) || role > actor.org {
                return Err(Denied::AboveOwnRole);
            }
            Ok(())
        }
        Action::TransferOwnership { target, is_self } => {
            has(Permission::TransferOwnership)?;
            if is_self || target == OrgRole::Owner || target == OrgRole::None {
                return Err(Denied::InvalidTransferTarget);
            }
            Ok(())
        }
        Action::InWorkspace(permission) => in_workspace(permission),
        Action::SetWorkspaceRole { current, to } => {
            in_workspace(WsPermission::View)?;
            if current == Some(WorkspaceRole::Owner) || to == Some(WorkspaceRole::Owner) {
                return Err(Denied::OwnerOnlyByTransfer);
            }
            // Only roles at or below one's own highest are changed or granted.
            let manages = can(WsPermission::ManageMembers);
            if current.is_some_and(|c| !manages || workspace_ceiling.is_none_or(|top| c > top)) {
                return Err(Denied::MissingWorkspacePermission);
            }
            if let Some(role) = to
                && workspace_ceiling.is_none_or(|top| role > top)
            {
                return Err(if manages {
                    Denied::AboveOwnRole
                } else {
                    Denied::MissingWorkspacePermission
                });
            }
            in_workspace(WsPermission::ManageMembers)
        }
        Action::InviteToWorkspace { role } => {
            let allowed = can(WsPermission::ManageMembers)
                && WORKSPACE_GRANTABLE.contains(&role)
                && workspace_ceiling.is_some_and(|top| role <= top);
            if allowed {
                Ok(())
            } else {
                Err(Denied::AboveOwnRole)
            }
        }
        Action::MoveWorkspace { destination } => {
            in_workspace(WsPermission::OwnWorkspace)?;
            if matches!(destination, Some(OrgRole::Admin | OrgRole::Owner)) {
                Ok(())
            } else {
                Err(Denied::NotAdminOfDestination)
            }
        }
        Action::OnProduct(what) => {
            // A restricted member sees only what was granted to them; a
            // View grant allows viewing only; a grant never adds to what the
            // workspace role allows.
            let granted = match actor.grant {
                _ if !actor.restricted => Some(Grant::Edit),
                grant => grant,
            };
            if !can(WsPermission::View) || granted.is_none() {
                return Err(Denied::Invisible);
            }
            let (needs, refusal) = match what {
                ProductAction::View => (WsPermission::View, Denied::Invisible),
                ProductAction::Edit => (WsPermission::EditProducts, Denied::ProductReadOnly),
                ProductAction::Delete => {
                    (WsPermission::DeleteProducts, Denied::MayNotDeleteProduct)
                }
                ProductAction::AssignOwner => (
                    WsPermission::AssignProductOwners,
                    Denied::MayNotChooseProductOwner,
                ),
            };
            let grant_allows = what == ProductAction::View || granted == Some(Grant::Edit);
            if can(needs) && grant_allows {
                Ok(())
            } else {
                Err(refusal)
            }
        }
    }
}

/// Whether the actor may grant or take away a custom role giving
/// `role` there: they manage members there (in the organization, or in
/// the workspace in scope when `in_workspace`), and they hold, where it is
/// granted, every module level it gives (`held`).
pub fn authorize_custom_grant(
    actor: Roles,
    in_workspace: bool,
    held: &Levels,
    role: &Levels,
) -> Result<(), Denied> {
    if in_workspace {
        authorize(actor, Action::InWorkspace(WsPermission::ManageMembers))?;
    } else {
        authorize(actor, Action::Use(Permission::ManageMembers))?;
    }
    if role.within(held) {
        Ok(())
    } else {
        Err(Denied::AboveOwnLevels)
    }
}

/// Whether the actor may define a custom role (or edit one, held by
/// anyone) to give `levels`: they define roles, and they hold every level
/// it gives organization-wide (`held`), which is also the least they hold
/// in any workspace.
pub fn authorize_custom_definition(
    actor: Roles,
    held: &Levels,
    levels: &Levels,
) -> Result<(), Denied> {
    authorize(actor, Action::Use(Permission::ManageRoles))?;
    if levels.within(held) {
        Ok(())
    } else {
        Err(Denied::AboveOwnLevels)
    }
}

/// Whether [`authorize`] allows `action`.
pub fn allows(actor: Roles, action: Action) -> bool {
    authorize(actor, action).is_ok()
}

/// The organization roles `actor` may grant, most powerful first.
pub fn grantable_roles(actor: OrgRole) -> Vec<OrgRole> {
    grantable_roles_by(Roles::in_org(actor))
}

/// The organization roles an actor holding `actor` (custom roles
/// included) may grant, most powerful first.
pub fn grantable_roles_by(actor: Roles) -> Vec<OrgRole> {
    GRANTABLE
        .into_iter()
        .filter(|role| allows(actor, Action::Invite { role: *role }))
        .collect()
}

/// The direct workspace roles `actor` may grant there, least powerful
/// first.
pub fn grantable_workspace_roles(actor: Roles) -> Vec<WorkspaceRole> {
    WORKSPACE_GRANTABLE
        .into_iter()
        .filter(|role| allows(actor, Action::InviteToWorkspace { role: *role }))
        .collect()
}

/// What the actor may do to one member of the organization, for the
/// controls of that member's row and page.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MemberCaps {
    /// The roles the member's role may be changed to (their current one
    /// included); empty when it may not be changed.
    pub roles: Vec<OrgRole>,
    /// Why the role may not be changed, when it may not.
    pub change_refused: Option<Denied>,
    /// Why they may not be removed, when they may not (leaving oneself
    /// has its own page).
    pub remove_refused: Option<Denied>,
}

impl MemberCaps {
    pub fn of(actor: OrgRole, target: OrgRole, is_self: bool) -> Self {
        Self::by(Roles::in_org(actor), target, is_self)
    }

    /// The same for an actor holding `actor` (custom roles included).
    pub fn by(actor: Roles, target: OrgRole, is_self: bool) -> Self {
        let change = |to| {
            authorize(
                actor,
                Action::ChangeRole {
                    from: target,
                    to,
                    is_self,
                },
            )
        };
        let roles: Vec<OrgRole> = GRANTABLE
            .into_iter()
            .filter(|to| change(*to).is_ok())
            .collect();
        // The least a role can become says why no change is allowed.
        let change_refused = roles
            .is_empty()
            .then(|| change(OrgRole::Viewer).err())
            .flatten();
        let remove_refused = if is_self {
            Some(Denied::RemoveSelf)
        } else {
            authorize(actor, Action::Remove { target, is_self }).err()
        };
        MemberCaps {
            roles,
            change_refused,
            remove_refused,
        }
    }

    pub fn change_role(&self) -> bool {
        self.change_refused.is_none()
    }

    pub fn remove(&self) -> bool {
        self.remove_refused.is_none()
    }
}

/// What the actor may do in one workspace, for its pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkspaceCaps {
    pub edit_details: bool,
    /// Transfer, delete, move.
    pub own: bool,
    pub manage_members: bool,
}

impl WorkspaceCaps {
    pub fn of(actor: Roles) -> Self {
        let may = |p| allows(actor, Action::InWorkspace(p));
        WorkspaceCaps {
            edit_details: may(WsPermission::EditDetails),
            own: may(WsPermission::OwnWorkspace),
            manage_members: may(WsPermission::ManageMembers),
        }
    }
}

/// What the actor may do to one person's direct role in a workspace.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct DirectRoleCaps {
    /// The direct roles the person may be given (empty: no controls).
    pub roles: Vec<WorkspaceRole>,
    /// Whether their direct role may be taken away.
    pub revoke: bool,
}

impl DirectRoleCaps {
    pub fn of(actor: Roles, current: Option<WorkspaceRole>) -> Self {
        let set = |to| allows(actor, Action::SetWorkspaceRole { current, to });
        DirectRoleCaps {
            roles: WORKSPACE_GRANTABLE
                .into_iter()
                .filter(|role| set(Some(*role)))
                .collect(),
            revoke: current.is_some() && set(None),
        }
    }
}

/// What the actor may do with one product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ProductCaps {
    pub view: bool,
    pub edit: bool,
    pub delete: bool,
    pub assign_owner: bool,
}

impl ProductCaps {
    pub fn of(actor: Roles) -> Self {
        let may = |what| allows(actor, Action::OnProduct(what));
        ProductCaps {
            view: may(ProductAction::View),
            edit: may(ProductAction::Edit),
            delete: may(ProductAction::Delete),
            assign_owner: may(ProductAction::AssignOwner),
        }
    }
}

#[cfg(test)]
mod tests;
