//! Settings → Product Access: restricting a member to the products granted
//! to them, and the grants themselves (None / View / Edit per product, or
//! View on every product of a workspace at once). Admins and the Owner
//! manage it; Admins and the Owner are never restricted.

use anyhow::Context;
use sea_orm::sea_query::{Expr, OnConflict, Order, Query, QueryStatementBuilder};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, JoinType,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait, Select,
};

use super::acting::Acting;
use super::audit::{self, AuditAction, Entry};
use super::error::ServiceError;
use super::members::MemberRow;
use super::page_rows::{self, Along, AlongRead, Page, PageQuery};
use super::products::{self, ListQuery};
use crate::clock::Clock;
use crate::db::{Db, Tenant};
use crate::domain::permission::Permission;
use crate::domain::policy::Action;
use crate::domain::policy::{ProductCaps, Roles};
use crate::domain::product::{self as rules, Grant};
use crate::domain::role::OrgRole;
use crate::domain::workspace::WorkspaceRole;
use crate::entities::{membership, product, product_grant, user, workspace};

/// Why a member cannot be restricted.
pub const NEVER_RESTRICTED: &str =
    "Admins and the Owner always see every product; their access cannot be restricted.";

/// Per member on the picker: whether restricted, and how many grants.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub restricted: bool,
    pub grants: u64,
}

#[derive(FromQueryResult)]
struct GrantCount {
    membership_id: String,
    grants: i64,
}

/// Restriction and grant count for each of `membership_ids` (one page).
pub async fn summaries(
    db: &Db,
    org_id: &str,
    membership_ids: &[String],
) -> anyhow::Result<Vec<(String, Summary)>> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    if membership_ids.is_empty() {
        return Ok(Vec::new());
    }
    // By primary key alone: with the organization condition beside the id
    // list, SQLite walks the organization's whole index instead. The tenant
    // is checked on the rows.
    let members: Vec<membership::Model> = membership::Entity::find()
        .filter(membership::Column::Id.is_in(membership_ids.iter().cloned()))
        .all(&conn)
        .await
        .context("failed to read the members' restrictions")?
        .into_iter()
        .filter(|m| m.org_id == org_id)
        .collect();
    let counts = product_grant::Entity::find()
        .select_only()
        .column(product_grant::Column::MembershipId)
        .expr_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "grants")
        .filter(product_grant::Column::MembershipId.is_in(membership_ids.iter().cloned()))
        .group_by(product_grant::Column::MembershipId)
        .into_model::<GrantCount>()
        .all(&conn)
        .await
        .context("failed to count the members' grants")?;
    Ok(members
        .into_iter()
        .map(|m| {
            let grants = counts
                .iter()
                .find(|c| c.membership_id == m.id)
                .map_or(0, |c| u64::try_from(c.grants).unwrap_or(0));
            (
                m.id,
                Summary {
                    restricted: m.products_restricted,
                    grants,
                },
            )
        })
        .collect())
}

/// One product on a member's Product Access page.
#[derive(Clone, Debug)]
pub struct GrantRow {
    pub product: products::ProductRow,
    pub grant: Option<Grant>,
    /// What the member may do with it, as of now.
    pub effective: ProductCaps,
}

/// The member whose access is being managed.
#[derive(Clone, Debug)]
pub struct Subject {
    pub membership: SubjectMembership,
    pub person: SubjectPerson,
}

/// What of the member's membership their Product Access needs.
#[derive(Clone, Debug)]
pub struct SubjectMembership {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    pub role: OrgRole,
    pub products_restricted: bool,
}

/// Who the member is (their id is the membership's `user_id`).
#[derive(Clone, Debug)]
pub struct SubjectPerson {
    pub name: String,
    pub email: String,
}

impl Subject {
    pub fn restricted(&self) -> bool {
        rules::is_restricted(self.membership.role, self.membership.products_restricted)
    }
}

