use sea_orm::entity::prelude::*;

/// A custom role held by a member, organization-wide (`workspace_id`
/// empty, `scope_key` '') or in one workspace (`scope_key` its id).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_assignments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    pub role_id: String,
    pub membership_id: String,
    pub workspace_id: Option<String>,
    pub scope_key: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
