//! Products: the list a person may see, a product's page, creating,
//! editing, deleting and assigning owners. Who may do what with a product
//! is `domain::policy` (`Action::OnProduct`); this module only gathers its
//! inputs (workspace roles, restriction, grant) and asks it, once more
//! inside each write.

use anyhow::Context;
use sea_orm::ExprTrait;
use sea_orm::sea_query::{
    Alias, Expr, LockType, OnConflict, Order, Query, QueryStatementBuilder, SelectStatement,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait,
    Select, Set,
};

use super::acting::Acting;
use super::acting::{direct_role, grant_of, refuse_unseen};
use super::audit::{self, AuditAction, Entry};
use super::error::ServiceError;
use super::new_id;
use super::page_rows::PageQuery;
use crate::clock::Clock;
use crate::db::{Db, Tenant};
use crate::domain::names::{self, Label, LabelKind};
use crate::domain::permission::Permission;
use crate::domain::policy::{self, Action, Denied, ProductAction, ProductCaps, Roles};
use crate::domain::product::{self as rules, Grant};
use crate::domain::role::OrgRole;
use crate::domain::workspace::{Access, WorkspaceRole, WsPermission};
use crate::entities::{membership, product, product_grant, user, workspace, workspace_member};

pub const PER_PAGE: u64 = 50;
pub const MAX_NAME_CHARS: usize = LabelKind::ProductName.max_chars();
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// Validates a product's free-text description.
pub fn parse_description(input: &str) -> Result<String, String> {
    names::description(input, MAX_DESCRIPTION_CHARS)
}

/// The person looking, as their membership says.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub org_id: String,
    pub user_id: String,
    pub membership_id: String,
    pub org_role: OrgRole,
    /// Whether a restriction is in effect for them.
    pub restricted: bool,
    /// An organization key limited to one workspace: that workspace and
    /// its role there (it holds no row in `workspace_members`).
    pub only_workspace: Option<(String, WorkspaceRole)>,
}

impl Viewer {
    /// The rows the viewer's reads may see.
    pub fn tenant(&self) -> Tenant<'_> {
        Tenant::org(&self.org_id)
    }

    pub fn of(membership: &membership::Model) -> Self {
        Viewer {
            org_id: membership.org_id.clone(),
            user_id: membership.user_id.clone(),
            membership_id: membership.id.clone(),
            org_role: membership.role,
            restricted: rules::is_restricted(membership.role, membership.products_restricted),
            only_workspace: None,
        }
    }

    /// The acting person, or organization key, as a viewer of products.
    pub async fn acting<C: ConnectionTrait>(
        conn: &C,
        acting: &Acting,
    ) -> Result<Self, ServiceError> {
        let mut viewer = Viewer::of(&acting.membership(conn).await?);
        viewer.only_workspace = acting.org_key.as_ref().and_then(|k| k.workspace.clone());
        Ok(viewer)
    }

    async fn direct_role<C: ConnectionTrait>(
        &self,
        conn: &C,
        workspace_id: &str,
    ) -> anyhow::Result<Option<WorkspaceRole>> {
        match &self.only_workspace {
            Some((ws, role)) => Ok((ws == workspace_id).then_some(*role)),
            None => direct_role(conn, workspace_id, &self.user_id).await,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Lower-cased fragment of the name.
    pub search: Option<String>,
    pub workspace_id: Option<String>,
    /// 1-based.
    pub page: u64,
}

/// A product on a list; its fields in the order of
/// [`ProductRow::COLUMNS`] (see `page_rows`).
#[derive(Clone, Debug, FromQueryResult, serde::Deserialize)]
pub struct ProductRow {
    pub id: String,
    pub workspace_id: String,
    pub workspace_title: String,
    pub name: String,
    pub owner_name: Option<String>,
    #[serde(deserialize_with = "super::page_rows::flag")]
    pub needs_owner: bool,
    pub created_at: i64,
}

impl ProductRow {
    const COLUMNS: &'static [&'static str] = &[
        "id",
        "workspace_id",
        "workspace_title",
        "name",
        "owner_name",
        "needs_owner",
        "created_at",
    ];
}