/// A [`Subject`] as one row; its fields in the order of
/// [`SubjectRow::COLUMNS`] (see `page_rows`).
#[derive(FromQueryResult, serde::Deserialize)]
struct SubjectRow {
    membership_id: String,
    org_id: String,
    user_id: String,
    role: OrgRole,
    #[serde(deserialize_with = "page_rows::flag")]
    products_restricted: bool,
    name: String,
    email: String,
}

impl SubjectRow {
    const COLUMNS: &'static [&'static str] = &[
        "membership_id",
        "org_id",
        "user_id",
        "role",
        "products_restricted",
        "name",
        "email",
    ];

    /// The member `membership_id` of the organization, with who they are.
    fn select(org_id: &str, membership_id: &str) -> Select<membership::Entity> {
        membership::Entity::find()
            .select_only()
            .column_as(membership::Column::Id, "membership_id")
            .column(membership::Column::OrgId)
            .column(membership::Column::UserId)
            .column(membership::Column::Role)
            .column(membership::Column::ProductsRestricted)
            .column_as(user::Column::Name, "name")
            .column_as(user::Column::Email, "email")
            .join(JoinType::InnerJoin, membership::Relation::User.def())
            .filter(membership::Column::Id.eq(membership_id))
            .filter(membership::Column::OrgId.eq(org_id))
    }
}

impl From<SubjectRow> for Subject {
    fn from(row: SubjectRow) -> Self {
        Subject {
            person: SubjectPerson {
                name: row.name,
                email: row.email,
            },
            membership: SubjectMembership {
                id: row.membership_id,
                org_id: row.org_id,
                user_id: row.user_id,
                role: row.role,
                products_restricted: row.products_restricted,
            },
        }
    }
}

/// The member `membership_id` of the organization, or `None`.
pub async fn subject(
    db: &Db,
    org_id: &str,
    membership_id: &str,
) -> anyhow::Result<Option<Subject>> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    Ok(SubjectRow::select(org_id, membership_id)
        .into_model::<SubjectRow>()
        .one(&conn)
        .await
        .context("failed to load the member")?
        .map(Subject::from))
}

/// A member's Product Access page: who they are and, while they are
/// restricted, a page of the organization's products with their grants.
pub struct MemberAccess {
    pub subject: Subject,
    /// Empty unless the member is restricted.
    pub rows: Vec<GrantRow>,
    pub total: u64,
    /// The organization's workspaces as (id, title), for the filter.
    pub workspaces: Vec<(String, String)>,
}

/// The Product Access page of member `membership_id` of the organization:
/// the member, every product of the organization (filtered, a page of 50)
/// with their grant and what they may do with it, and the workspaces to
/// filter by, in one round trip; `None` when there is no such member.
pub async fn member_access(
    db: &Db,
    org_id: &str,
    membership_id: &str,
    query: &ListQuery,
) -> anyhow::Result<Option<MemberAccess>> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let page = member_access_query(db.backend(), org_id, membership_id, query)
        .read::<products::ProductRow, _>(&conn)
        .await
        .context("failed to list products")?;
    member_access_of(page)
}

/// [`member_access`] as a page read along with the session's statement
/// (SQLite; elsewhere `None`, and the page is read on its own).
pub fn member_access_along(
    db: &Db,
    org_id: &str,
    membership_id: &str,
    query: &ListQuery,
) -> Option<Along> {
    (db.backend() == DbBackend::Sqlite)
        .then(|| member_access_query(DbBackend::Sqlite, org_id, membership_id, query).along())
}

/// The page [`member_access_along`] read.
pub fn member_access_from_along(read: &AlongRead) -> anyhow::Result<Option<MemberAccess>> {
    member_access_of(Page::from_along(read)?)
}

