//! Workspace roles and effective permissions in a workspace, computed in
//! one place: the union of what the organization role passes down
//! (inherited) and the direct workspace role.
//!
//! Inheritance: organization Owner and Admin → workspace Admin, Member →
//! Editor, Viewer → Viewer, none → nothing. The organization's Owner also
//! holds the workspace Owner's powers (rename, transfer, delete, move).

use sea_orm::entity::prelude::*;

use super::role::OrgRole;

/// A role inside one workspace, least to most powerful.
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
pub enum WorkspaceRole {
    #[sea_orm(string_value = "viewer")]
    Viewer,
    #[sea_orm(string_value = "editor")]
    Editor,
    #[sea_orm(string_value = "admin")]
    Admin,
    #[sea_orm(string_value = "owner")]
    Owner,
}

impl WorkspaceRole {
    pub const ALL: [WorkspaceRole; 4] = [
        WorkspaceRole::Viewer,
        WorkspaceRole::Editor,
        WorkspaceRole::Admin,
        WorkspaceRole::Owner,
    ];

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "viewer" => Some(WorkspaceRole::Viewer),
            "editor" => Some(WorkspaceRole::Editor),
            "admin" => Some(WorkspaceRole::Admin),
            "owner" => Some(WorkspaceRole::Owner),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceRole::Viewer => "viewer",
            WorkspaceRole::Editor => "editor",
            WorkspaceRole::Admin => "admin",
            WorkspaceRole::Owner => "owner",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            WorkspaceRole::Viewer => "Viewer",
            WorkspaceRole::Editor => "Editor",
            WorkspaceRole::Admin => "Admin",
            WorkspaceRole::Owner => "Owner",
        }
    }

    /// What the role allows in its workspace.
    pub fn permissions(self) -> WsPermissionSet {
        use WsPermission::*;
        let viewer = WsPermissionSet::of(&[View]);
        let editor = viewer.with(EditProducts);
        let admin = editor
            .with(DeleteProducts)
            .with(AssignProductOwners)
            .with(EditDetails)
            .with(ManageMembers);
        match self {
            WorkspaceRole::Viewer => viewer,
            WorkspaceRole::Editor => editor,
            WorkspaceRole::Admin => admin,
            WorkspaceRole::Owner => WsPermissionSet::ALL,
        }
    }

    /// The role an organization role passes down into every workspace.
    pub fn inherited_from(org_role: OrgRole) -> Option<Self> {
        match org_role {
            OrgRole::Owner | OrgRole::Admin => Some(WorkspaceRole::Admin),
            OrgRole::Member => Some(WorkspaceRole::Editor),
            OrgRole::Viewer => Some(WorkspaceRole::Viewer),
            OrgRole::None => None,
        }
    }
}

/// The closed set of things one can do in a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WsPermission {
    View,
    EditProducts,
    DeleteProducts,
    /// Choose who owns a product.
    AssignProductOwners,
    /// Rename, change the description.
    EditDetails,
    /// Grant and revoke direct roles.
    ManageMembers,
    /// Transfer the workspace's ownership, delete it, move it.
    OwnWorkspace,
}

impl WsPermission {
    pub const ALL: [WsPermission; 7] = [
        WsPermission::View,
        WsPermission::EditProducts,
        WsPermission::DeleteProducts,
        WsPermission::AssignProductOwners,
        WsPermission::EditDetails,
        WsPermission::ManageMembers,
        WsPermission::OwnWorkspace,
    ];

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct WsPermissionSet(u8);

impl WsPermissionSet {
    pub const EMPTY: WsPermissionSet = WsPermissionSet(0);
    pub const ALL: WsPermissionSet = {
        let mut bits = 0;
        let mut i = 0;
        while i < WsPermission::ALL.len() {
            bits |= WsPermission::ALL[i].bit();
            i += 1;
        }
        WsPermissionSet(bits)
    };

    pub fn of(permissions: &[WsPermission]) -> Self {
        permissions.iter().fold(Self::EMPTY, |set, p| set.with(*p))
    }

    pub fn with(self, permission: WsPermission) -> Self {
        WsPermissionSet(self.0 | permission.bit())
    }

    pub fn union(self, other: WsPermissionSet) -> Self {
        WsPermissionSet(self.0 | other.0)
    }

