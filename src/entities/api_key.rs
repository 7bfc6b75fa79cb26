use sea_orm::entity::prelude::*;

use crate::domain::role::OrgRole;

#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum KeyKind {
    /// Acts with a role of its own; outlives its creator's membership.
    #[sea_orm(string_value = "organization")]
    Organization,
    /// Acts as its member, with that member's current roles.
    #[sea_orm(string_value = "personal")]
    Personal,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub kind: KeyKind,
    pub name: String,
    /// An organization key's role (never Owner).
    pub role: Option<OrgRole>,
    /// A personal key's member.
    pub user_id: Option<String>,
    /// The one workspace an organization key is limited to, if any.
    pub workspace_id: Option<String>,
    pub created_by: Option<String>,
    pub created_by_name: String,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    pub last4: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// When the key's expiry was written to the audit log.
    pub expiry_recorded_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_address: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
