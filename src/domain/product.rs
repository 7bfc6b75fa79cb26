//! Product access: what a person may do with one product, computed in one
//! place from their access to its workspace, whether they are restricted,
//! and what they were granted.
//!
//! Unrestricted, a person's workspace rights apply to every product in it.
//! A restricted member (never an Admin or the Owner) sees only the products
//! granted to them; a View grant allows viewing only, an Edit grant allows
//! what their workspace rights allow. A grant never adds to those rights: a
//! restricted Viewer granted Edit still only views.

use sea_orm::entity::prelude::*;

use super::role::OrgRole;
use super::workspace::{Access, WsPermission};

/// What a restricted member was granted on one product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum Grant {
    #[sea_orm(string_value = "view")]
    View,
    #[sea_orm(string_value = "edit")]
    Edit,
}

/// A grant value that is none of `none`, `view`, `edit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Choose None, View or Edit.")]
pub struct UnknownGrant;

impl Grant {
    /// `none` is no grant at all.
    pub fn parse(value: &str) -> Result<Option<Self>, UnknownGrant> {
        match value {
            "none" => Ok(None),
            "view" => Ok(Some(Grant::View)),
            "edit" => Ok(Some(Grant::Edit)),
            _ => Err(UnknownGrant),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Grant::View => "view",
            Grant::Edit => "edit",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Grant::View => "View",
            Grant::Edit => "Edit",
        }
    }
}

/// Whether a membership's restriction is in effect: Owners and Admins are
/// never restricted, whatever the stored flag says.
pub fn is_restricted(org_role: OrgRole, flag: bool) -> bool {
    flag && org_role < OrgRole::Admin
}

/// Whether a member with `org_role` may be restricted at all.
pub fn may_be_restricted(org_role: OrgRole) -> bool {
    org_role < OrgRole::Admin
}

/// What a person may do with one product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rights {
    pub view: bool,
    pub edit: bool,
    pub delete: bool,
    pub assign_owner: bool,
}

impl Rights {
    /// `workspace`: the person's access to the product's workspace;
    /// `restricted`: whether a restriction is in effect for them
    /// ([`is_restricted`]); `grant`: their grant on this product.
    pub fn of(workspace: Access, restricted: bool, grant: Option<Grant>) -> Self {
        let full = Rights {
            view: workspace.can(WsPermission::View),
            edit: workspace.can(WsPermission::EditProducts),
            delete: workspace.can(WsPermission::DeleteProducts),
            assign_owner: workspace.can(WsPermission::AssignProductOwners),
        };
        if !restricted {
            return full;
        }
        match grant {
            None => Rights::default(),
            Some(Grant::View) => Rights {
                view: full.view,
                ..Rights::default()
            },
            Some(Grant::Edit) => full,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::workspace::WorkspaceRole;

    const NONE: Rights = Rights {
        view: false,
        edit: false,
        delete: false,
        assign_owner: false,
    };
    const VIEW: Rights = Rights {
        view: true,
        edit: false,
        delete: false,
        assign_owner: false,
    };
    const EDIT: Rights = Rights {
        view: true,
        edit: true,
        delete: false,
        assign_owner: false,
    };
    const ALL: Rights = Rights {
        view: true,
        edit: true,
        delete: true,
        assign_owner: true,
    };

    /// (org role, direct workspace role, restricted flag, grant) → rights.
    type Case = (OrgRole, Option<WorkspaceRole>, bool, Option<Grant>, Rights);

    #[test]
    fn rights_by_role_restriction_and_grant() {
        let cases: &[Case] = &[
            (OrgRole::Owner, None, false, None, ALL),
            (OrgRole::Owner, None, true, None, ALL),
            (OrgRole::Admin, None, true, None, ALL),
            (OrgRole::Member, None, false, None, EDIT),
            (OrgRole::Member, None, true, None, NONE),
            (OrgRole::Member, None, true, Some(Grant::View), VIEW),
            (OrgRole::Member, None, true, Some(Grant::Edit), EDIT),
            (OrgRole::Viewer, None, false, None, VIEW),
            (OrgRole::Viewer, None, true, None, NONE),
            (OrgRole::Viewer, None, true, Some(Grant::View), VIEW),
            // A grant never adds to what the role allows.
            (OrgRole::Viewer, None, true, Some(Grant::Edit), VIEW),
            (OrgRole::None, None, false, None, NONE),
            (OrgRole::None, None, true, Some(Grant::Edit), NONE),
            (
                OrgRole::None,
                Some(WorkspaceRole::Editor),
                false,
                None,
                EDIT,
            ),
            (
                OrgRole::None,
                Some(WorkspaceRole::Editor),
                true,
                Some(Grant::View),
                VIEW,
            ),
            (
                OrgRole::Member,
                Some(WorkspaceRole::Admin),
                false,
                None,
                ALL,
            ),
            (
                OrgRole::Member,
                Some(WorkspaceRole::Admin),
                true,
                Some(Grant::Edit),
                ALL,
            ),
        ];
        for (org, direct, flag, grant, want) in cases {
            let access = Access::new(*org, *direct);
            let got = Rights::of(access, is_restricted(*org, *flag), *grant);
            assert_eq!(
                got, *want,
                "{org:?} + {direct:?}, restricted {flag}, grant {grant:?}"
            );
        }
    }

    #[test]
    fn owners_and_admins_are_never_restricted() {
        assert!(!is_restricted(OrgRole::Owner, true));
        assert!(!is_restricted(OrgRole::Admin, true));
        assert!(is_restricted(OrgRole::Member, true));
        assert!(!is_restricted(OrgRole::Member, false));
        assert!(!may_be_restricted(OrgRole::Admin));
        assert!(may_be_restricted(OrgRole::Viewer));
    }

    #[test]
    fn grants_parse_and_refuse_unknown_values() {
        assert_eq!(Grant::parse("none"), Ok(None));
        assert_eq!(Grant::parse("view"), Ok(Some(Grant::View)));
        assert_eq!(Grant::parse("edit"), Ok(Some(Grant::Edit)));
        assert!(Grant::parse("owner").is_err());
    }
}
