//! Organization roles, ordered from least to most powerful so that
//! `role >= OrgRole::Admin` reads as it sounds.

use sea_orm::entity::prelude::*;

use super::permission::{Permission, PermissionSet};

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    serde::Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "lowercase")]
pub enum OrgRole {
    /// Belongs to the organization only through workspace roles.
    #[sea_orm(string_value = "none")]
    None,
    #[sea_orm(string_value = "viewer")]
    Viewer,
    #[sea_orm(string_value = "member")]
    Member,
    #[sea_orm(string_value = "admin")]
    Admin,
    #[sea_orm(string_value = "owner")]
    Owner,
}

impl OrgRole {
    /// Roles that appear as badges, most powerful first.
    pub const BADGES: [OrgRole; 4] = [
        OrgRole::Owner,
        OrgRole::Admin,
        OrgRole::Member,
        OrgRole::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrgRole::None => "none",
            OrgRole::Viewer => "viewer",
            OrgRole::Member => "member",
            OrgRole::Admin => "admin",
            OrgRole::Owner => "owner",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OrgRole::None => "Workspace guest",
            OrgRole::Viewer => "Viewer",
            OrgRole::Member => "Member",
            OrgRole::Admin => "Admin",
            OrgRole::Owner => "Owner",
        }
    }

    /// Parses the form value of a role; unknown values are refused.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(OrgRole::None),
            "viewer" => Some(OrgRole::Viewer),
            "member" => Some(OrgRole::Member),
            "admin" => Some(OrgRole::Admin),
            "owner" => Some(OrgRole::Owner),
            _ => None,
        }
    }

    /// What a holder of this role may do in the organization.
    pub fn permissions(self) -> PermissionSet {
        use Permission::*;
        let viewer = PermissionSet::of(&[ViewMembers, ViewSettings, ViewWorkspaces]);
        match self {
            OrgRole::None => PermissionSet::EMPTY,
            OrgRole::Viewer => viewer,
            OrgRole::Member => viewer.with(EditProducts).with(UsePersonalKeys),
            OrgRole::Admin => PermissionSet::ALL
                .without(ManageAutoJoin)
                .without(TransferOwnership)
                .without(DeleteOrganization)
                .without(ManageModules),
            OrgRole::Owner => PermissionSet::ALL,
        }
    }
}

impl std::fmt::Display for OrgRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(OrgRole::Owner > OrgRole::Admin);
        assert!(OrgRole::Admin > OrgRole::Member);
        assert!(OrgRole::Member > OrgRole::Viewer);
        assert!(OrgRole::Viewer > OrgRole::None);
    }

    #[test]
    fn parse_round_trips_and_refuses_unknown_values() {
        for role in [
            OrgRole::None,
            OrgRole::Viewer,
            OrgRole::Member,
            OrgRole::Admin,
            OrgRole::Owner,
        ] {
            assert_eq!(OrgRole::parse(role.as_str()), Some(role));
        }
        assert_eq!(OrgRole::parse("Owner"), None);
        assert_eq!(OrgRole::parse("superuser"), None);
    }

    #[test]
    fn permission_table_matches_the_design() {
        use Permission::*;
        // (permission, owner, admin, member, viewer, none)
        let table = [
            (ViewMembers, true, true, true, true, false),
            (ViewSettings, true, true, true, true, false),
            (ViewWorkspaces, true, true, true, true, false),
            (ManageMembers, true, true, false, false, false),
            (EditSettings, true, true, false, false, false),
            (ManageAutoJoin, true, false, false, false, false),
            (CreateWorkspaces, true, true, false, false, false),
            (ManageProductAccess, true, true, false, false, false),
            (ReadAuditLog, true, true, false, false, false),
            (EditProducts, true, true, true, false, false),
            (DeleteProducts, true, true, false, false, false),
            (TransferOwnership, true, false, false, false, false),
            (DeleteOrganization, true, false, false, false, false),
            (UsePersonalKeys, true, true, true, false, false),
            (ManageApiKeys, true, true, false, false, false),
            (ManageRoles, true, true, false, false, false),
            (ManageModules, true, false, false, false, false),
        ];
        assert_eq!(
            table.len(),
            Permission::ALL.len(),
            "every permission is in the table"
        );
        for (permission, owner, admin, member, viewer, none) in table {
            let roles = [
                (OrgRole::Owner, owner),
                (OrgRole::Admin, admin),
                (OrgRole::Member, member),
                (OrgRole::Viewer, viewer),
                (OrgRole::None, none),
            ];
            for (role, expected) in roles {
                assert_eq!(
                    role.permissions().contains(permission),
                    expected,
                    "{role:?} / {permission:?}"
                );
            }
        }
    }
}
