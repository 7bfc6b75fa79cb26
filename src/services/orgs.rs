//! Organizations: creation (with the first workspace), the list a person
//! belongs to, and the membership that scopes every tenant request.

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, RelationTrait, Set,
};

use super::audit::{self, Actor, Entry};
use super::new_id;
use crate::clock::Clock;
use crate::db::Db;
use crate::domain::names::OrgName;
use crate::domain::role::OrgRole;
use crate::entities::{membership, organization, user, workspace};

/// The first workspace of every organization.
pub const FIRST_WORKSPACE: &str = "General";

/// Creates an organization owned by `owner`, with its first workspace,
/// inside the caller's transaction.
pub async fn create_in<C: ConnectionTrait>(
    conn: &C,
    owner: &user::Model,
    name: &OrgName,
    actor: &Actor,
    now: i64,
) -> anyhow::Result<organization::Model> {
    let org = organization::ActiveModel {
        id: Set(new_id()),
        name: Set(name.as_str().to_string()),
        created_at: Set(now),
    }
    .insert(conn)
    .await
    .context("failed to create the organization")?;
    membership::ActiveModel {
        id: Set(new_id()),
        org_id: Set(org.id.clone()),
        user_id: Set(owner.id.clone()),
        role: Set(OrgRole::Owner),
        created_at: Set(now),
        last_active_at: Set(Some(now)),
    }
    .insert(conn)
    .await
    .context("failed to make the creator the Owner")?;
    workspace::ActiveModel {
        id: Set(new_id()),
        org_id: Set(org.id.clone()),
        title: Set(FIRST_WORKSPACE.to_string()),
        title_normalized: Set(FIRST_WORKSPACE.to_lowercase()),
        description: Set(String::new()),
        created_at: Set(now),
    }
    .insert(conn)
    .await
    .context("failed to create the first workspace")?;
    audit::record(
        conn,
        actor,
        Entry {
            org_id: Some(&org.id),
            action: "organization.created",
            target_type: Some("organization"),
            target_id: Some(&org.id),
            target_label: Some(&org.name),
            after: Some(org.name.clone()),
            ..Default::default()
        },
        now,
    )
    .await?;
    Ok(org)
}

/// Creates another organization for a signed-in person.
pub async fn create(
    db: &Db,
    clock: &Clock,
    owner: &user::Model,
    name: &OrgName,
    actor: &Actor,
) -> anyhow::Result<organization::Model> {
    let txn = db.begin_write().await.context("failed to begin")?;
    let org = create_in(&txn, owner, name, actor, clock.now()).await?;
    txn.commit()
        .await
        .context("failed to commit the new organization")?;
    Ok(org)
}

/// An organization a person belongs to, for the switcher.
#[derive(Clone, Debug)]
pub struct OrgSummary {
    pub id: String,
    pub name: String,
    pub role: OrgRole,
}

/// Every organization the person belongs to, by name.
pub async fn of_user(db: &Db, user_id: &str) -> anyhow::Result<Vec<OrgSummary>> {
    let rows = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .find_also_related(organization::Entity)
        .order_by_asc(organization::Column::Name)
        .all(db.read())
        .await
        .context("failed to list the person's organizations")?;
    Ok(rows
        .into_iter()
        .filter_map(|(m, org)| {
            org.map(|org| OrgSummary {
                id: org.id,
                name: org.name,
                role: m.role,
            })
        })
        .collect())
}

/// The organization and the person's membership in it, if they belong.
pub async fn membership_in(
    db: &Db,
    org_id: &str,
    user_id: &str,
) -> anyhow::Result<Option<(organization::Model, membership::Model)>> {
    let row = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org_id))
        .filter(membership::Column::UserId.eq(user_id))
        .find_also_related(organization::Entity)
        .one(db.read())
        .await
        .context("failed to load the membership")?;
    Ok(row.and_then(|(m, org)| org.map(|org| (org, m))))
}

/// Records that a member used the organization, at most once a minute.
pub async fn touch_membership(
    db: &Db,
    membership: &membership::Model,
    now: i64,
) -> anyhow::Result<()> {
    if membership.last_active_at.is_some_and(|at| now - at < 60) {
        return Ok(());
    }
    membership::Entity::update_many()
        .col_expr(membership::Column::LastActiveAt, Expr::value(now))
        .filter(membership::Column::Id.eq(membership.id.as_str()))
        .exec(db.write())
        .await
        .context("failed to record member activity")?;
    Ok(())
}

/// One row of the member list.
#[derive(Clone, Debug, sea_orm::FromQueryResult)]
pub struct MemberRow {
    pub membership_id: String,
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: OrgRole,
    pub joined_at: i64,
    pub last_active_at: Option<i64>,
}

pub const MEMBERS_PER_PAGE: u64 = 50;

/// A page of the organization's members, by name, and the total.
pub async fn members_page(
    db: &Db,
    org_id: &str,
    page: u64,
) -> anyhow::Result<(Vec<MemberRow>, u64)> {
    let query = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org_id))
        .filter(membership::Column::Role.ne(OrgRole::None));
    let total = query
        .clone()
        .count(db.read())
        .await
        .context("failed to count members")?;
    let rows = query
        .select_only()
        .column_as(membership::Column::Id, "membership_id")
        .column_as(membership::Column::UserId, "user_id")
        .column_as(user::Column::Name, "name")
        .column_as(user::Column::Email, "email")
        .column_as(membership::Column::Role, "role")
        .column_as(membership::Column::CreatedAt, "joined_at")
        .column_as(membership::Column::LastActiveAt, "last_active_at")
        .join(JoinType::InnerJoin, membership::Relation::User.def())
        .order_by_asc(user::Column::Name)
        .order_by_asc(membership::Column::Id)
        .offset(page.saturating_sub(1) * MEMBERS_PER_PAGE)
        .limit(MEMBERS_PER_PAGE)
        .into_model::<MemberRow>()
        .all(db.read())
        .await
        .context("failed to list members")?;
    Ok((rows, total))
}
