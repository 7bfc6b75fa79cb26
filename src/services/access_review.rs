//! Access review: everyone with any access (workspace guests included)
//! with their organization role, direct
//! workspace roles, product restriction and last activity, the least
//! recently active first, with those inactive for more than N days flagged.

use anyhow::Context;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, JoinType, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, RelationTrait,
};

use super::members::MemberRow;
use super::product_access::{self, Summary};
use crate::db::{Db, Tenant};
use crate::domain::workspace::WorkspaceRole;
use crate::entities::{membership, user, workspace, workspace_member};

pub const PER_PAGE: u64 = 50;
pub const DEFAULT_DAYS: u32 = 90;
pub const MAX_DAYS: u32 = 3650;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReviewQuery {
    /// Members not active for more than this many days are flagged.
    pub days: u32,
    /// Only the flagged ones.
    pub only_inactive: bool,
    /// Only people with (`true`) or without (`false`) two-factor sign-in.
    pub two_factor: Option<bool>,
    /// 1-based.
    pub page: u64,
}

/// One member under review.
#[derive(Clone, Debug)]
pub struct ReviewRow {
    pub member: MemberRow,
    /// Direct workspace roles, by workspace title.
    pub workspace_roles: Vec<(String, WorkspaceRole)>,
    pub products: Summary,
    pub inactive: bool,
}

/// The moment before which a member counts as inactive.
pub fn cutoff(now: i64, days: u32) -> i64 {
    now - i64::from(days) * 86_400
}

fn members_in(
    org_id: &str,
    only_inactive_before: Option<i64>,
) -> sea_orm::Select<membership::Entity> {
    // Everyone with any access, workspace guests included.
    let mut select = membership::Entity::find().filter(membership::Column::OrgId.eq(org_id));
    if let Some(cutoff) = only_inactive_before {
        select = select.filter(membership::Column::LastActiveAt.lt(cutoff));
    }
    select
}

/// People with (`true`) or without (`false`) two-factor sign-in, on a
/// select that has joined their accounts.
fn with_two_factor(on: bool) -> sea_orm::Condition {
    let column = user::Column::TwoFactorAt;
    sea_orm::Condition::all().add(if on {
        column.is_not_null()
    } else {
        column.is_null()
    })
}

/// A page of members, least recently active first (never active first of
/// all), and how many match.
pub async fn page(
    db: &Db,
    org_id: &str,
    now: i64,
    query: &ReviewQuery,
) -> anyhow::Result<(Vec<ReviewRow>, u64)> {
    let before = cutoff(now, query.days);
    let filter = query.only_inactive.then_some(before);
    // Every member: the counts the triggers keep.
    let everyone = super::member_counts::total(db, org_id, None).await?;
    let total = match (filter, query.two_factor) {
        (_, Some(on)) => members_in(org_id, filter)
            .join(JoinType::InnerJoin, membership::Relation::User.def())
            .filter(with_two_factor(on))
            .count(&db.read_in(Tenant::org(org_id)).await?)
            .await
            .context("failed to count members for review")?,
        (Some(before), None) => inactive_total(db, org_id, before, everyone).await?,
        (None, None) => everyone,
    };
    let members = rows(
        db,
        org_id,
        filter,
        query.two_factor,
        query.page.saturating_sub(1).saturating_mul(PER_PAGE),
        None,
        PER_PAGE,
    )
    .await?;
    Ok((with_details(db, org_id, before, members).await?, total))
}

/// Up to this many active members are counted to find the inactive ones by
/// difference.
const ACTIVE_COUNT_CAP: u64 = 20_000;

/// How many members have not been active since `before`. Where few are
/// active (the usual case for a long inactivity window is the reverse, but
/// a review is asked for when many are idle), counting the active ones and
/// subtracting from the stored total reads far fewer index entries; past
/// the cap the inactive ones are counted directly.
async fn inactive_total(db: &Db, org_id: &str, before: i64, everyone: u64) -> anyhow::Result<u64> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let active = members_in(org_id, None)
        .filter(membership::Column::LastActiveAt.gte(before))
        .select_only()
        .column(membership::Column::Id)
        .limit(ACTIVE_COUNT_CAP)
        .into_query();
    let mut count = Query::select();
    count
        .expr_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .from_subquery(active, "active");
    let backend = db.backend();
    let active = conn
        .query_one_raw(backend.build(&count))
        .await
        .context("failed to count active members")?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()
        .context("failed to read the count")?
        .map_or(0, |n| u64::try_from(n).unwrap_or(0));
    if active < ACTIVE_COUNT_CAP {
        return Ok(everyone.saturating_sub(active));
    }
    members_in(org_id, Some(before))
        .count(&conn)
        .await
        .context("failed to count inactive members")
}

/// Where the next batch of an export starts: after this member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct After {
    pub last_active_at: i64,
    pub membership_id: String,
}

/// `limit` members from `offset` (or after `after`, which stays cheap deep
/// in the list), least recently active first.
pub async fn rows(
    db: &Db,
    org_id: &str,
    only_inactive_before: Option<i64>,
    two_factor: Option<bool>,
    offset: u64,
    after: Option<&After>,
    limit: u64,
) -> anyhow::Result<Vec<MemberRow>> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let mut select = members_in(org_id, only_inactive_before);
    if let Some(after) = after {
        select = select.filter(
            Expr::tuple([
                Expr::col((membership::Entity, membership::Column::LastActiveAt)),
                Expr::col((membership::Entity, membership::Column::Id)),
            ])
            .gt(Expr::tuple([
                Expr::val(after.last_active_at),
                Expr::val(after.membership_id.clone()),
            ])),
        );
    }
    let mut select = super::members::person_columns(select);
    if let Some(on) = two_factor {
        select = select.filter(with_two_factor(on));
    }
    select
        .order_by_asc(membership::Column::LastActiveAt)
        .order_by_asc(membership::Column::Id)
        .offset(offset)
        .limit(limit)
        .into_model::<MemberRow>()
        .all(&conn)
        .await
        .context("failed to list members for review")
}

/// Adds workspace roles and product access to a page of members.
pub async fn with_details(
    db: &Db,
    org_id: &str,
    inactive_before: i64,
    members: Vec<MemberRow>,
) -> anyhow::Result<Vec<ReviewRow>> {
    let user_ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
    let roles = workspace_member::Entity::find()
        .filter(workspace_member::Column::OrgId.eq(org_id))
        .filter(workspace_member::Column::UserId.is_in(user_ids))
        .find_also_related(workspace::Entity)
        .all(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to read workspace roles")?;
    let ids: Vec<String> = members.iter().map(|m| m.membership_id.clone()).collect();
    let summaries = product_access::summaries(db, org_id, &ids).await?;
    Ok(members
        .into_iter()
        .map(|member| {
            let mut workspace_roles: Vec<(String, WorkspaceRole)> = roles
                .iter()
                .filter(|(r, _)| r.user_id == member.user_id)
                .filter_map(|(r, w)| w.as_ref().map(|w| (w.title.clone(), r.role)))
                .collect();
            workspace_roles.sort_by_key(|(title, _)| title.to_lowercase());
            let products = summaries
                .iter()
                .find(|(id, _)| *id == member.membership_id)
                .map(|(_, s)| *s)
                .unwrap_or_default();
            ReviewRow {
                inactive: member.last_active_at < inactive_before,
                member,
                workspace_roles,
                products,
            }
        })
        .collect())
}
