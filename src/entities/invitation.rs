use sea_orm::entity::prelude::*;

use crate::domain::role::OrgRole;

/// The stored state; "expired" is a pending invitation past `expires_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum StoredState {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "accepted")]
    Accepted,
    #[sea_orm(string_value = "revoked")]
    Revoked,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub org_id: String,
    /// The address as the inviter typed it.
    pub email: String,
    pub email_normalized: String,
    pub role: OrgRole,
    /// SHA-256 of the token in the link, hex.
    pub token_hash: String,
    pub state: StoredState,
    pub invited_by: Option<String>,
    pub invited_by_name: String,
    pub created_at: i64,
    /// The last send; the link is valid seven days from it.
    pub sent_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub accepted_by: Option<String>,
    pub revoked_at: Option<i64>,
    /// The message of the last send, for its delivery state.
    pub message_id: Option<String>,
    /// An invitation straight into a workspace names it and the role there.
    pub workspace_id: Option<String>,
    pub workspace_role: Option<crate::domain::workspace::WorkspaceRole>,
    /// The organization API key the invitation was sent with, if any: it
    /// then stands behind the invitation instead of a person.
    pub invited_by_key_id: Option<String>,
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
    #[sea_orm(
        belongs_to = "super::outbox_message::Entity",
        from = "Column::MessageId",
        to = "super::outbox_message::Column::Id",
        on_delete = "SetNull"
    )]
    Message,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::outbox_message::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Message.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