/// The products of the organization `viewer` may see: those of the
/// workspaces they can see (a workspace guest: where they hold a direct
/// role) and, when restricted, only those granted to them.
fn visible(viewer: &Viewer, backend: DbBackend) -> Select<product::Entity> {
    let mut select = if viewer.restricted && backend == DbBackend::Sqlite {
        // The organization is checked with a unary `+`, which keeps SQLite
        // from walking the organization's name index and probing every
        // product: the member's grants (the primary key's prefix) drive.
        product::Entity::find().filter(Expr::cust_with_values(
            "+products.org_id = ?",
            [viewer.org_id.clone()],
        ))
    } else {
        product::Entity::find().filter(product::Column::OrgId.eq(&viewer.org_id))
    };
    if let Some((workspace_id, _)) = &viewer.only_workspace {
        select = select.filter(product::Column::WorkspaceId.eq(workspace_id.as_str()));
    } else if viewer.org_role == OrgRole::None {
        let mut theirs = Query::select();
        theirs
            .column(workspace_member::Column::WorkspaceId)
            .from(workspace_member::Entity)
            .and_where(workspace_member::Column::OrgId.eq(&viewer.org_id))
            .and_where(workspace_member::Column::UserId.eq(&viewer.user_id));
        select = select.filter(product::Column::WorkspaceId.in_subquery(theirs));
    }
    if viewer.restricted {
        let granted = granted_ids(&viewer.membership_id);
        select = select.filter(product::Column::Id.in_subquery(granted));
    }
    select
}

fn granted_ids(membership_id: &str) -> sea_orm::sea_query::SelectStatement {
    let mut granted = Query::select();
    granted
        .column(product_grant::Column::ProductId)
        .from(product_grant::Entity)
        .and_where(product_grant::Column::MembershipId.eq(membership_id));
    granted
}

pub(crate) fn filtered(
    mut select: Select<product::Entity>,
    query: &ListQuery,
) -> Select<product::Entity> {
    if let Some(workspace_id) = &query.workspace_id {
        select = select.filter(product::Column::WorkspaceId.eq(workspace_id.as_str()));
    }
    if let Some(search) = &query.search {
        select =
            select.filter(product::Column::NameNormalized.like(super::search::contains(search)));
    }
    select
}

/// A page of products and the total matching, sorted by name.
pub async fn list(
    db: &Db,
    viewer: &Viewer,
    query: &ListQuery,
) -> anyhow::Result<(Vec<ProductRow>, u64)> {
    // Everything of the organization, unfiltered: the count the triggers
    // keep is the total.
    let whole = !viewer.restricted
        && viewer.only_workspace.is_none()
        && viewer.org_role != OrgRole::None
        && query.workspace_id.is_none()
        && query.search.is_none();
    let (page, _) = page_query(
        filtered(visible(viewer, db.backend()), query),
        query.page,
        whole.then_some(viewer.org_id.as_str()),
    );
    read_page(&db.read_in(viewer.tenant()).await?, page).await
}

/// A page of `select`'s products with workspace and owner, and its total.
pub(crate) async fn page_of<C: ConnectionTrait>(
    conn: &C,
    select: Select<product::Entity>,
    page: u64,
) -> anyhow::Result<(Vec<ProductRow>, u64)> {
    let (query, _) = page_query(select, page, None);
    read_page(conn, query).await
}

async fn read_page<C: ConnectionTrait>(
    conn: &C,
    query: PageQuery,
) -> anyhow::Result<(Vec<ProductRow>, u64)> {
    let page = query
        .read::<ProductRow, _>(conn)
        .await
        .context("failed to list products")?;
    let total = u64::try_from(page.get::<i64>("total")?).unwrap_or(0);
    Ok((page.rows, total))
}

