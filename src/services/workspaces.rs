//! Workspaces: the list a person may see, creation, details, and what
//! happens to direct roles when someone leaves the organization.

use anyhow::Context;
use sea_orm::ExprTrait;
use sea_orm::sea_query::{Expr, LockType, Order, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait,
    FromQueryResult, IdenStatic, Iterable, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set,
};

use super::acting::{Acting, direct_role, refuse_unseen};
use super::audit::{self, AuditAction, Entry};
use super::error::ServiceError;
use super::members::{Cursor, CursorKey, Direction, MemberSort};
use super::memberships::insert_direct_role;
use super::new_id;
use super::page_rows::PageQuery;
use crate::clock::Clock;
use crate::db::{CrossOrg, Db, Tenant};
use crate::domain::names::{self, Label, LabelKind};
use crate::domain::permission::Permission;
use crate::domain::policy::{self, Action, Roles};
use crate::domain::role::OrgRole;
use crate::domain::workspace::{Access, WorkspaceRole, WsPermission};
use crate::entities::{membership, organization, user, workspace, workspace_member};

pub const PER_PAGE: u64 = 25;
pub const MAX_TITLE_CHARS: usize = LabelKind::WorkspaceTitle.max_chars();
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// Validates a workspace's free-text description.
pub fn parse_description(input: &str) -> Result<String, String> {
    names::description(input, MAX_DESCRIPTION_CHARS)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WorkspaceSort {
    #[default]
    Title,
    Created,
}

impl WorkspaceSort {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "title" => Some(WorkspaceSort::Title),
            "created" => Some(WorkspaceSort::Created),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceSort::Title => "title",
            WorkspaceSort::Created => "created",
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Lower-cased fragment of the title.
    pub search: Option<String>,
    pub sort: WorkspaceSort,
    /// 1-based.
    pub page: u64,
}

/// A workspace on the list.
#[derive(Clone, Debug)]
pub struct WorkspaceRow {
    pub workspace: workspace::Model,
    pub owner_name: String,
    /// People with a direct role.
    pub direct_members: u64,
    /// Everyone with access: the organization's members (who inherit) and
    /// the workspace guests with a direct role.
    pub members: u64,
}

/// The workspaces `viewer` may see: all of them for organization members,
/// only those they hold a direct role in for workspace guests (org role
/// none).
pub async fn list(
    db: &Db,
    org_id: &str,
    viewer_id: &str,
    viewer_role: OrgRole,
    query: &ListQuery,
) -> anyhow::Result<(Vec<WorkspaceRow>, u64)> {
    let mut select = workspace::Entity::find().filter(workspace::Column::OrgId.eq(org_id));
    if viewer_role == OrgRole::None {
        let mine: Vec<String> = workspace_member::Entity::find()
            .filter(workspace_member::Column::OrgId.eq(org_id))
            .filter(workspace_member::Column::UserId.eq(viewer_id))
            .all(&db.read_in(Tenant::org(org_id)).await?)
            .await
            .context("failed to read the person's workspaces")?
            .into_iter()
            .map(|m| m.workspace_id)
            .collect();
        select = select.filter(workspace::Column::Id.is_in(mine));
    }
    if let Some(search) = &query.search {
        select =
            select.filter(workspace::Column::TitleNormalized.like(super::search::contains(search)));
    }
    let total = select
        .clone()
        .count(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to count workspaces")?;
    let select = match query.sort {
        WorkspaceSort::Title => select
            .order_by_asc(workspace::Column::TitleNormalized)
            .order_by_asc(workspace::Column::Id),
        WorkspaceSort::Created => select
            .order_by_desc(workspace::Column::CreatedAt)
            .order_by_desc(workspace::Column::Id),
    };
    let page = select
        .offset(query.page.saturating_sub(1).saturating_mul(PER_PAGE))
        .limit(PER_PAGE)
        .all(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to list workspaces")?;
    let ids: Vec<String> = page.iter().map(|w| w.id.clone()).collect();
    let members = workspace_member::Entity::find()
        .filter(workspace_member::Column::WorkspaceId.is_in(ids))
        .find_also_related(user::Entity)
        .all(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to read workspace members")?;
    // Everyone with an organization role inherits into every workspace;
    // guests (role none) count where they hold a direct role.
    let inheriting = super::member_counts::with_org_role(db, org_id).await?;
    let guests: Vec<String> = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org_id))
        .filter(membership::Column::Role.eq(OrgRole::None))
        .filter(membership::Column::UserId.is_in(members.iter().map(|(m, _)| m.user_id.clone())))
        .all(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to read guests")?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let rows = page
        .into_iter()
        .map(|workspace| {
            let mine = members
                .iter()
                .filter(|(m, _)| m.workspace_id == workspace.id);
            let owner_name = mine
                .clone()
                .find(|(m, _)| m.role == WorkspaceRole::Owner)
                .and_then(|(_, u)| u.as_ref().map(|u| u.name.clone()))
                .unwrap_or_default();
            let guest_count = mine
                .clone()
                .filter(|(m, _)| guests.contains(&m.user_id))
                .count();
            let direct_members = u64::try_from(mine.count()).unwrap_or(0);
            WorkspaceRow {
                workspace,
                owner_name,
                direct_members,
                members: inheriting + u64::try_from(guest_count).unwrap_or(0),
            }
        })
        .collect();
    Ok((rows, total))
}

/// A workspace of the organization with the viewer's access to it; `None`
/// for a workspace of another organization, one that does not exist, or one
/// the viewer has no access to (all answer 404).
pub async fn find(
    db: &Db,
    org_id: &str,
    workspace_id: &str,
    viewer_id: &str,
    viewer_role: OrgRole,
) -> anyhow::Result<Option<(workspace::Model, Roles)>> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let Some(found) = workspace::Entity::find_by_id(workspace_id.to_string())
        .filter(workspace::Column::OrgId.eq(org_id))
        .one(&conn)
        .await
        .context("failed to load the workspace")?
    else {
        return Ok(None);
    };
    let direct = direct_role(&conn, workspace_id, viewer_id).await?;
    let roles = Roles::in_workspace(viewer_role, direct);
    let visible = policy::allows(roles, Action::InWorkspace(WsPermission::View));
    Ok(visible.then_some((found, roles)))
}

/// The workspace's Owner (their name), if any.
pub async fn owner_name(
    db: &Db,
    org_id: &str,
    workspace_id: &str,
) -> anyhow::Result<Option<String>> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    Ok(workspace_member::Entity::find()
        .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
        .filter(workspace_member::Column::Role.eq(WorkspaceRole::Owner))
        .find_also_related(user::Entity)
        .one(&conn)
        .await
        .context("failed to read the workspace's owner")?
        .and_then(|(_, u)| u.map(|u| u.name)))
}

const TITLE_TAKEN: &str = "Another workspace of this organization has this title.";

/// Refuses `title` when another workspace of `org_id` that the actor can
/// see has it. Organization members see every workspace; a workspace guest
/// (`guest_id`) only those they hold a role in, so a title only others can
/// see is free to them: refusing it would tell them the workspace exists.
///
/// Call it inside the write after [`lock_titles`], so two people writing
/// the same title at once cannot both pass.
async fn check_visible_title<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    guest_id: Option<&str>,
    title_normalized: &str,
    except_id: Option<&str>,
) -> Result<(), ServiceError> {
    let mut same = workspace::Entity::find()
        .filter(workspace::Column::OrgId.eq(org_id))
        .filter(workspace::Column::TitleNormalized.eq(title_normalized));
    if let Some(id) = except_id {
        same = same.filter(workspace::Column::Id.ne(id));
    }
    if let Some(guest_id) = guest_id {
        let mut theirs = Query::select();
        theirs
            .column(workspace_member::Column::WorkspaceId)
            .from(workspace_member::Entity)
            .and_where(workspace_member::Column::OrgId.eq(org_id))
            .and_where(workspace_member::Column::UserId.eq(guest_id));
        same = same.filter(workspace::Column::Id.in_subquery(theirs));
    }
    let taken = same
        .count(conn)
        .await
        .context("failed to look for a workspace of the same title")?;
    if taken > 0 {
        return Err(ServiceError::invalid("title", TITLE_TAKEN));
    }
    Ok(())
}