    pub fn contains(self, permission: WsPermission) -> bool {
        self.0 & permission.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// How a person has access to a workspace, and what that adds up to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// The organization role the workspace role is inherited from.
    pub org_role: OrgRole,
    pub inherited: Option<WorkspaceRole>,
    pub direct: Option<WorkspaceRole>,
}

impl Access {
    pub fn new(org_role: OrgRole, direct: Option<WorkspaceRole>) -> Self {
        Access {
            org_role,
            inherited: WorkspaceRole::inherited_from(org_role),
            direct,
        }
    }

    /// The union of the inherited set and the direct role's set; the
    /// organization's Owner also owns every workspace.
    pub fn permissions(self) -> WsPermissionSet {
        let inherited = self
            .inherited
            .map(WorkspaceRole::permissions)
            .unwrap_or_default();
        let direct = self
            .direct
            .map(WorkspaceRole::permissions)
            .unwrap_or_default();
        let owner = if self.org_role == OrgRole::Owner {
            WsPermissionSet::ALL
        } else {
            WsPermissionSet::EMPTY
        };
        inherited.union(direct).union(owner)
    }

    pub fn can(self, permission: WsPermission) -> bool {
        self.permissions().contains(permission)
    }

    /// The most powerful role held, inherited or direct.
    pub fn top_role(self) -> Option<WorkspaceRole> {
        self.inherited.max(self.direct)
    }
}

#[cfg(test)]
mod tests {
    use super::WorkspaceRole::{Admin, Editor, Owner, Viewer};
    use super::WsPermission::*;
    use super::*;

    /// (org role, direct role, allowed, refused).
    type Case = (
        OrgRole,
        Option<WorkspaceRole>,
        &'static [WsPermission],
        &'static [WsPermission],
    );

    #[test]
    fn effective_permissions_are_the_union_of_inherited_and_direct() {
        // (org role, direct role) → what they may do in the workspace.
        let cases: &[Case] = &[
            (OrgRole::None, None, &[], &[View]),
            (OrgRole::None, Some(Viewer), &[View], &[EditProducts]),
            (
                OrgRole::None,
                Some(Editor),
                &[View, EditProducts],
                &[DeleteProducts],
            ),
            (
                OrgRole::None,
                Some(Admin),
                &[
                    View,
                    EditProducts,
                    DeleteProducts,
                    EditDetails,
                    ManageMembers,
                ],
                &[OwnWorkspace],
            ),
            (OrgRole::None, Some(Owner), &WsPermission::ALL, &[]),
            (OrgRole::Viewer, None, &[View], &[EditProducts]),
            (
                OrgRole::Viewer,
                Some(Editor),
                &[View, EditProducts],
                &[ManageMembers],
            ),
            (
                OrgRole::Member,
                None,
                &[View, EditProducts],
                &[DeleteProducts],
            ),
            (
                OrgRole::Member,
                Some(Viewer),
                &[View, EditProducts],
                &[ManageMembers],
            ),
            (
                OrgRole::Member,
                Some(Admin),
                &[ManageMembers, EditDetails],
                &[OwnWorkspace],
            ),
            (OrgRole::Member, Some(Owner), &[OwnWorkspace], &[]),
            (
                OrgRole::Admin,
                None,
                &[ManageMembers, EditDetails],
                &[OwnWorkspace],
            ),
            (OrgRole::Admin, Some(Owner), &[OwnWorkspace], &[]),
            (OrgRole::Owner, None, &WsPermission::ALL, &[]),
        ];
        for (org, direct, allowed, refused) in cases {
            let access = Access::new(*org, *direct);
            for p in *allowed {
                assert!(access.can(*p), "{org:?} + {direct:?} should allow {p:?}");
            }
            for p in *refused {
                assert!(!access.can(*p), "{org:?} + {direct:?} should refuse {p:?}");
            }
        }
    }

    #[test]
    fn inheritance_follows_the_organization_role() {
        assert_eq!(WorkspaceRole::inherited_from(OrgRole::Owner), Some(Admin));
        assert_eq!(WorkspaceRole::inherited_from(OrgRole::Admin), Some(Admin));
        assert_eq!(WorkspaceRole::inherited_from(OrgRole::Member), Some(Editor));
        assert_eq!(WorkspaceRole::inherited_from(OrgRole::Viewer), Some(Viewer));
        assert_eq!(WorkspaceRole::inherited_from(OrgRole::None), None);
    }
}