/// The statement of [`member_access`]. The member's rows are found by the
/// membership's id within the organization; a membership of another
/// organization finds no member, and nothing of the page is shown.
fn member_access_query(
    backend: DbBackend,
    org_id: &str,
    membership_id: &str,
    query: &ListQuery,
) -> PageQuery {
    let select = products::filtered(
        product::Entity::find().filter(product::Column::OrgId.eq(org_id)),
        query,
    );
    let whole = query.workspace_id.is_none() && query.search.is_none();
    let (page, ids) = products::page_query(select, query.page, whole.then_some(org_id));
    let grants = product_grant::Entity::find()
        .select_only()
        .column(product_grant::Column::ProductId)
        .column(product_grant::Column::Access)
        .filter(product_grant::Column::OrgId.eq(org_id))
        .filter(product_grant::Column::MembershipId.eq(membership_id))
        .filter(product_grant::Column::ProductId.in_subquery(ids))
        .into_query();
    let person = membership::Entity::find()
        .select_only()
        .column(membership::Column::UserId)
        .filter(membership::Column::Id.eq(membership_id))
        .filter(membership::Column::OrgId.eq(org_id))
        .into_query();
    page.beside(
        "subject",
        page_rows::rows_expr(
            backend,
            SubjectRow::select(org_id, membership_id).into_query(),
            SubjectRow::COLUMNS,
            &[("membership_id", Order::Asc)],
        ),
    )
    .beside(
        "grants",
        page_rows::rows_expr(
            backend,
            grants,
            &["product_id", "access"],
            &[("product_id", Order::Asc)],
        ),
    )
    .beside(
        "direct",
        super::workspaces::direct_roles_expr(
            backend,
            org_id,
            Expr::SubQuery(None, Box::new(person.into_sub_query_statement())),
        ),
    )
    .beside(
        "workspaces",
        super::workspaces::titles_expr(backend, org_id),
    )
}

/// The member's page from what [`member_access_query`] read.
fn member_access_of(page: Page<products::ProductRow>) -> anyhow::Result<Option<MemberAccess>> {
    let Some(subject) = page
        .get_rows::<SubjectRow>("subject")?
        .into_iter()
        .next()
        .map(Subject::from)
    else {
        return Ok(None);
    };
    let workspaces = page.get_rows("workspaces")?;
    if !subject.restricted() {
        return Ok(Some(MemberAccess {
            subject,
            rows: Vec::new(),
            total: 0,
            workspaces,
        }));
    }
    let total = u64::try_from(page.get::<i64>("total")?).unwrap_or(0);
    let grants: Vec<(String, Grant)> = page.get_rows("grants")?;
    let direct: Vec<(String, WorkspaceRole)> = page.get_rows("direct")?;
    let rows = page
        .rows
        .into_iter()
        .map(|product| {
            let grant = grants
                .iter()
                .find(|(id, _)| *id == product.id)
                .map(|(_, access)| *access);
            let role = direct
                .iter()
                .find(|(ws, _)| *ws == product.workspace_id)
                .map(|(_, r)| *r);
            let effective = ProductCaps::of(Roles::on_product(
                subject.membership.role,
                role,
                true,
                grant,
            ));
            GrantRow {
                product,
                grant,
                effective,
            }
        })
        .collect();
    Ok(Some(MemberAccess {
        subject,
        rows,
        total,
        workspaces,
    }))
}

/// One product's row for the member, after a change.
pub async fn grant_row(
    db: &Db,
    subject: &Subject,
    product_id: &str,
) -> anyhow::Result<Option<GrantRow>> {
    let org_id = subject.membership.org_id.as_str();
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let select = product::Entity::find()
        .filter(product::Column::OrgId.eq(org_id))
        .filter(product::Column::Id.eq(product_id));
    let (rows, _) = products::page_of(&conn, select, 1).await?;
    let Some(product) = rows.into_iter().next() else {
        return Ok(None);
    };
    let grant = super::acting::grant_of(&conn, &subject.membership.id, product_id).await?;
    let direct =
        super::acting::direct_role(&conn, &product.workspace_id, &subject.membership.user_id)
            .await?;
    let effective = ProductCaps::of(Roles::on_product(
        subject.membership.role,
        direct,
        subject.restricted(),
        grant,
    ));
    Ok(Some(GrantRow {
        product,
        grant,
        effective,
    }))
}