/// The products of organization `org_id` as the triggers count them, as a
/// scalar subquery.
fn stored_total(org_id: &str) -> Expr {
    let mut counted = Query::select();
    counted
        .expr(Expr::cust(
            "CAST(COALESCE(SUM(product_counts.products), 0) AS BIGINT)",
        ))
        .from(Alias::new("product_counts"))
        .and_where(Expr::col((Alias::new("product_counts"), Alias::new("org_id"))).eq(org_id));
    Expr::SubQuery(None, Box::new(counted.into_sub_query_statement()))
}

/// How [`page_of`] reads a page, with its total beside it as `total`, for a
/// caller that reads more beside it; and the statement of the page's ids.
/// With `whole_org`, `select` is every product of that organization and
/// the total is the count the triggers keep, not a count of the rows.
///
/// The page's ids come from the name index first (a subquery), so a deep
/// page skips index entries, not joined rows; only those 50 are joined.
pub(crate) fn page_query(
    select: Select<product::Entity>,
    page: u64,
    whole_org: Option<&str>,
) -> (PageQuery, SelectStatement) {
    let total = match whole_org {
        Some(org_id) => stored_total(org_id),
        None => {
            let counted = select
                .clone()
                .select_only()
                .expr(Expr::cust("CAST(COUNT(*) AS BIGINT)"))
                .into_query();
            Expr::SubQuery(None, Box::new(counted.into_sub_query_statement()))
        }
    };
    let ids = select
        .select_only()
        .column(product::Column::Id)
        .order_by_asc(product::Column::NameNormalized)
        .order_by_asc(product::Column::Id)
        .offset(page.saturating_sub(1).saturating_mul(PER_PAGE))
        .limit(PER_PAGE)
        .into_query();
    let rows = product::Entity::find()
        .filter(product::Column::Id.in_subquery(ids.clone()))
        .select_only()
        .column(product::Column::Id)
        .column(product::Column::WorkspaceId)
        .column_as(workspace::Column::Title, "workspace_title")
        .column(product::Column::Name)
        .column_as(user::Column::Name, "owner_name")
        .column(product::Column::NeedsOwner)
        .column(product::Column::CreatedAt)
        .column(product::Column::NameNormalized)
        .join(JoinType::InnerJoin, product::Relation::Workspace.def())
        .join(JoinType::LeftJoin, product::Relation::Owner.def())
        .into_query();
    let query = PageQuery::new(
        rows,
        ProductRow::COLUMNS,
        vec![("name_normalized", Order::Asc), ("id", Order::Asc)],
    )
    .beside("total", total);
    (query, ids)
}

/// How many products of `workspace_id` the viewer sees.
pub async fn count_in_workspace(
    db: &Db,
    viewer: &Viewer,
    workspace_id: &str,
) -> anyhow::Result<u64> {
    let conn = db.read_in(viewer.tenant()).await?;
    visible(viewer, db.backend())
        .filter(product::Column::WorkspaceId.eq(workspace_id))
        .count(&conn)
        .await
        .context("failed to count a workspace's products")
}

/// A product with its workspace, its owner and what the viewer may do.
#[derive(Clone, Debug)]
pub struct Found {
    pub product: product::Model,
    pub workspace: workspace::Model,
    pub owner: Option<user::Model>,
    /// The viewer's roles on it, for the policy.
    pub roles: Roles,
    /// The viewer's grant, when they are restricted.
    pub grant: Option<Grant>,
}

impl Found {
    /// What the policy lets the viewer do with it.
    pub fn rights(&self) -> ProductCaps {
        ProductCaps::of(self.roles)
    }
}

/// The product if the viewer may see it; `None` for another
/// organization's, a missing one, or one hidden from the viewer (all 404).
pub async fn find(db: &Db, viewer: &Viewer, product_id: &str) -> anyhow::Result<Option<Found>> {
    let Some((found, ws)) = product::Entity::find_by_id(product_id.to_string())
        .filter(product::Column::OrgId.eq(&viewer.org_id))
        .find_also_related(workspace::Entity)
        .one(&db.read_in(viewer.tenant()).await?)
        .await
        .context("failed to load the product")?
    else {
        return Ok(None);
    };
    let workspace = ws.context("a product without its workspace")?;
    let (roles, grant) = roles_on(&db.read_in(viewer.tenant()).await?, viewer, &found).await?;
    if !ProductCaps::of(roles).view {
        return Ok(None);
    }
    let owner = match &found.owner_id {
        Some(id) => user::Entity::find_by_id(id.clone())
            .one(&db.read_in(viewer.tenant()).await?)
            .await
            .context("failed to load the product's owner")?,
        None => None,
    };
    Ok(Some(Found {
        product: found,
        workspace,
        owner,
        roles,
        grant,
    }))
}