/// Serializes the naming of workspaces in one organization: on PostgreSQL
/// the organization's row is locked until the transaction ends (SQLite has
/// one writer at a time already). `NO KEY UPDATE` leaves the foreign-key
/// checks of other writes in the organization free to run.
async fn lock_titles<C: ConnectionTrait>(conn: &C, org_id: &str) -> anyhow::Result<()> {
    organization::Entity::find_by_id(org_id.to_string())
        .select_only()
        .column(organization::Column::Id)
        .lock(LockType::NoKeyUpdate)
        .into_tuple::<String>()
        .one(conn)
        .await
        .context("failed to lock the organization's workspace titles")?;
    Ok(())
}

/// Creates a workspace; its creator becomes its Owner.
pub async fn create(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    title: &Label,
    description: &str,
) -> Result<workspace::Model, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    acting
        .authorize(&txn, Action::Use(Permission::CreateWorkspaces))
        .await?;
    lock_titles(&txn, &acting.org_id).await?;
    // Whoever may create workspaces sees all of them.
    check_visible_title(&txn, &acting.org_id, None, &title.normalized(), None).await?;
    let created = workspace::ActiveModel {
        id: Set(new_id()),
        org_id: Set(acting.org_id.clone()),
        title: Set(title.as_str().to_string()),
        title_normalized: Set(title.normalized()),
        description: Set(description.to_string()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    // A workspace made by an organization key belongs to the
    // organization's Owner: a key holds no workspace role.
    let owner = match acting.person() {
        Some(person) => person.to_string(),
        None => org_owner(&txn, &acting.org_id).await?,
    };
    add_owner(&txn, &created, &owner, now).await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry::naming(
            &acting.org_id,
            AuditAction::WorkspaceCreated,
            "workspace",
            &created.id,
            &created.title,
        ),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// The account of the organization's Owner.
async fn org_owner<C: ConnectionTrait>(conn: &C, org_id: &str) -> Result<String, ServiceError> {
    membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org_id))
        .filter(membership::Column::Role.eq(OrgRole::Owner))
        .one(conn)
        .await?
        .map(|m| m.user_id)
        .ok_or_else(|| ServiceError::Unexpected(anyhow::anyhow!("the organization has no Owner")))
}

