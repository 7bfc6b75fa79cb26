use sea_orm::entity::prelude::*;

/// The first answer to a create request sent with an `Idempotency-Key`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_idempotency")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub idempotency_key: String,
    /// SHA-256 of the method, path and body the key was first used with.
    pub request_hash: String,
    /// `None` while the first request is still running.
    pub status: Option<i32>,
    pub body: Option<String>,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