async fn roles_on<C: ConnectionTrait>(
    conn: &C,
    viewer: &Viewer,
    found: &product::Model,
) -> anyhow::Result<(Roles, Option<Grant>)> {
    let direct = viewer.direct_role(conn, &found.workspace_id).await?;
    let grant = if viewer.restricted {
        grant_of(conn, &viewer.membership_id, &found.id).await?
    } else {
        None
    };
    let custom =
        super::acting::custom_levels(conn, &viewer.membership_id, Some(&found.workspace_id))
            .await?;
    let roles = Roles::on_product(viewer.org_role, direct, viewer.restricted, grant)
        .with_custom(&custom.org_wide, &custom.here);
    Ok((roles, grant))
}

/// The product and the actor, inside the transaction, once the policy
/// allows `action` on it: `NotFound` unless they may see it.
async fn acting_rights<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    product_id: &str,
    action: ProductAction,
) -> Result<(product::Model, Viewer), ServiceError> {
    let found = product::Entity::find_by_id(product_id.to_string())
        .filter(product::Column::OrgId.eq(acting.org_id.as_str()))
        .one(conn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let roles = acting.product_roles(conn, &found).await?;
    refuse_unseen(policy::authorize(roles, Action::OnProduct(action)))?;
    Ok((found, Viewer::acting(conn, acting).await?))
}

const NAME_TAKEN: &str = "This workspace already has a product with this name.";

/// A product deleted meanwhile is gone (404).
fn gone(err: sea_orm::DbErr) -> ServiceError {
    if matches!(err, sea_orm::DbErr::RecordNotUpdated) {
        ServiceError::NotFound
    } else {
        err.into()
    }
}

/// Refuses `name` when the workspace holds another product of that name
/// which `viewer` can see. A name only others can see is free: refusing it
/// would tell a restricted member about a product they cannot open.
///
/// Call it inside the write after [`lock_names`], so two people writing
/// the same name at once cannot both pass.
async fn check_visible_name<C: ConnectionTrait>(
    conn: &C,
    viewer: &Viewer,
    workspace_id: &str,
    name: &Label,
    except_id: Option<&str>,
) -> Result<(), ServiceError> {
    let mut same = product::Entity::find()
        .filter(product::Column::OrgId.eq(viewer.org_id.as_str()))
        .filter(product::Column::WorkspaceId.eq(workspace_id))
        .filter(product::Column::NameNormalized.eq(name.normalized()));
    if let Some(id) = except_id {
        same = same.filter(product::Column::Id.ne(id));
    }
    if viewer.restricted {
        same = same.filter(product::Column::Id.in_subquery(granted_ids(&viewer.membership_id)));
    }
    let taken = same
        .count(conn)
        .await
        .context("failed to look for a product of the same name")?;
    if taken > 0 {
        return Err(ServiceError::invalid("name", NAME_TAKEN));
    }
    Ok(())
}

/// Serializes the naming of products in one workspace: on PostgreSQL the
/// workspace's row is locked until the transaction ends (SQLite has one
/// writer at a time already). `NO KEY UPDATE` leaves the foreign-key
/// checks of other writes to the workspace free to run.
async fn lock_names<C: ConnectionTrait>(conn: &C, workspace_id: &str) -> anyhow::Result<()> {
    workspace::Entity::find_by_id(workspace_id.to_string())
        .select_only()
        .column(workspace::Column::Id)
        .lock(LockType::NoKeyUpdate)
        .into_tuple::<String>()
        .one(conn)
        .await
        .context("failed to lock the workspace's product names")?;
    Ok(())
}

/// The workspaces the viewer can see, by title, with their access to each.
pub async fn visible_workspaces(
    db: &Db,
    viewer: &Viewer,
) -> anyhow::Result<Vec<(workspace::Model, Access)>> {
    super::workspaces::access_by_workspace(db, &viewer.org_id, &viewer.user_id, viewer.org_role)
        .await
}

/// Whether the viewer may add products in any workspace: through their
/// organization role in all of them, or a direct role in one.
pub async fn may_add_somewhere<C: ConnectionTrait>(
    conn: &C,
    viewer: &Viewer,
) -> Result<bool, ServiceError> {
    let add = Action::InWorkspace(WsPermission::EditProducts);
    if policy::allows(Roles::in_workspace(viewer.org_role, None), add) {
        return Ok(true);
    }
    if let Some((_, role)) = &viewer.only_workspace {
        return Ok(policy::allows(
            Roles::in_workspace(viewer.org_role, Some(*role)),
            add,
        ));
    }
    let direct = workspace_member::Entity::find()
        .filter(workspace_member::Column::OrgId.eq(viewer.org_id.as_str()))
        .filter(workspace_member::Column::UserId.eq(viewer.user_id.as_str()))
        .all(conn)
        .await?;
    if direct
        .iter()
        .any(|held| policy::allows(Roles::in_workspace(viewer.org_role, Some(held.role)), add))
    {
        return Ok(true);
    }
    // Custom roles, organization-wide or in one workspace.
    let held_in: Vec<String> = crate::entities::role_assignment::Entity::find()
        .filter(
            crate::entities::role_assignment::Column::MembershipId
                .eq(viewer.membership_id.as_str()),
        )
        .all(conn)
        .await?
        .into_iter()
        .map(|a| a.scope_key)
        .collect();
    for scope in held_in {
        let place = (!scope.is_empty()).then_some(scope.as_str());
        let custom = super::acting::custom_levels(conn, &viewer.membership_id, place).await?;
        let direct = direct
            .iter()
            .find(|d| d.workspace_id == scope)
            .map(|d| d.role);
        let roles = Roles::in_workspace(viewer.org_role, direct)
            .with_custom(&custom.org_wide, &custom.here);
        if policy::allows(roles, add) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Creates a product in a workspace where the actor may edit products; the
/// creator owns it. A restricted creator is granted Edit on it, so they see
/// what they made.
pub async fn create(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    workspace_id: &str,
    name: &Label,
    description: &str,
) -> Result<product::Model, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let viewer = Viewer::acting(&txn, acting).await?;
    let ws = workspace::Entity::find_by_id(workspace_id.to_string())
        .filter(workspace::Column::OrgId.eq(acting.org_id.as_str()))
        .one(&txn)
        .await?;
    let may_add = match &ws {
        Some(ws) => {
            let (_, roles) = acting.in_workspace(&txn, &ws.id).await?;
            policy::allows(roles, Action::InWorkspace(WsPermission::EditProducts))
        }
        None => false,
    };
    let Some(ws) = ws.filter(|_| may_add) else {
        if !may_add_somewhere(&txn, &viewer).await? {
            return Err(Denied::NoWorkspaceForProducts.into());
        }
        return Err(ServiceError::invalid(
            "workspace_id",
            "Choose a workspace where you may add products.",
        ));
    };
    lock_names(&txn, &ws.id).await?;
    check_visible_name(&txn, &viewer, &ws.id, name, None).await?;
    let created = product::ActiveModel {
        id: Set(new_id()),
        org_id: Set(acting.org_id.clone()),
        workspace_id: Set(ws.id.clone()),
        name: Set(name.as_str().to_string()),
        name_normalized: Set(name.normalized()),
        description: Set(description.to_string()),
        owner_id: Set(acting.person().map(str::to_string)),
        needs_owner: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    if viewer.restricted {
        upsert_grant(&txn, &viewer.membership_id, &created, Grant::Edit, now).await?;
    }
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::ProductCreated,
            target_type: Some("product"),
            target_id: Some(&created.id),
            target_label: Some(&created.name),
            before: None,
            after: Some(format!("{} in {}", created.name, ws.title)),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// Sets a membership's grant on a product, replacing any grant it had (an
/// upsert, so two people setting it at once cannot collide).
pub(crate) async fn upsert_grant<C: ConnectionTrait>(
    conn: &C,
    membership_id: &str,
    found: &product::Model,
    access: Grant,
    now: i64,
) -> anyhow::Result<()> {
    product_grant::Entity::insert(product_grant::ActiveModel {
        membership_id: Set(membership_id.to_string()),
        product_id: Set(found.id.clone()),
        org_id: Set(found.org_id.clone()),
        access: Set(access),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            product_grant::Column::MembershipId,
            product_grant::Column::ProductId,
        ])
        .update_column(product_grant::Column::Access)
        .to_owned(),
    )
    .exec_without_returning(conn)
    .await
    .context("failed to grant product access")?;
    Ok(())
}

/// Renames a product and sets its description.
pub async fn update(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    product_id: &str,
    name: &Label,
    description: &str,
) -> Result<product::Model, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let (found, viewer) = acting_rights(&txn, acting, product_id, ProductAction::Edit).await?;
    lock_names(&txn, &found.workspace_id).await?;
    check_visible_name(&txn, &viewer, &found.workspace_id, name, Some(&found.id)).await?;
    let before = found.name.clone();
    let mut changed: product::ActiveModel = found.into();
    changed.name = Set(name.as_str().to_string());
    changed.name_normalized = Set(name.normalized());
    changed.description = Set(description.to_string());
    changed.updated_at = Set(now);
    let updated = changed.update(&txn).await.map_err(gone)?;
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::ProductEdited,
            target_type: Some("product"),
            target_id: Some(&updated.id),
            target_label: Some(&updated.name),
            before: Some(before),
            after: Some(updated.name.clone()),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(updated)
}

/// Makes the organization member with `email` the product's owner. They
/// must be able to see the product's workspace.
pub async fn assign_owner(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    product_id: &str,
    email: &str,
) -> Result<(product::Model, String), ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let (found, viewer) =
        acting_rights(&txn, acting, product_id, ProductAction::AssignOwner).await?;
    let normalized = email.trim().to_lowercase();
    let no_such = || {
        ServiceError::invalid(
            "owner_email",
            "Enter the email of a member who can see this product's workspace.",
        )
    };
    let (member, person) = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(acting.org_id.as_str()))
        .filter(membership::Column::EmailNormalized.eq(normalized))
        .find_also_related(user::Entity)
        .one(&txn)
        .await?
        .and_then(|(m, u)| u.map(|u| (m, u)))
        .ok_or_else(no_such)?;
    let direct = direct_role(&txn, &found.workspace_id, &member.user_id).await?;
    let sees_workspace = policy::allows(
        Roles::in_workspace(member.role, direct),
        Action::InWorkspace(WsPermission::View),
    );
    if !sees_workspace {
        return Err(no_such());
    }
    // Someone who may not see the members (a workspace guest) chooses
    // only among the people they see here, those with a role in the
    // workspace; anyone else answers as an unknown address would, or the
    // form would tell them who belongs to the organization.
    let sees_members = policy::allows(
        Roles::in_org(viewer.org_role),
        Action::Use(Permission::ViewMembers),
    );
    if !sees_members && direct.is_none() {
        return Err(no_such());
    }
    let before = match &found.owner_id {
        Some(id) => user::Entity::find_by_id(id.clone())
            .one(&txn)
            .await?
            .map(|u| u.name),
        None => None,
    };
    let updated = product::Entity::update_many()
        .col_expr(product::Column::OwnerId, Expr::value(person.id.clone()))
        .col_expr(product::Column::NeedsOwner, Expr::value(false))
        .col_expr(product::Column::UpdatedAt, Expr::value(now))
        .filter(product::Column::Id.eq(found.id.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(ServiceError::NotFound);
    }
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::ProductOwnerChanged,
            target_type: Some("product"),
            target_id: Some(&found.id),
            target_label: Some(&found.name),
            before,
            after: Some(person.name.clone()),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((found, person.name))
}

/// Deletes a product and every grant on it.
pub async fn delete(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    product_id: &str,
) -> Result<product::Model, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let (found, _) = acting_rights(&txn, acting, product_id, ProductAction::Delete).await?;
    product::Entity::delete_many()
        .filter(product::Column::Id.eq(found.id.as_str()))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry::naming(
            &acting.org_id,
            AuditAction::ProductDeleted,
            "product",
            &found.id,
            &found.name,
        )
        .as_deletion(),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(found)
}

