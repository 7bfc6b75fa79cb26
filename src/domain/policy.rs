//! The one answer to "may this actor do this to that target?". Every
//! mutating route asks it, through the services, before it writes.

use super::permission::Permission;
use super::role::OrgRole;

/// Something an actor wants to do in an organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Anything that needs one permission and has no target member.
    Use(Permission),
    /// Give `target` (currently `from`) the role `to`.
    ChangeRole {
        from: OrgRole,
        to: OrgRole,
        is_self: bool,
    },
    /// Remove a member whose role is `target`.
    Remove { target: OrgRole, is_self: bool },
    /// Leave the organization.
    Leave,
    /// Invite someone with `role`.
    Invite { role: OrgRole },
    /// Make the member whose role is `target` the Owner.
    TransferOwnership { target: OrgRole, is_self: bool },
}

/// Why an action was refused; the message is shown to the person.
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
}

/// Roles that may be granted through invitations and role changes.
pub const GRANTABLE: [OrgRole; 3] = [OrgRole::Admin, OrgRole::Member, OrgRole::Viewer];

pub fn authorize(actor: OrgRole, action: Action) -> Result<(), Denied> {
    let has = |p: Permission| {
        if actor.permissions().contains(p) {
            Ok(())
        } else {
            Err(Denied::MissingPermission(p))
        }
    };
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
            if !GRANTABLE.contains(&to) {
                return Err(Denied::AboveOwnRole);
            }
            if to > actor {
                return Err(Denied::AboveOwnRole);
            }
            if from > actor && !is_self {
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
            if target > actor {
                return Err(Denied::TargetAboveOwnRole);
            }
            Ok(())
        }
        Action::Leave => {
            if actor == OrgRole::Owner {
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
            if !GRANTABLE.contains(&role) && role != OrgRole::None {
                return Err(Denied::AboveOwnRole);
            }
            if role > actor {
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
    }
}

/// The roles `actor` may grant, most powerful first.
pub fn grantable_roles(actor: OrgRole) -> Vec<OrgRole> {
    GRANTABLE
        .into_iter()
        .filter(|role| *role <= actor && actor.permissions().contains(Permission::ManageMembers))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrgRole::*;

    #[test]
    fn role_changes_follow_the_ceiling() {
        // (actor, from, to, is_self, expected)
        let cases = [
            (Owner, Admin, Member, false, Ok(())),
            (Owner, Member, Admin, false, Ok(())),
            (
                Owner,
                Viewer,
                Owner,
                false,
                Err(Denied::OwnerOnlyByTransfer),
            ),
            (Owner, Owner, Admin, true, Err(Denied::OwnerProtected)),
            (Admin, Member, Admin, false, Ok(())),
            (Admin, Admin, Viewer, false, Ok(())),
            (Admin, Admin, Member, true, Ok(())),
            (Admin, Owner, Member, false, Err(Denied::OwnerProtected)),
            (
                Admin,
                Member,
                Owner,
                false,
                Err(Denied::OwnerOnlyByTransfer),
            ),
            (Admin, Member, None, false, Err(Denied::AboveOwnRole)),
            (
                Member,
                Viewer,
                Member,
                false,
                Err(Denied::MissingPermission(Permission::ManageMembers)),
            ),
            (
                Member,
                Member,
                Viewer,
                true,
                Err(Denied::MissingPermission(Permission::ManageMembers)),
            ),
            (
                Viewer,
                Viewer,
                Member,
                true,
                Err(Denied::MissingPermission(Permission::ManageMembers)),
            ),
            (
                None,
                Viewer,
                Viewer,
                false,
                Err(Denied::MissingPermission(Permission::ManageMembers)),
            ),
        ];
        for (actor, from, to, is_self, expected) in cases {
            assert_eq!(
                authorize(actor, Action::ChangeRole { from, to, is_self }),
                expected,
                "{actor:?} changes {from:?} to {to:?} (self: {is_self})"
            );
        }
    }

    #[test]
    fn removal_and_leaving() {
        assert_eq!(
            authorize(
                Owner,
                Action::Remove {
                    target: Admin,
                    is_self: false
                }
            ),
            Ok(())
        );
        assert_eq!(
            authorize(
                Admin,
                Action::Remove {
                    target: Admin,
                    is_self: false
                }
            ),
            Ok(())
        );
        assert_eq!(
            authorize(
                Admin,
                Action::Remove {
                    target: Owner,
                    is_self: false
                }
            ),
            Err(Denied::OwnerProtected)
        );
        assert_eq!(
            authorize(
                Member,
                Action::Remove {
                    target: Viewer,
                    is_self: false
                }
            ),
            Err(Denied::MissingPermission(Permission::ManageMembers))
        );
        assert_eq!(
            authorize(
                Member,
                Action::Remove {
                    target: Member,
                    is_self: true
                }
            ),
            Ok(())
        );
        assert_eq!(authorize(Owner, Action::Leave), Err(Denied::OwnerProtected));
        assert_eq!(authorize(Admin, Action::Leave), Ok(()));
        assert_eq!(authorize(None, Action::Leave), Ok(()));
    }

    #[test]
    fn invitations_grant_only_at_or_below_own_role() {
        assert_eq!(authorize(Admin, Action::Invite { role: Admin }), Ok(()));
        assert_eq!(
            authorize(Admin, Action::Invite { role: Owner }),
            Err(Denied::OwnerOnlyByTransfer)
        );
        assert_eq!(
            authorize(Member, Action::Invite { role: Viewer }),
            Err(Denied::MissingPermission(Permission::ManageMembers))
        );
        assert_eq!(authorize(Owner, Action::Invite { role: None }), Ok(()));
    }

    #[test]
    fn only_the_owner_transfers_to_another_member() {
        assert_eq!(
            authorize(
                Owner,
                Action::TransferOwnership {
                    target: Viewer,
                    is_self: false
                }
            ),
            Ok(())
        );
        assert_eq!(
            authorize(
                Owner,
                Action::TransferOwnership {
                    target: Owner,
                    is_self: true
                }
            ),
            Err(Denied::InvalidTransferTarget)
        );
        assert_eq!(
            authorize(
                Admin,
                Action::TransferOwnership {
                    target: Member,
                    is_self: false
                }
            ),
            Err(Denied::MissingPermission(Permission::TransferOwnership))
        );
    }

    #[test]
    fn grantable_roles_stop_at_own_role() {
        assert_eq!(grantable_roles(Owner), vec![Admin, Member, Viewer]);
        assert_eq!(grantable_roles(Admin), vec![Admin, Member, Viewer]);
        assert!(grantable_roles(Member).is_empty());
        assert!(grantable_roles(Viewer).is_empty());
    }
}