/// Makes `user_id` the Owner of a new workspace.
pub async fn add_owner<C: ConnectionTrait>(
    conn: &C,
    workspace: &workspace::Model,
    user_id: &str,
    now: i64,
) -> anyhow::Result<()> {
    insert_direct_role(
        conn,
        &workspace.org_id,
        &workspace.id,
        user_id,
        WorkspaceRole::Owner,
        now,
    )
    .await
    .context("failed to make the workspace's owner")?;
    Ok(())
}

/// Renames a workspace and sets its description (workspace Admins, its
/// Owner and the organization's Owner and Admins).
pub async fn update_details(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    workspace_id: &str,
    title: &Label,
    description: &str,
) -> Result<workspace::Model, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let (before, roles) = acting
        .authorize_in_workspace(
            &txn,
            workspace_id,
            Action::InWorkspace(WsPermission::EditDetails),
        )
        .await?;
    lock_titles(&txn, &acting.org_id).await?;
    let guest = (roles.org == OrgRole::None).then_some(acting.user_id.as_str());
    check_visible_title(
        &txn,
        &acting.org_id,
        guest,
        &title.normalized(),
        Some(workspace_id),
    )
    .await?;
    workspace::Entity::update_many()
        .col_expr(workspace::Column::Title, Expr::value(title.as_str()))
        .col_expr(
            workspace::Column::TitleNormalized,
            Expr::value(title.normalized()),
        )
        .col_expr(workspace::Column::Description, Expr::value(description))
        .filter(workspace::Column::Id.eq(workspace_id))
        .exec(&txn)
        .await?;
    if before.title != title.as_str() || before.description != description {
        audit::record(
            &txn,
            &acting.actor,
            Entry {
                org_id: Some(&acting.org_id),
                action: AuditAction::WorkspaceRenamed,
                target_type: Some("workspace"),
                target_id: Some(workspace_id),
                target_label: Some(title.as_str()),
                before: Some(format!("{} — {}", before.title, before.description)),
                after: Some(format!("{} — {}", title.as_str(), description)),
            },
            now,
        )
        .await?;
    }
    let after = workspace::Entity::find_by_id(workspace_id.to_string())
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    txn.commit().await?;
    Ok(after)
}

/// When someone leaves the organization (removed or by themselves), their
/// direct workspace roles go too; a workspace they owned passes to the
/// organization's Owner, so every workspace keeps exactly one Owner.
pub async fn on_member_gone<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    user_id: &str,
) -> anyhow::Result<()> {
    let owned: Vec<String> = workspace_member::Entity::find()
        .filter(workspace_member::Column::OrgId.eq(org_id))
        .filter(workspace_member::Column::UserId.eq(user_id))
        .filter(workspace_member::Column::Role.eq(WorkspaceRole::Owner))
        .all(conn)
        .await
        .context("failed to find the workspaces a leaver owned")?
        .into_iter()
        .map(|m| m.workspace_id)
        .collect();
    if !owned.is_empty() {
        let org_owner = membership::Entity::find()
            .filter(membership::Column::OrgId.eq(org_id))
            .filter(membership::Column::Role.eq(OrgRole::Owner))
            .one(conn)
            .await
            .context("failed to find the organization's owner")?
            .context("the organization has no owner")?;
        // The Owner's own direct role there gives way to ownership.
        workspace_member::Entity::delete_many()
            .filter(workspace_member::Column::WorkspaceId.is_in(owned.clone()))
            .filter(workspace_member::Column::UserId.eq(org_owner.user_id.as_str()))
            .exec(conn)
            .await
            .context("failed to clear the owner's direct roles")?;
        workspace_member::Entity::update_many()
            .col_expr(
                workspace_member::Column::UserId,
                Expr::value(org_owner.user_id.clone()),
            )
            .filter(workspace_member::Column::WorkspaceId.is_in(owned))
            .filter(workspace_member::Column::UserId.eq(user_id))
            .filter(workspace_member::Column::Role.eq(WorkspaceRole::Owner))
            .exec(conn)
            .await
            .context("failed to pass workspace ownership on")?;
    }
    workspace_member::Entity::delete_many()
        .filter(workspace_member::Column::OrgId.eq(org_id))
        .filter(workspace_member::Column::UserId.eq(user_id))
        .exec(conn)
        .await
        .context("failed to remove the leaver's workspace roles")?;
    Ok(())
}

/// One person with access to a workspace, and how.
#[derive(Clone, Debug, FromQueryResult)]
pub struct AccessRow {
    pub membership_id: String,
    pub user_id: String,
    pub name: String,
    /// The name as the list sorts it: where a page link starts.
    pub sort_name: String,
    pub email: String,
    pub org_role: OrgRole,
    pub direct_role: Option<WorkspaceRole>,
}

