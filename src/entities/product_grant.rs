use sea_orm::entity::prelude::*;

use crate::domain::product::Grant;

/// What a restricted member may do with one product. (Deserialize: a page
/// of them is read as one value, see `services::page_rows`.)
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Deserialize)]
#[sea_orm(table_name = "product_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub membership_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub product_id: String,
    pub org_id: String,
    pub access: Grant,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::product::Entity",
        from = "Column::ProductId",
        to = "super::product::Column::Id",
        on_delete = "Cascade"
    )]
    Product,
}

impl Related<super::product::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Product.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
