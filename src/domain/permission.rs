//! The closed set of organization permissions and a small set type.
//! Effective permissions are the union of the sets of every role held.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See the member list.
    ViewMembers,
    /// See the organization's settings pages.
    ViewSettings,
    /// See the organization's workspace list.
    ViewWorkspaces,
    /// Invite, change roles, remove members, manage invitations.
    ManageMembers,
    /// Edit the organization's settings.
    EditSettings,
    /// Set auto-join domains and the role new joiners get.
    ManageAutoJoin,
    /// Create workspaces.
    CreateWorkspaces,
    /// Restrict members to products.
    ManageProductAccess,
    /// Read and export the audit log.
    ReadAuditLog,
    /// Create and edit products.
    EditProducts,
    /// Delete products.
    DeleteProducts,
    /// Hand the Owner role to another member.
    TransferOwnership,
    /// Delete the organization.
    DeleteOrganization,
    /// Create, see and revoke one's own personal API keys.
    UsePersonalKeys,
    /// Create, see and revoke the organization's API keys.
    ManageApiKeys,
    /// Define, edit and delete custom roles.
    ManageRoles,
    /// Add and remove the organization's own modules.
    ManageModules,
}

impl Permission {
    pub const ALL: [Permission; 17] = [
        Permission::ViewMembers,
        Permission::ViewSettings,
        Permission::ViewWorkspaces,
        Permission::ManageMembers,
        Permission::EditSettings,
        Permission::ManageAutoJoin,
        Permission::CreateWorkspaces,
        Permission::ManageProductAccess,
        Permission::ReadAuditLog,
        Permission::EditProducts,
        Permission::DeleteProducts,
        Permission::TransferOwnership,
        Permission::DeleteOrganization,
        Permission::UsePersonalKeys,
        Permission::ManageApiKeys,
        Permission::ManageRoles,
        Permission::ManageModules,
    ];

    /// What the permission lets a person do, as a phrase ("manage
    /// members and invitations"), for what someone loses with a role.
    pub fn phrase(self) -> &'static str {
        match self {
            Permission::ViewMembers => "see the member list",
            Permission::ViewSettings => "see the settings",
            Permission::ViewWorkspaces => "see the workspace list",
            Permission::ManageMembers => "manage members and invitations",
            Permission::EditSettings => "edit the settings",
            Permission::ManageAutoJoin => "manage auto-join domains",
            Permission::CreateWorkspaces => "create workspaces",
            Permission::ManageProductAccess => "manage product access",
            Permission::ReadAuditLog => "read the audit log",
            Permission::EditProducts => "create and edit products",
            Permission::DeleteProducts => "delete products",
            Permission::TransferOwnership => "transfer ownership",
            Permission::DeleteOrganization => "delete the organization",
            Permission::UsePersonalKeys => "use personal API keys",
            Permission::ManageApiKeys => "manage the organization's API keys",
            Permission::ManageRoles => "define custom roles",
            Permission::ManageModules => "add modules",
        }
    }

    const fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PermissionSet(u32);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);
    pub const ALL: PermissionSet = {
        let mut bits = 0;
        let mut i = 0;
        while i < Permission::ALL.len() {
            bits |= Permission::ALL[i].bit();
            i += 1;
        }
        PermissionSet(bits)
    };

    pub fn of(permissions: &[Permission]) -> Self {
        permissions.iter().fold(Self::EMPTY, |set, p| set.with(*p))
    }

    pub fn with(self, permission: Permission) -> Self {
        PermissionSet(self.0 | permission.bit())
    }

    pub fn without(self, permission: Permission) -> Self {
        PermissionSet(self.0 & !permission.bit())
    }

    pub fn union(self, other: PermissionSet) -> Self {
        PermissionSet(self.0 | other.0)
    }

    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_is_additive() {
        let a = PermissionSet::of(&[Permission::ViewMembers]);
        let b = PermissionSet::of(&[Permission::EditProducts]);
        let both = a.union(b);
        assert!(both.contains(Permission::ViewMembers));
        assert!(both.contains(Permission::EditProducts));
        assert!(!both.contains(Permission::DeleteProducts));
    }

    #[test]
    fn all_contains_every_permission() {
        for p in Permission::ALL {
            assert!(PermissionSet::ALL.contains(p));
            assert!(!PermissionSet::EMPTY.contains(p));
        }
    }
}