impl AccessRow {
    pub fn access(&self) -> Access {
        Access::new(self.org_role, self.direct_role)
    }

    /// The row's position, for the Next (`After`) or Previous (`Before`)
    /// link that starts beside it.
    pub fn cursor(&self, direction: Direction) -> Cursor {
        Cursor {
            direction,
            key: CursorKey::Text(self.sort_name.clone()),
            id: self.membership_id.clone(),
        }
    }
}

pub const ACCESS_PER_PAGE: u64 = 50;

/// Everyone with access to the workspace, by name, 50 a page, with the
/// total: organization members inherit into it; workspace guests are there
/// by a direct role. `only_direct` shows only people with a direct role
/// (what a workspace guest may see).
///
/// A page reached by Next or Previous starts beside the `cursor`'s person
/// (by the name index), so a deep page costs what the first does; without
/// one, `page` skips rows (the caller keeps it shallow). The total comes
/// from the member counts the triggers keep plus the workspace's guests,
/// not from counting everyone.
pub async fn access_list(
    db: &Db,
    org_id: &str,
    workspace_id: &str,
    only_direct: bool,
    page: u64,
    cursor: Option<&Cursor>,
) -> anyhow::Result<(Vec<AccessRow>, u64)> {
    let backend = db.backend();
    let total = access_total(db, org_id, workspace_id, only_direct).await?;
    let direct_join = Condition::all()
        .add(
            Expr::col((
                workspace_member::Entity,
                workspace_member::Column::WorkspaceId,
            ))
            .eq(workspace_id),
        )
        .add(
            Expr::col((workspace_member::Entity, workspace_member::Column::UserId))
                .equals((membership::Entity, membership::Column::UserId)),
        );
    let has_access = if only_direct {
        Condition::all()
            .add(Expr::col((workspace_member::Entity, workspace_member::Column::Id)).is_not_null())
    } else {
        Condition::any()
            .add(Expr::col((membership::Entity, membership::Column::Role)).ne(OrgRole::None))
            .add(Expr::col((workspace_member::Entity, workspace_member::Column::Id)).is_not_null())
    };
    let mut rows = Query::select();
    rows.from(membership::Entity)
        .join(JoinType::LeftJoin, workspace_member::Entity, direct_join)
        .and_where(Expr::col((membership::Entity, membership::Column::OrgId)).eq(org_id))
        .cond_where(has_access);
    // Previous walks back from its cursor; the page is put in order below.
    let backwards = cursor.is_some_and(|c| c.direction == Direction::Before);
    let order = if backwards { Order::Desc } else { Order::Asc };
    match cursor {
        Some(cursor) => {
            rows.and_where(cursor.condition(MemberSort::Name));
        }
        None => {
            rows.offset(page.saturating_sub(1).saturating_mul(ACCESS_PER_PAGE));
        }
    }
    rows.expr_as(
        Expr::col((membership::Entity, membership::Column::Id)),
        "membership_id",
    )
    .expr_as(
        Expr::col((membership::Entity, membership::Column::UserId)),
        "user_id",
    )
    .expr_as(Expr::col((user::Entity, user::Column::Name)), "name")
    .expr_as(
        Expr::col((membership::Entity, membership::Column::SortName)),
        "sort_name",
    )
    .expr_as(Expr::col((user::Entity, user::Column::Email)), "email")
    .expr_as(
        Expr::col((membership::Entity, membership::Column::Role)),
        "org_role",
    )
    .expr_as(
        Expr::col((workspace_member::Entity, workspace_member::Column::Role)),
        "direct_role",
    )
    .join(
        JoinType::InnerJoin,
        user::Entity,
        Expr::col((user::Entity, user::Column::Id))
            .equals((membership::Entity, membership::Column::UserId)),
    )
    .order_by(
        (membership::Entity, membership::Column::SortName),
        order.clone(),
    )
    .order_by((membership::Entity, membership::Column::Id), order)
    .limit(ACCESS_PER_PAGE);
    let mut rows = AccessRow::find_by_statement(backend.build(&rows))
        .all(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to list the workspace's people")?;
    if backwards {
        rows.reverse();
    }
    Ok((rows, total))
}

/// How many people have access to the workspace: with `only_direct`, those
/// with a direct role; otherwise every member with an organization role
/// (from the stored counts) and the guests with a direct role.
async fn access_total(
    db: &Db,
    org_id: &str,
    workspace_id: &str,
    only_direct: bool,
) -> anyhow::Result<u64> {
    let direct = workspace_member::Entity::find()
        .filter(workspace_member::Column::OrgId.eq(org_id))
        .filter(workspace_member::Column::WorkspaceId.eq(workspace_id));
    if only_direct {
        return direct
            .count(&db.read_in(Tenant::org(org_id)).await?)
            .await
            .context("failed to count the workspace's direct roles");
    }
    let mut guests = Query::select();
    guests
        .column(membership::Column::UserId)
        .from(membership::Entity)
        .and_where(membership::Column::OrgId.eq(org_id))
        .and_where(membership::Column::Role.eq(OrgRole::None));
    let guests = direct
        .filter(workspace_member::Column::UserId.in_subquery(guests))
        .count(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to count the workspace's guests")?;
    let inheriting = super::member_counts::with_org_role(db, org_id).await?;
    Ok(inheriting + guests)
}

/// One person's access to the workspace, by their membership id.
pub async fn access_of(
    db: &Db,
    org_id: &str,
    workspace_id: &str,
    membership_id: &str,
) -> anyhow::Result<Option<AccessRow>> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let row = membership::Entity::find_by_id(membership_id.to_string())
        .filter(membership::Column::OrgId.eq(org_id))
        .find_also_related(user::Entity)
        .one(&conn)
        .await
        .context("failed to load a member")?;
    let Some((member, Some(person))) = row else {
        return Ok(None);
    };
    let direct = direct_role(&conn, workspace_id, &member.user_id).await?;
    Ok(Some(AccessRow {
        membership_id: member.id,
        user_id: member.user_id,
        name: person.name,
        sort_name: member.sort_name,
        email: person.email,
        org_role: member.role,
        direct_role: direct,
    }))
}

/// Grants (`Some`) or takes away (`None`) a direct role, with the role
/// ceiling: the actor manages members in the workspace, grants only roles
/// at or below their own highest, never Owner, and changes only direct
/// roles at or below their own; the Owner's role moves only by transfer.
pub async fn set_direct_role(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    workspace_id: &str,
    membership_id: &str,
    new_role: Option<WorkspaceRole>,
) -> Result<(), ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let (workspace, actor) = acting.in_workspace(&txn, workspace_id).await?;
    refuse_unseen(policy::authorize(
        actor,
        Action::InWorkspace(WsPermission::View),
    ))?;
    let target = membership::Entity::find_by_id(membership_id.to_string())
        .filter(membership::Column::OrgId.eq(acting.org_id.as_str()))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let current = direct_role(&txn, workspace_id, &target.user_id).await?;
    policy::authorize(
        actor,
        Action::SetWorkspaceRole {
            current,
            to: new_role,
        },
    )?;
    if current == new_role {
        return Ok(());
    }
    workspace_member::Entity::delete_many()
        .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
        .filter(workspace_member::Column::UserId.eq(target.user_id.as_str()))
        .filter(workspace_member::Column::Role.ne(WorkspaceRole::Owner))
        .exec(&txn)
        .await?;
    if let Some(role) = new_role {
        let inserted = insert_direct_role(
            &txn,
            &acting.org_id,
            workspace_id,
            &target.user_id,
            role,
            now,
        )
        .await;
        super::unique_or(
            inserted,
            ServiceError::Conflict("This person's role here changed meanwhile; reload the page."),
        )?;
    }
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: if new_role.is_some() {
                AuditAction::WorkspaceRoleGranted
            } else {
                AuditAction::WorkspaceRoleRemoved
            },
            target_type: Some("member"),
            target_id: Some(&target.user_id),
            target_label: Some(&target.email_normalized),
            before: current.map(|r| format!("{}: {}", workspace.title, r.as_str())),
            after: new_role.map(|r| format!("{}: {}", workspace.title, r.as_str())),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

const OWNER_CHANGED: &str = "The workspace's ownership changed meanwhile; reload the page.";

/// Makes the organization member with `new_owner_email` the workspace's
/// Owner; the previous Owner keeps a direct Admin role. Only the
/// workspace's Owner or the organization's Owner may.
pub async fn transfer(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    workspace_id: &str,
    new_owner_email: &str,
) -> Result<(workspace::Model, String), ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let (found, roles) = acting
        .authorize_in_workspace(
            &txn,
            workspace_id,
            Action::InWorkspace(WsPermission::OwnWorkspace),
        )
        .await?;
    let target = new_owner(&txn, acting, roles, workspace_id, new_owner_email).await?;
    let current = workspace_member::Entity::find()
        .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
        .filter(workspace_member::Column::Role.eq(WorkspaceRole::Owner))
        .one(&txn)
        .await?
        .ok_or(ServiceError::Conflict(OWNER_CHANGED))?;
    if current.user_id == target.user_id {
        return Err(ServiceError::invalid(
            "new_owner_email",
            "That person already owns this workspace.",
        ));
    }
    hand_over(&txn, acting, workspace_id, &current, &target.user_id, now).await?;
    // The log names people by address, not by id.
    let previous = user::Entity::find_by_id(current.user_id.clone())
        .one(&txn)
        .await?
        .map_or(current.user_id.clone(), |u| u.email_normalized);
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::WorkspaceOwnershipTransferred,
            target_type: Some("workspace"),
            target_id: Some(workspace_id),
            target_label: Some(&found.title),
            before: Some(previous),
            after: Some(target.email_normalized.clone()),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((found, target.email_normalized))
}

