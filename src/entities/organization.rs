use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: i64,
    /// The role of people who join by a verified address on one of the
    /// organization's auto-join domains (Member or Viewer).
    pub auto_join_role: crate::domain::role::OrgRole,
    /// The most seats (members and pending invitations) the operator
    /// allows; `None` for no limit.
    pub seat_limit: Option<i64>,
    /// When the Owner or an Admin began requiring two-factor sign-in.
    pub two_factor_required_at: Option<i64>,
    /// Days members have to set two-factor up once it is required.
    pub two_factor_grace_days: i32,
    /// An idle timeout stricter than the server's, for every member.
    pub session_idle_minutes: Option<i32>,
    /// A session lifetime stricter than the server's, for every member.
    pub session_lifetime_hours: Option<i32>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::membership::Entity")]
    Membership,
    #[sea_orm(has_many = "super::workspace::Entity")]
    Workspace,
}

impl Related<super::membership::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Membership.def()
    }
}

impl Related<super::workspace::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workspace.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
