use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub email: String,
    pub email_normalized: String,
    pub name: String,
    pub password_hash: String,
    pub email_verified_at: Option<i64>,
    pub session_epoch: i64,
    pub created_at: i64,
    pub last_active_at: Option<i64>,
    /// The organization the person chose at sign-up to join once their
    /// address is confirmed.
    pub join_org_id: Option<String>,
    /// When two-factor sign-in was turned on; `None` while it is off.
    pub two_factor_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::membership::Entity")]
    Membership,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Membership.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