/// The member who is to own the workspace. Someone who may not see the
/// members (a workspace guest owning the workspace) hands it only to people
/// they see here, those with a role in it; anyone else answers as an
/// unknown address would, or the form would tell them who belongs to the
/// organization.
async fn new_owner<C: ConnectionTrait>(
    txn: &C,
    acting: &Acting,
    roles: Roles,
    workspace_id: &str,
    email: &str,
) -> Result<membership::Model, ServiceError> {
    let nobody = || {
        ServiceError::invalid(
            "new_owner_email",
            "Nobody in this organization has that email address.",
        )
    };
    let target = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(acting.org_id.as_str()))
        .filter(
            membership::Column::EmailNormalized.eq(crate::domain::email::normalize_lookup(email)),
        )
        .one(txn)
        .await?
        .ok_or_else(nobody)?;
    let sees_members = policy::allows(
        Roles::in_org(roles.org),
        Action::Use(Permission::ViewMembers),
    );
    if !sees_members
        && direct_role(txn, workspace_id, &target.user_id)
            .await?
            .is_none()
    {
        return Err(nobody());
    }
    Ok(target)
}

/// The current Owner (`current`) becomes a direct Admin and `user_id` the
/// Owner, each only if nobody changed the ownership meanwhile.
async fn hand_over<C: ConnectionTrait>(
    txn: &C,
    acting: &Acting,
    workspace_id: &str,
    current: &workspace_member::Model,
    user_id: &str,
    now: i64,
) -> Result<(), ServiceError> {
    let demoted = workspace_member::Entity::update_many()
        .col_expr(
            workspace_member::Column::Role,
            Expr::value(WorkspaceRole::Admin),
        )
        .filter(workspace_member::Column::Id.eq(current.id.as_str()))
        .filter(workspace_member::Column::Role.eq(WorkspaceRole::Owner))
        .exec(txn)
        .await?;
    if demoted.rows_affected != 1 {
        return Err(ServiceError::Conflict(OWNER_CHANGED));
    }
    workspace_member::Entity::delete_many()
        .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
        .filter(workspace_member::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    let promoted = insert_direct_role(
        txn,
        &acting.org_id,
        workspace_id,
        user_id,
        WorkspaceRole::Owner,
        now,
    )
    .await;
    super::unique_or(promoted, ServiceError::Conflict(OWNER_CHANGED))?;
    Ok(())
}

/// What deleting a workspace takes with it, for the confirmation.
pub async fn direct_member_count(db: &Db, org_id: &str, workspace_id: &str) -> anyhow::Result<u64> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    workspace_member::Entity::find()
        .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
        .count(&conn)
        .await
        .context("failed to count direct members")
}

