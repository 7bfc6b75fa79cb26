use sea_orm::entity::prelude::*;

/// A person's TOTP secret. Until `confirmed_at` is set it is a set-up not
/// yet confirmed with a code, and sign-in does not ask for one.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "two_factor")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// Base32, no padding: what the authenticator app is given.
    pub secret: String,
    pub confirmed_at: Option<i64>,
    /// The newest 30-second step a code was accepted for.
    pub last_step: Option<i64>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
