use sea_orm::entity::prelude::*;

/// An email domain whose confirmed addresses may join the organization,
/// once the organization has proven it controls the domain (a TXT record
/// holding `token`). Pending while `verified_at` is empty.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "auto_join_domains")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub domain: String,
    /// Names the row in URLs ("Check now"); unique.
    pub id: String,
    /// The random value to publish in DNS.
    pub token: String,
    pub created_at: i64,
    /// When DNS proved the organization controls the domain; only then
    /// does it welcome anyone.
    pub verified_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrgId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