/// Refuses with `message` (about `field`) when `org_id` has one workspace
/// left, which is about to go. The caller's transaction holds the organization (see
/// `Db::begin_org_write`), so two simultaneous deletes or moves cannot
/// both see a second workspace that the other is taking away.
async fn keep_one_workspace<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    field: &'static str,
    message: &str,
) -> Result<(), ServiceError> {
    let left = workspace::Entity::find()
        .filter(workspace::Column::OrgId.eq(org_id))
        .count(conn)
        .await?;
    if left <= 1 {
        return Err(ServiceError::invalid(field, message));
    }
    Ok(())
}

/// Deletes a workspace after its title was typed to confirm; the
/// organization keeps at least one.
pub async fn delete(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    workspace_id: &str,
    typed_title: &str,
) -> Result<workspace::Model, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let (found, _) = acting
        .authorize_in_workspace(
            &txn,
            workspace_id,
            Action::InWorkspace(WsPermission::OwnWorkspace),
        )
        .await?;
    if typed_title.trim() != found.title {
        return Err(ServiceError::invalid(
            "confirm_title",
            "Type the workspace's title exactly to confirm.",
        ));
    }
    keep_one_workspace(
        &txn,
        &acting.org_id,
        "confirm_title",
        "An organization keeps at least one workspace.",
    )
    .await?;
    workspace::Entity::delete_many()
        .filter(workspace::Column::Id.eq(workspace_id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        &acting.actor,
        Entry::naming(
            &acting.org_id,
            AuditAction::WorkspaceDeleted,
            "workspace",
            workspace_id,
            &found.title,
        )
        .as_deletion(),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(found)
}

/// A person's access to each workspace of the organization they can reach,
/// by title: the access explainer on their member page.
pub async fn access_by_workspace(
    db: &Db,
    org_id: &str,
    user_id: &str,
    org_role: OrgRole,
) -> anyhow::Result<Vec<(workspace::Model, Access)>> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    // The workspaces and the person's direct roles, in one round trip.
    let columns: Vec<&'static str> = workspace::Column::iter().map(|c| c.as_str()).collect();
    let page = PageQuery::new(
        workspace::Entity::find()
            .filter(workspace::Column::OrgId.eq(org_id))
            .into_query(),
        &columns,
        vec![("title_normalized", Order::Asc), ("id", Order::Asc)],
    )
    .beside("direct", direct_roles_expr(db.backend(), org_id, user_id))
    .read::<workspace::Model, _>(&conn)
    .await
    .context("failed to list workspaces")?;
    let direct: Vec<(String, WorkspaceRole)> = page.get_rows("direct")?;
    Ok(page
        .rows
        .into_iter()
        .map(|w| {
            let role = direct
                .iter()
                .find(|(workspace_id, _)| *workspace_id == w.id)
                .map(|(_, role)| *role);
            (w, Roles::in_workspace(org_role, role))
        })
        .filter(|(_, roles)| policy::allows(*roles, Action::InWorkspace(WsPermission::View)))
        .map(|(w, roles)| (w, roles.workspace()))
        .collect())
}

