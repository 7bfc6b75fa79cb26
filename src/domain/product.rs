//! Product access: grants and restriction, the inputs of what a person may
//! do with one product. The rules themselves are `domain::policy`'s
//! (`Action::OnProduct`).
//!
//! Unrestricted, a person's workspace rights apply to every product in it.
//! A restricted member (never an Admin or the Owner) sees only the products
//! granted to them; a View grant allows viewing only, an Edit grant allows
//! what their workspace rights allow. A grant never adds to those rights: a
//! restricted Viewer granted Edit still only views.

use sea_orm::entity::prelude::*;

use super::role::OrgRole;

/// What a restricted member was granted on one product.
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

#[cfg(test)]
mod tests {
    use super::*;

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
