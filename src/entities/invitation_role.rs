use sea_orm::entity::prelude::*;

/// A custom role an invitation carries, granted on acceptance where the
/// invitation grants its base role.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitation_roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub invitation_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub role_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