/// The organization's workspaces as (id, title), by title, for pickers.
pub async fn titles(db: &Db, org_id: &str) -> anyhow::Result<Vec<(String, String)>> {
    first_titles(db, org_id, None).await
}

/// The direct roles `person` (a user id, or a scalar subquery that yields
/// one) holds in the organization's workspaces, as (workspace id, role) pairs folded into a scalar subquery, to be read
/// beside a page (see `page_rows`).
pub(crate) fn direct_roles_expr(backend: DbBackend, org_id: &str, person: impl Into<Expr>) -> Expr {
    let direct = workspace_member::Entity::find()
        .select_only()
        .column(workspace_member::Column::WorkspaceId)
        .column(workspace_member::Column::Role)
        .filter(workspace_member::Column::OrgId.eq(org_id))
        .filter(Expr::col((workspace_member::Entity, workspace_member::Column::UserId)).eq(person))
        .into_query();
    super::page_rows::rows_expr(
        backend,
        direct,
        &["workspace_id", "role"],
        &[("workspace_id", Order::Asc)],
    )
}

/// [`titles`] as a scalar subquery, to be read beside a page (see
/// `page_rows`).
pub(crate) fn titles_expr(backend: DbBackend, org_id: &str) -> Expr {
    let rows = workspace::Entity::find()
        .select_only()
        .column_as(workspace::Column::Id, "id")
        .column_as(workspace::Column::Title, "title")
        .column_as(workspace::Column::TitleNormalized, "title_normalized")
        .filter(workspace::Column::OrgId.eq(org_id))
        .into_query();
    super::page_rows::rows_expr(
        backend,
        rows,
        &["id", "title"],
        &[("title_normalized", Order::Asc), ("id", Order::Asc)],
    )
}

/// The first `limit` workspaces (all without one) as (id, title), by title.
pub async fn first_titles(
    db: &Db,
    org_id: &str,
    limit: Option<u64>,
) -> anyhow::Result<Vec<(String, String)>> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let mut select = workspace::Entity::find()
        .filter(workspace::Column::OrgId.eq(org_id))
        .order_by_asc(workspace::Column::TitleNormalized)
        .order_by_asc(workspace::Column::Id);
    if let Some(limit) = limit {
        select = select.limit(limit);
    }
    Ok(select
        .all(&conn)
        .await
        .context("failed to list workspaces")?
        .into_iter()
        .map(|w| (w.id, w.title))
        .collect())
}

/// Someone who would lose access to a workspace by its move.
#[derive(Clone, Debug)]
pub struct Losing {
    pub name: String,
    pub email: String,
    pub role: WorkspaceRole,
}

/// People with a direct role in the workspace who are not members of
/// `target_org_id`: the move takes their access away.
pub async fn losing_access(
    db: &Db,
    org_id: &str,
    workspace_id: &str,
    target_org_id: &str,
) -> anyhow::Result<Vec<Losing>> {
    let direct = workspace_member::Entity::find()
        .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
        .find_also_related(user::Entity)
        .all(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to read direct roles")?;
    // The move's preview: the target's members, on the move's named path.
    let staying: Vec<String> = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(target_org_id))
        .filter(membership::Column::UserId.is_in(direct.iter().map(|(m, _)| m.user_id.clone())))
        .all(&db.read_cross_org(CrossOrg::WorkspaceMove).await?)
        .await
        .context("failed to read the target's members")?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let mut losing: Vec<Losing> = direct
        .into_iter()
        .filter(|(m, _)| !staying.contains(&m.user_id))
        .filter_map(|(m, u)| {
            u.map(|u| Losing {
                name: u.name,
                email: u.email,
                role: m.role,
            })
        })
        .collect();
    losing.sort_by_key(|p| p.name.to_lowercase());
    Ok(losing)
}

/// Moves a workspace to another organization where the actor is an Admin
/// or the Owner. Direct roles of people outside the target organization
/// end; if its Owner is one of them, the actor becomes its Owner. The old
/// organization keeps no trace of it but its audit rows.
pub async fn move_to(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    workspace_id: &str,
    target_org_id: &str,
) -> Result<(workspace::Model, usize), ServiceError> {
    let now = clock.now();
    // Both organizations' rows: the move is authorized in each below.
    let txn = db.begin_cross_org(CrossOrg::WorkspaceMove).await?;
    crate::db::lock_orgs(&txn, &[&acting.org_id, target_org_id]).await?;
    let found = authorize_move(&txn, acting, workspace_id, target_org_id).await?;
    // An Admin or the Owner of the target sees all its workspaces.
    lock_titles(&txn, target_org_id).await?;
    let taken = workspace::Entity::find()
        .filter(workspace::Column::OrgId.eq(target_org_id))
        .filter(workspace::Column::TitleNormalized.eq(found.title_normalized.as_str()))
        .count(&txn)
        .await?;
    if taken > 0 {
        return Err(ServiceError::invalid(
            "to",
            "The other organization already has a workspace with this title; rename one first.",
        ));
    }
    let lost = rehome(&txn, acting, workspace_id, target_org_id, now).await?;
    record_move(&txn, acting, &found, target_org_id, now).await?;
    txn.commit().await?;
    Ok((found, lost))
}

