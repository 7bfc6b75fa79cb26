use sea_orm::entity::prelude::*;

/// One of an organization's own modules (Roster's built-in modules live
/// in `domain::module`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "custom_modules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    /// What the host product asks by ("campaigns").
    pub module_key: String,
    pub name: String,
    pub description: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