/// A grant as the member's page shows it.
#[derive(Clone, Debug, FromQueryResult)]
pub struct GrantSummary {
    pub product_id: String,
    pub name: String,
    pub workspace_title: String,
    pub access: Grant,
}

/// The member's first `limit` grants by product name, and how many there
/// are in all.
pub async fn grants_of(
    db: &Db,
    org_id: &str,
    membership_id: &str,
    limit: u64,
) -> anyhow::Result<(Vec<GrantSummary>, u64)> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let select = product_grant::Entity::find()
        .filter(product_grant::Column::OrgId.eq(org_id))
        .filter(product_grant::Column::MembershipId.eq(membership_id));
    let total = select
        .clone()
        .count(&conn)
        .await
        .context("failed to count grants")?;
    let rows = select
        .select_only()
        .column(product_grant::Column::ProductId)
        .column_as(product::Column::Name, "name")
        .column_as(workspace::Column::Title, "workspace_title")
        .column(product_grant::Column::Access)
        .join(JoinType::InnerJoin, product_grant::Relation::Product.def())
        .join(JoinType::InnerJoin, product::Relation::Workspace.def())
        .order_by_asc(product::Column::NameNormalized)
        .limit(limit)
        .into_model::<GrantSummary>()
        .all(&conn)
        .await
        .context("failed to read grants")?;
    Ok((rows, total))
}

/// The target member inside the transaction, after checking the actor may
/// manage product access.
async fn authorized_target<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    membership_id: &str,
) -> Result<membership::Model, ServiceError> {
    acting
        .authorize(conn, Action::Use(Permission::ManageProductAccess))
        .await?;
    super::acting::membership(conn, &acting.org_id, membership_id).await
}

/// Switches the member's restriction on or off. Grants stay either way and
/// apply whenever the restriction is on.
pub async fn set_restricted(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    membership_id: &str,
    restricted: bool,
) -> Result<(), ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let target = authorized_target(&txn, acting, membership_id).await?;
    if restricted && !rules::may_be_restricted(target.role) {
        return Err(ServiceError::invalid("restricted", NEVER_RESTRICTED));
    }
    if target.products_restricted == restricted {
        return Ok(());
    }
    let changed = membership::Entity::update_many()
        .col_expr(
            membership::Column::ProductsRestricted,
            Expr::value(restricted),
        )
        .filter(membership::Column::Id.eq(target.id.as_str()))
        .filter(membership::Column::Role.eq(target.role))
        .exec(&txn)
        .await?;
    if changed.rows_affected != 1 {
        return Err(ServiceError::Conflict(
            "This member changed meanwhile. Reload and try again.",
        ));
    }
    let label = describe(&txn, &target).await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: if restricted {
                AuditAction::ProductAccessRestricted
            } else {
                AuditAction::ProductAccessUnrestricted
            },
            target_type: Some("member"),
            target_id: Some(&target.user_id),
            target_label: Some(&label),
            before: Some(restriction_label(target.products_restricted).into()),
            after: Some(restriction_label(restricted).into()),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

fn restriction_label(restricted: bool) -> &'static str {
    if restricted {
        "restricted"
    } else {
        "all products"
    }
}

async fn describe<C: ConnectionTrait>(
    conn: &C,
    target: &membership::Model,
) -> anyhow::Result<String> {
    Ok(user::Entity::find_by_id(target.user_id.clone())
        .one(conn)
        .await
        .context("failed to load the member's account")?
        .map(|u| u.email)
        .unwrap_or_else(|| target.email_normalized.clone()))
}

fn grant_label(grant: Option<Grant>) -> String {
    grant.map_or("none", Grant::as_str).to_string()
}