/// The workspace, once the actor owns it, it is not the organization's
/// last, and the actor is an Admin or the Owner where it goes.
async fn authorize_move<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    workspace_id: &str,
    target_org_id: &str,
) -> Result<workspace::Model, ServiceError> {
    let (found, roles) = acting
        .authorize_in_workspace(
            conn,
            workspace_id,
            Action::InWorkspace(WsPermission::OwnWorkspace),
        )
        .await?;
    if target_org_id == acting.org_id {
        return Err(ServiceError::invalid(
            "to",
            "Choose another organization to move the workspace to.",
        ));
    }
    keep_one_workspace(
        conn,
        &acting.org_id,
        "to",
        "This is the organization's only workspace: an organization keeps at least one. \
         Create another workspace before moving this one away.",
    )
    .await?;
    let destination = super::acting::org_role_of(conn, target_org_id, &acting.user_id).await?;
    policy::authorize(roles, Action::MoveWorkspace { destination })?;
    Ok(found)
}

/// Moves the workspace, its products and its direct roles to the target
/// organization. Direct roles of people outside it end; if the Owner's is
/// one of them, the actor becomes the Owner. Returns how many lost access.
async fn rehome<C: ConnectionTrait>(
    txn: &C,
    acting: &Acting,
    workspace_id: &str,
    target_org_id: &str,
    now: i64,
) -> Result<usize, ServiceError> {
    let direct = workspace_member::Entity::find()
        .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
        .all(txn)
        .await?;
    let staying: Vec<String> = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(target_org_id))
        .filter(membership::Column::UserId.is_in(direct.iter().map(|m| m.user_id.clone())))
        .all(txn)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .collect();
    let leaving: Vec<&workspace_member::Model> = direct
        .iter()
        .filter(|m| !staying.contains(&m.user_id))
        .collect();
    let owner_leaves = leaving.iter().any(|m| m.role == WorkspaceRole::Owner);
    workspace_member::Entity::delete_many()
        .filter(workspace_member::Column::Id.is_in(leaving.iter().map(|m| m.id.clone())))
        .exec(txn)
        .await?;
    super::products::on_workspace_moved(txn, workspace_id, target_org_id, now).await?;
    // Custom roles are the old organization's: those held here end.
    crate::entities::role_assignment::Entity::delete_many()
        .filter(crate::entities::role_assignment::Column::WorkspaceId.eq(workspace_id))
        .exec(txn)
        .await?;
    workspace::Entity::update_many()
        .col_expr(workspace::Column::OrgId, Expr::value(target_org_id))
        .filter(workspace::Column::Id.eq(workspace_id))
        .filter(workspace::Column::OrgId.eq(acting.org_id.as_str()))
        .exec(txn)
        .await?;
    workspace_member::Entity::update_many()
        .col_expr(workspace_member::Column::OrgId, Expr::value(target_org_id))
        .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
        .exec(txn)
        .await?;
    if owner_leaves {
        workspace_member::Entity::delete_many()
            .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
            .filter(workspace_member::Column::UserId.eq(acting.user_id.as_str()))
            .exec(txn)
            .await?;
        insert_direct_role(
            txn,
            target_org_id,
            workspace_id,
            &acting.user_id,
            WorkspaceRole::Owner,
            now,
        )
        .await?;
    }
    Ok(leaving.len())
}

/// One audit row in each organization, naming both (with their ids, for
/// certainty).
async fn record_move<C: ConnectionTrait>(
    txn: &C,
    acting: &Acting,
    found: &workspace::Model,
    target_org_id: &str,
    now: i64,
) -> Result<(), ServiceError> {
    let name_of = |id: &str| {
        let id = id.to_string();

        async move {
            organization::Entity::find_by_id(id.clone())
                .one(txn)
                .await
                .map(|o| o.map_or(id.clone(), |o| format!("{} ({id})", o.name)))
        }
    };
    let from = name_of(&acting.org_id).await?;
    let to = name_of(target_org_id).await?;
    for (org, before, after) in [
        (acting.org_id.as_str(), Some(from.clone()), Some(to.clone())),
        (target_org_id, Some(from.clone()), Some(to.clone())),
    ] {
        audit::record(
            txn,
            &acting.actor,
            Entry {
                org_id: Some(org),
                action: AuditAction::WorkspaceMoved,
                target_type: Some("workspace"),
                target_id: Some(&found.id),
                target_label: Some(&found.title),
                before,
                after,
            },
            now,
        )
        .await?;
    }
    Ok(())
}
