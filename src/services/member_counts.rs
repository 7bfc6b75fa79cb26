//! How many people an organization has, by role, from the counts the
//! database triggers keep (no scan of the memberships).

use anyhow::Context;
use sea_orm::sea_query::{Expr, Query, QueryStatementBuilder};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::db::{Db, Tenant};
use crate::domain::role::OrgRole;
use crate::entities::member_count;

/// The members counted for an unsearched view, as a scalar subquery over
/// the counts the triggers keep.
pub(crate) fn total_expr(org_id: &str, role: Option<OrgRole>) -> Expr {
    let mut counts = Query::select();
    counts
        .expr(Expr::cust(
            "CAST(COALESCE(SUM(member_counts.members), 0) AS BIGINT)",
        ))
        .from(member_count::Entity)
        .and_where(member_count::Column::OrgId.eq(org_id));
    if let Some(role) = role {
        counts.and_where(member_count::Column::Role.eq(role));
    }
    Expr::SubQuery(None, Box::new(counts.into_sub_query_statement()))
}

/// The total of an unsearched view (everyone with any access when `role`
/// is `None`).
pub(crate) async fn total(db: &Db, org_id: &str, role: Option<OrgRole>) -> anyhow::Result<u64> {
    count(db, org_id, |counted| {
        role.is_none_or(|role| counted == role)
    })
    .await
}

/// Everyone with an organization role (not a workspace guest): the people
/// who inherit into every workspace.
pub(crate) async fn with_org_role(db: &Db, org_id: &str) -> anyhow::Result<u64> {
    count(db, org_id, |counted| counted != OrgRole::None).await
}

async fn count(
    db: &Db,
    org_id: &str,
    counts_role: impl Fn(OrgRole) -> bool,
) -> anyhow::Result<u64> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let counts = member_count::Entity::find()
        .filter(member_count::Column::OrgId.eq(org_id))
        .all(&conn)
        .await
        .context("failed to read member counts")?;
    let total: i64 = counts
        .iter()
        .filter(|c| counts_role(c.role))
        .map(|c| c.members)
        .sum();
    Ok(u64::try_from(total).unwrap_or(0))
}