/// Sets the member's grant on one product (`None` takes it away).
pub async fn set_grant(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    membership_id: &str,
    product_id: &str,
    grant: Option<Grant>,
) -> Result<(), ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let target = authorized_target(&txn, acting, membership_id).await?;
    let found = product::Entity::find_by_id(product_id.to_string())
        .filter(product::Column::OrgId.eq(acting.org_id.as_str()))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let before = super::acting::grant_of(&txn, &target.id, &found.id).await?;
    if before == grant {
        return Ok(());
    }
    match grant {
        Some(access) => products::upsert_grant(&txn, &target.id, &found, access, now).await?,
        None => {
            product_grant::Entity::delete_many()
                .filter(product_grant::Column::MembershipId.eq(target.id.as_str()))
                .filter(product_grant::Column::ProductId.eq(found.id.as_str()))
                .exec(&txn)
                .await?;
        }
    }
    let label = describe(&txn, &target).await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::ProductAccessChanged,
            target_type: Some("member"),
            target_id: Some(&target.user_id),
            target_label: Some(&label),
            before: Some(format!("{}: {}", found.name, grant_label(before))),
            after: Some(format!("{}: {}", found.name, grant_label(grant))),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Grants View on every product of a workspace the member has no grant on
/// yet (Edit grants stay); returns how many were added.
pub async fn grant_view_on_workspace(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    membership_id: &str,
    workspace_id: &str,
) -> Result<(workspace::Model, u64), ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let target = authorized_target(&txn, acting, membership_id).await?;
    let ws = workspace::Entity::find_by_id(workspace_id.to_string())
        .filter(workspace::Column::OrgId.eq(acting.org_id.as_str()))
        .one(&txn)
        .await?
        .ok_or_else(|| ServiceError::invalid("workspace", "Choose a workspace."))?;
    let mut already = Query::select();
    already
        .column(product_grant::Column::ProductId)
        .from(product_grant::Entity)
        .and_where(product_grant::Column::MembershipId.eq(target.id.as_str()));
    let mut source = Query::select();
    source
        .expr(Expr::val(target.id.as_str()))
        .column(product::Column::Id)
        .column(product::Column::OrgId)
        .expr(Expr::val(Grant::View.as_str()))
        .expr(Expr::val(now))
        .from(product::Entity)
        .and_where(product::Column::WorkspaceId.eq(ws.id.as_str()))
        .and_where(product::Column::OrgId.eq(acting.org_id.as_str()))
        .and_where(product::Column::Id.not_in_subquery(already));
    let mut insert = Query::insert();
    insert
        .into_table(product_grant::Entity)
        .columns([
            product_grant::Column::MembershipId,
            product_grant::Column::ProductId,
            product_grant::Column::OrgId,
            product_grant::Column::Access,
            product_grant::Column::CreatedAt,
        ])
        .select_from(source)
        .context("failed to build the bulk grant")?
        // A grant set meanwhile by someone else stays as it is.
        .on_conflict(
            OnConflict::columns([
                product_grant::Column::MembershipId,
                product_grant::Column::ProductId,
            ])
            .do_nothing()
            .to_owned(),
        );
    let added = txn
        .execute(&insert)
        .await
        .context("failed to grant View on the workspace's products")?
        .rows_affected();
    if added > 0 {
        let label = describe(&txn, &target).await?;
        audit::record(
            &txn,
            &acting.actor,
            Entry {
                org_id: Some(&acting.org_id),
                action: AuditAction::ProductAccessBulkGranted,
                target_type: Some("member"),
                target_id: Some(&target.user_id),
                target_label: Some(&label),
                before: None,
                after: Some(format!(
                    "View on {added} {} of {}",
                    if added == 1 { "product" } else { "products" },
                    ws.title
                )),
            },
            now,
        )
        .await?;
    }
    txn.commit().await?;
    Ok((ws, added))
}

/// Members eligible for the picker, with their access summaries.
pub type PickerRow = (MemberRow, Summary);

/// Whether an org role may be restricted, for the picker's words.
pub fn restrictable(role: OrgRole) -> bool {
    rules::may_be_restricted(role)
}