/// How many products of the organization `user_id` owns.
pub async fn owned_count(db: &Db, org_id: &str, user_id: &str) -> anyhow::Result<u64> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    product::Entity::find()
        .filter(product::Column::OrgId.eq(org_id))
        .filter(product::Column::OwnerId.eq(user_id))
        .count(&conn)
        .await
        .context("failed to count owned products")
}

/// How many products a workspace holds (all of them, for its deletion).
pub async fn workspace_total(db: &Db, org_id: &str, workspace_id: &str) -> anyhow::Result<u64> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    product::Entity::find()
        .filter(product::Column::WorkspaceId.eq(workspace_id))
        .count(&conn)
        .await
        .context("failed to count a workspace's products")
}

/// When someone leaves the organization, the products they owned there
/// need an owner. (Their grants go with their membership.)
pub async fn on_member_gone<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    user_id: &str,
    now: i64,
) -> anyhow::Result<()> {
    product::Entity::update_many()
        .col_expr(
            product::Column::OwnerId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(product::Column::NeedsOwner, Expr::value(true))
        .col_expr(product::Column::UpdatedAt, Expr::value(now))
        .filter(product::Column::OrgId.eq(org_id))
        .filter(product::Column::OwnerId.eq(user_id))
        .exec(conn)
        .await
        .context("failed to mark a leaver's products")?;
    Ok(())
}

/// A workspace moving to `target_org_id` takes its products along. Grants
/// on them end (restrictions belong to the old organization's members);
/// owners who are not members of the target organization leave them
/// needing an owner.
pub async fn on_workspace_moved<C: ConnectionTrait>(
    conn: &C,
    workspace_id: &str,
    target_org_id: &str,
    now: i64,
) -> anyhow::Result<()> {
    let mut moving = Query::select();
    moving
        .column(product::Column::Id)
        .from(product::Entity)
        .and_where(product::Column::WorkspaceId.eq(workspace_id));
    product_grant::Entity::delete_many()
        .filter(product_grant::Column::ProductId.in_subquery(moving))
        .exec(conn)
        .await
        .context("failed to end grants on moving products")?;
    let mut staying = Query::select();
    staying
        .column(membership::Column::UserId)
        .from(membership::Entity)
        .and_where(membership::Column::OrgId.eq(target_org_id));
    product::Entity::update_many()
        .col_expr(
            product::Column::OwnerId,
            Expr::value(Option::<String>::None),
        )
        .col_expr(product::Column::NeedsOwner, Expr::value(true))
        .col_expr(product::Column::UpdatedAt, Expr::value(now))
        .filter(product::Column::WorkspaceId.eq(workspace_id))
        .filter(product::Column::OwnerId.is_not_null())
        .filter(product::Column::OwnerId.not_in_subquery(staying))
        .exec(conn)
        .await
        .context("failed to mark moved products without an owner")?;
    product::Entity::update_many()
        .col_expr(product::Column::OrgId, Expr::value(target_org_id))
        .filter(product::Column::WorkspaceId.eq(workspace_id))
        .exec(conn)
        .await
        .context("failed to move products")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_line_breaks_but_no_other_control_characters() {
        assert!(parse_description("line one\nline two").is_ok());
        assert!(parse_description("bell\u{7}").is_err());
    }
}
