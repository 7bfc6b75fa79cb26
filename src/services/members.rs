//! Members of an organization: the list, role changes, removal, leaving
//! and ownership transfer. Every change re-reads the actor's role inside
//! its transaction, asks `domain::policy`, applies conditional updates (so
//! a concurrent change makes it fail cleanly instead of breaking the
//! one-Owner rule) and writes its audit row in the same transaction.

use anyhow::Context;
use sea_orm::sea_query::{Expr, LikeExpr, Order, Query, QueryStatementBuilder};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, ExprTrait, FromQueryResult,
    JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, RelationTrait,
    Select,
};

use super::acting::Acting;
use super::audit::{self, AuditAction, Entry};
use super::error::{CHANGED_MEANWHILE, ServiceError};
use super::member_counts;
use super::page_rows::{Along, AlongRead, Page, PageQuery, SharedRows};
use super::search::escape_like;
use crate::clock::Clock;
use crate::db::{CrossOrg, Db, Tenant};
use crate::domain::email::normalize_lookup;
use crate::domain::policy::{self, Action, MemberCaps, Roles};
use crate::domain::role::OrgRole;
use crate::entities::{membership, user, workspace_member};

/// Sets a membership's role only if it still holds `expected`, so a
/// concurrent change makes this one fail instead of overwriting it.
async fn set_role_if<C: ConnectionTrait>(
    conn: &C,
    membership_id: &str,
    expected: OrgRole,
    new_role: OrgRole,
) -> Result<bool, ServiceError> {
    let updated = membership::Entity::update_many()
        .col_expr(membership::Column::Role, Expr::value(new_role))
        .filter(membership::Column::Id.eq(membership_id))
        .filter(membership::Column::Role.eq(expected))
        .exec(conn)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// One row of the member list. Its fields are in the order of
/// [`MemberRow::COLUMNS`], which a page of them crosses as (see
/// `page_rows`).
#[derive(Clone, Debug, FromQueryResult, serde::Deserialize)]
pub struct MemberRow {
    pub membership_id: String,
    pub org_id: String,
    pub user_id: String,
    pub name: String,
    /// The lower-cased name the list sorts by.
    pub sort_name: String,
    pub email: String,
    pub role: OrgRole,
    pub joined_at: i64,
    pub last_active_at: i64,
    /// When the person turned two-factor sign-in on; `None` while off.
    pub two_factor_at: Option<i64>,
}

impl MemberRow {
    /// The columns [`person_columns`] names, in the fields' order.
    const COLUMNS: &'static [&'static str] = &[
        "membership_id",
        "org_id",
        "user_id",
        "name",
        "sort_name",
        "email",
        "role",
        "joined_at",
        "last_active_at",
        "two_factor_at",
    ];

    /// What the actor (holding `actor`, the account `actor_user_id`) may
    /// do to this member.
    pub fn caps(&self, actor: Roles, actor_user_id: &str) -> MemberCaps {
        MemberCaps::by(actor, self.role, self.user_id == actor_user_id)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MemberSort {
    #[default]
    Name,
    Joined,
    LastActive,
}

impl MemberSort {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "name" => Some(MemberSort::Name),
            "joined" => Some(MemberSort::Joined),
            "last_active" => Some(MemberSort::LastActive),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MemberSort::Name => "name",
            MemberSort::Joined => "joined",
            MemberSort::LastActive => "last_active",
        }
    }
}

/// A validated member-list query.
#[derive(Clone, Debug, Default)]
pub struct MemberQuery {
    /// Lower-cased fragment of a name or email.
    pub search: Option<String>,
    pub role: Option<OrgRole>,
    pub sort: MemberSort,
    /// Only people with access to this workspace (an id of the
    /// organization's, checked by the caller): everyone with an
    /// organization role, and the guests who hold a role in it.
    pub workspace: Option<String>,
    /// Only people with (`true`) or without (`false`) two-factor sign-in.
    pub two_factor: Option<bool>,
    /// 1-based.
    pub page: u64,
    /// Set when the page was reached by Next or Previous: it then starts
    /// beside a member instead of at an offset, which stays cheap deep in
    /// a long list.
    pub cursor: Option<Cursor>,
}

/// Which side of the cursor's member a page lies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// The page that follows the member (Next).
    After,
    /// The page that precedes the member (Previous).
    Before,
}

/// A member's position in a sort order: the sort key and the membership
/// id that breaks ties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub direction: Direction,
    pub key: CursorKey,
    pub id: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CursorKey {
    Text(String),
    Number(i64),
}

const MAX_CURSOR_KEY_BYTES: usize = 512;

impl Cursor {
    /// The position of `row` in `sort`.
    pub fn of(row: &MemberRow, sort: MemberSort, direction: Direction) -> Self {
        let key = match sort {
            MemberSort::Name => CursorKey::Text(row.sort_name.clone()),
            MemberSort::Joined => CursorKey::Number(row.joined_at),
            MemberSort::LastActive => CursorKey::Number(row.last_active_at),
        };
        Cursor {
            direction,
            key,
            id: row.membership_id.clone(),
        }
    }

    /// The cursor as it travels in a link: `<membership id>.<sort key>`.
    pub fn encode(&self) -> String {
        match &self.key {
            CursorKey::Text(text) => format!("{}.{text}", self.id),
            CursorKey::Number(n) => format!("{}.{n}", self.id),
        }
    }

    /// Reads a cursor from a link; `None` when it is not one `sort` made.
    pub fn parse(value: &str, sort: MemberSort, direction: Direction) -> Option<Self> {
        let (id, key) = value.split_once('.')?;
        let id = uuid::Uuid::parse_str(id).ok()?.to_string();
        if key.len() > MAX_CURSOR_KEY_BYTES {
            return None;
        }
        let key = match sort {
            MemberSort::Name => CursorKey::Text(key.to_string()),
            MemberSort::Joined | MemberSort::LastActive => CursorKey::Number(key.parse().ok()?),
        };
        Some(Cursor { direction, key, id })
    }

    /// Rows on the cursor's side of its member, in `sort`.
    pub(crate) fn condition(&self, sort: MemberSort) -> Expr {
        let column = match sort {
            MemberSort::Name => membership::Column::SortName,
            MemberSort::Joined => membership::Column::CreatedAt,
            MemberSort::LastActive => membership::Column::LastActiveAt,
        };
        let key: sea_orm::Value = match &self.key {
            CursorKey::Text(text) => text.clone().into(),
            CursorKey::Number(n) => (*n).into(),
        };
        let position = Expr::tuple([
            Expr::col((membership::Entity, column)),
            Expr::col((membership::Entity, membership::Column::Id)),
        ]);
        let at = Expr::tuple([Expr::val(key), Expr::val(self.id.clone())]);
        // Name sorts ascending; the dates sort newest first.
        let ascending = sort == MemberSort::Name;
        if ascending == (self.direction == Direction::After) {
            position.gt(at)
        } else {
            position.lt(at)
        }
    }
}

pub const PER_PAGE: u64 = 50;
pub const MAX_SEARCH_CHARS: usize = 100;

/// Fragments at least this long use the trigram index.
const TRIGRAM_MIN_CHARS: usize = 3;

fn filtered(backend: DbBackend, org_id: &str, query: &MemberQuery) -> Select<membership::Entity> {
    let search = query.search.as_deref();
    let mut select = membership::Entity::find();
    select = match search {
        // The organization is checked with a unary `+`, which keeps SQLite
        // from walking the organization's index and probing the trigram
        // matches row by row: the matches drive the query instead.
        // The matches themselves are the rows the statement shares as
        // `search_hits` (see `search_hits`), found once for the page and
        // its total.
        Some(fragment) if backend == DbBackend::Sqlite && uses_trigrams(fragment) => {
            select.filter(Expr::cust_with_values(
                "memberships.rowid IN (SELECT rowid FROM search_hits) \
                 AND +memberships.org_id = ?",
                [org_id.to_string()],
            ))
        }
        Some(fragment) => select
            .filter(membership::Column::OrgId.eq(org_id))
            .filter(search_condition(fragment)),
        None => select.filter(membership::Column::OrgId.eq(org_id)),
    };
    if let Some(cursor) = &query.cursor {
        select = select.filter(cursor.condition(query.sort));
    }
    if let Some(workspace_id) = &query.workspace {
        let mut direct = Query::select();
        direct
            .column(workspace_member::Column::UserId)
            .from(workspace_member::Entity)
            .and_where(workspace_member::Column::WorkspaceId.eq(workspace_id.as_str()));
        select = select.filter(
            Condition::any()
                .add(membership::Column::Role.ne(OrgRole::None))
                .add(membership::Column::UserId.in_subquery(direct)),
        );
    }
    if let Some(on) = query.two_factor {
        let column = user::Column::TwoFactorAt;
        select = select
            .join(JoinType::InnerJoin, membership::Relation::User.def())
            .filter(if on {
                column.is_not_null()
            } else {
                column.is_null()
            });
    }
    // "All" is everyone with any access, workspace guests included.
    match query.role {
        Some(role) => select.filter(membership::Column::Role.eq(role)),
        None => select,
    }
}

/// The rows of SQLite's trigram index (`member_search`) that match the
/// view's fragment, for the statements `filtered` makes to read them as
/// `search_hits`; `None` when the view needs none. The index is searched
/// once per page: a fragment's common trigrams ("use", "com") each list
/// most members, so matching it twice, for the page and for its total,
/// cost a search about a quarter of its time (bench/README.md).
fn search_hits(backend: DbBackend, query: &MemberQuery) -> Option<SharedRows> {
    let fragment = query.search.as_deref()?;
    (backend == DbBackend::Sqlite && uses_trigrams(fragment)).then(|| SharedRows {
        name: "search_hits",
        sql: "SELECT rowid FROM member_search WHERE text LIKE ?",
        values: vec![escape_like(fragment).into()],
    })
}

/// Merges SQLite's trigram index of members (`member_search`) into one
/// segment; nothing on PostgreSQL. The index grows in segments, one a
/// write, which FTS5 merges a few at a time: a search walks every
/// segment's list of each trigram, and a fragment's common trigrams list
/// most members, so a search of 100,000 members took 230 µs in the index
/// as seeded and 104 µs once merged (bench/README.md). Run at start: 0.25 s
/// for 100,000 members, nothing for an index merged already; members who
/// join later add small segments, which cost a search little.
pub async fn merge_search_index(db: &Db) -> anyhow::Result<()> {
    if db.backend() != DbBackend::Sqlite {
        return Ok(());
    }
    db.owner()
        .execute_unprepared("INSERT INTO member_search (member_search) VALUES ('optimize')")
        .await
        .context("failed to merge the members' search index")?;
    Ok(())
}

/// Whether the trigram index can answer a search for `fragment`.
fn uses_trigrams(fragment: &str) -> bool {
    fragment.chars().count() >= TRIGRAM_MIN_CHARS && !fragment.contains(['%', '_', '\\'])
}

/// Matches members whose lower-cased name or email contains `search`
/// (PostgreSQL's trigram index, or a scan for short fragments).
fn search_condition(search: &str) -> Condition {
    let pattern = escape_like(search);
    if uses_trigrams(search) {
        // Matches the expression of the pg_trgm index.
        return Condition::all().add(Expr::cust_with_values(
            "(memberships.sort_name || ' ' || memberships.email_normalized) LIKE $1",
            [pattern],
        ));
    }
    Condition::any()
        .add(
            Expr::col((membership::Entity, membership::Column::SortName))
                .like(LikeExpr::new(pattern.clone()).escape('\\')),
        )
        .add(
            Expr::col((membership::Entity, membership::Column::EmailNormalized))
                .like(LikeExpr::new(pattern).escape('\\')),
        )
}

fn with_person(
    select: Select<membership::Entity>,
) -> sea_orm::Selector<sea_orm::SelectModel<MemberRow>> {
    person_columns(select).into_model::<MemberRow>()
}

/// The columns of a [`MemberRow`], with the person joined.
pub(crate) fn person_columns(select: Select<membership::Entity>) -> Select<membership::Entity> {
    select
        .select_only()
        .column_as(membership::Column::Id, "membership_id")
        .column_as(membership::Column::OrgId, "org_id")
        .column_as(membership::Column::UserId, "user_id")
        .column_as(user::Column::Name, "name")
        .column_as(membership::Column::SortName, "sort_name")
        .column_as(user::Column::Email, "email")
        .column_as(membership::Column::Role, "role")
        .column_as(membership::Column::CreatedAt, "joined_at")
        .column_as(membership::Column::LastActiveAt, "last_active_at")
        .column_as(user::Column::TwoFactorAt, "two_factor_at")
        .join(JoinType::InnerJoin, membership::Relation::User.def())
}

/// A page of members and the total matching the query.
///
/// The page's ids come from one index in a subquery (cheap even for a deep
/// page, as skipped rows are never joined); only those rows are joined
/// with their people. The page crosses as one value with its total beside
/// it (an unsearched view reads the counts the triggers keep): one round
/// trip, one row.
pub async fn list(
    db: &Db,
    org_id: &str,
    query: &MemberQuery,
) -> anyhow::Result<(Vec<MemberRow>, u64)> {
    let page = list_inner(db, org_id, query, None, false).await?;
    Ok((page.rows, page.total))
}

/// A page of the Members page: [`list`]'s, and what the page shows beside it.
pub struct MembersPage {
    pub rows: Vec<MemberRow>,
    pub total: u64,
    /// The organization's waiting invitations as (pending, expired), when
    /// asked for.
    pub waiting: Option<(u64, u64)>,
    /// The organization's workspaces as (id, title), by title.
    pub workspaces: Vec<(String, String)>,
}

/// A page of members as [`list`] gives it, with the organization's
/// workspaces and, with `waiting_at`, its waiting invitations counted at
/// that time, all read in the page's own round trip when they can be.
pub async fn list_for_page(
    db: &Db,
    org_id: &str,
    query: &MemberQuery,
    waiting_at: Option<i64>,
) -> anyhow::Result<MembersPage> {
    let mut page = list_inner(db, org_id, query, waiting_at, true).await?;
    if let (Some(now), None) = (waiting_at, page.waiting) {
        page.waiting = Some(
            super::invitations::waiting_counts(
                &db.read_in(Tenant::org(org_id)).await?,
                org_id,
                now,
            )
            .await?,
        );
    }
    if page.workspaces.is_empty() {
        page.workspaces = super::workspaces::titles(db, org_id).await?;
    }
    Ok(page)
}

async fn list_inner(
    db: &Db,
    org_id: &str,
    query: &MemberQuery,
    waiting_at: Option<i64>,
    with_workspaces: bool,
) -> anyhow::Result<MembersPage> {
    let backend = db.backend();
    if backend == DbBackend::Postgres && query.search.is_some() {
        let (backwards, offset) = position(query);
        let (rows, total) = search_outside_policies(db, org_id, query, backwards, offset).await?;
        return Ok(MembersPage {
            rows,
            total,
            waiting: None,
            workspaces: Vec::new(),
        });
    }
    let page = page_query(backend, org_id, query, waiting_at, with_workspaces)
        .read::<MemberRow, _>(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to load a page of members")?;
    page_of(page, org_id, waiting_at.is_some(), with_workspaces)
}

/// The statement the Members page reads along with the session (SQLite;
/// `None` elsewhere): the page, its total, the workspaces, and the waiting
/// invitations counted at `now`, for [`page_from_along`].
pub fn page_along(db: &Db, org_id: &str, query: &MemberQuery, now: i64) -> Option<Along> {
    (db.backend() == DbBackend::Sqlite)
        .then(|| page_query(DbBackend::Sqlite, org_id, query, Some(now), true).along())
}

/// The Members page [`page_along`] read; the waiting invitations are
/// left out for someone who may not see them.
pub fn page_from_along(
    read: &AlongRead,
    org_id: &str,
    sees_invitations: bool,
) -> anyhow::Result<MembersPage> {
    let mut page = page_of(Page::from_along(read)?, org_id, true, true)?;
    if !sees_invitations {
        page.waiting = None;
    }
    Ok(page)
}

/// Whether the page walks back from its cursor (Previous; the page is then
/// put in order by the outer query), and how many rows it skips.
fn position(query: &MemberQuery) -> (bool, u64) {
    let backwards = query
        .cursor
        .as_ref()
        .is_some_and(|c| c.direction == Direction::Before);
    let offset = match query.cursor {
        Some(_) => 0,
        None => query.page.saturating_sub(1).saturating_mul(PER_PAGE),
    };
    (backwards, offset)
}

/// The statement of a page of members, read as one row (not PostgreSQL's
/// search by fragment, [`search_outside_policies`]).
fn page_query(
    backend: DbBackend,
    org_id: &str,
    query: &MemberQuery,
    waiting_at: Option<i64>,
    with_workspaces: bool,
) -> PageQuery {
    let (backwards, offset) = position(query);
    // The page's rows by key alone: with an organization condition too,
    // SQLite may walk the organization's index instead. The tenant check
    // follows. On SQLite the key is the row's own (`rowid`, which every
    // index holds): a row is then one seek, not one in the index of ids
    // and then one in the table.
    let key = || match backend {
        DbBackend::Sqlite => Expr::cust("memberships.rowid"),
        _ => Expr::col((membership::Entity, membership::Column::Id)),
    };
    let page_ids = sorted(filtered(backend, org_id, query), query.sort, backwards)
        .select_only()
        .expr(key())
        .offset(offset)
        .limit(PER_PAGE)
        .into_query();
    let rows =
        person_columns(membership::Entity::find().filter(key().in_subquery(page_ids))).into_query();
    // The stored counts answer only for the whole organization by role; a
    // view they do not answer for is counted whole (every page of it, not
    // only the rows past a cursor).
    let counted_by_triggers =
        query.search.is_none() && query.workspace.is_none() && query.two_factor.is_none();
    let total = if counted_by_triggers {
        member_counts::total_expr(org_id, query.role)
    } else {
        let whole = MemberQuery {
            cursor: None,
            ..query.clone()
        };
        let counted = filtered(backend, org_id, &whole)
            .select_only()
            .expr(Expr::cust("CAST(COUNT(*) AS BIGINT)"))
            .into_query();
        Expr::SubQuery(None, Box::new(counted.into_sub_query_statement()))
    };
    let (key, ascending) = match query.sort {
        MemberSort::Name => ("sort_name", true),
        MemberSort::Joined => ("joined_at", false),
        MemberSort::LastActive => ("last_active_at", false),
    };
    let order = if ascending { Order::Asc } else { Order::Desc };
    let mut read = PageQuery::new(
        rows,
        MemberRow::COLUMNS,
        vec![(key, order.clone()), ("membership_id", order)],
    )
    .beside("total", total);
    if let Some(now) = waiting_at {
        let (unaccepted, expired) = super::invitations::waiting_exprs(org_id, now);
        read = read
            .beside("unaccepted", unaccepted)
            .beside("expired", expired);
    }
    if with_workspaces {
        read = read.beside(
            "workspaces",
            super::workspaces::titles_expr(backend, org_id),
        );
    }
    if let Some(hits) = search_hits(backend, query) {
        read = read.with(hits);
    }
    read
}

/// The page [`page_query`] read, with what was read beside it.
fn page_of(
    page: Page<MemberRow>,
    org_id: &str,
    with_waiting: bool,
    with_workspaces: bool,
) -> anyhow::Result<MembersPage> {
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    let total = count(page.get("total")?);
    let waiting = if with_waiting {
        let expired = count(page.get("expired")?);
        let unaccepted: Option<i64> = page.get("unaccepted")?;
        Some((
            count(unaccepted.unwrap_or(0)).saturating_sub(expired),
            expired,
        ))
    } else {
        None
    };
    let workspaces = if with_workspaces {
        page.get_rows("workspaces")?
    } else {
        Vec::new()
    };
    let mut rows = page.rows;
    rows.retain(|row| row.org_id == org_id);
    Ok(MembersPage {
        rows,
        total,
        waiting,
        workspaces,
    })
}

/// A search by fragment on PostgreSQL, which keeps an operator that is not
/// leakproof (LIKE) above the row-level security quals, so beneath the
/// policies the trigram index could not serve a fragment and every search
/// scanned the organization. The matching runs on its named path instead,
/// with the organization in its one filter, and yields ids; the rows shown
/// are read under the policies.
async fn search_outside_policies(
    db: &Db,
    org_id: &str,
    query: &MemberQuery,
    backwards: bool,
    offset: u64,
) -> anyhow::Result<(Vec<MemberRow>, u64)> {
    let backend = db.backend();
    let search = db.read_cross_org(CrossOrg::FragmentSearch).await?;
    let whole = MemberQuery {
        cursor: None,
        ..query.clone()
    };
    let total = filtered(backend, org_id, &whole)
        .count(&search)
        .await
        .context("failed to count members")?;
    if total == 0 {
        return Ok((Vec::new(), 0));
    }
    let ids: Vec<String> = sorted(filtered(backend, org_id, query), query.sort, backwards)
        .select_only()
        .column(membership::Column::Id)
        .offset(offset)
        .limit(PER_PAGE)
        .into_tuple()
        .all(&search)
        .await
        .context("failed to search members")?;
    drop(search);
    let page = sorted(
        membership::Entity::find().filter(membership::Column::Id.is_in(ids)),
        query.sort,
        false,
    );
    let mut rows = with_person(page)
        .all(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to load a page of members")?;
    rows.retain(|row| row.org_id == org_id);
    Ok((rows, total))
}

fn sorted(
    select: Select<membership::Entity>,
    sort: MemberSort,
    reversed: bool,
) -> Select<membership::Entity> {
    let (column, ascending) = match sort {
        MemberSort::Name => (membership::Column::SortName, true),
        MemberSort::Joined => (membership::Column::CreatedAt, false),
        MemberSort::LastActive => (membership::Column::LastActiveAt, false),
    };
    let order = if ascending != reversed {
        Order::Asc
    } else {
        Order::Desc
    };
    select
        .order_by(column, order.clone())
        .order_by(membership::Column::Id, order)
}

/// One member of the organization, by membership id; `None` for an id of
/// another organization as for one that does not exist.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    membership_id: &str,
) -> anyhow::Result<Option<MemberRow>> {
    with_person(
        membership::Entity::find()
            .filter(membership::Column::OrgId.eq(org_id))
            .filter(membership::Column::Id.eq(membership_id)),
    )
    .one(conn)
    .await
    .context("failed to load a member")
}

/// The actor's roles as of now and the target member, inside the
/// transaction, in one query.
async fn actor_and_target<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    membership_id: &str,
) -> Result<(Roles, MemberRow), ServiceError> {
    let rows = with_person(
        membership::Entity::find()
            .filter(membership::Column::OrgId.eq(acting.org_id.as_str()))
            .filter(membership::Column::Id.is_in([acting.membership_id.as_str(), membership_id])),
    )
    .all(conn)
    .await?;
    let actor = match &acting.org_key {
        Some(key) => Some(Roles::in_org(key.role)),
        None => rows
            .iter()
            .find(|row| row.membership_id == acting.membership_id)
            .map(|row| Roles::in_org(row.role)),
    }
    .ok_or(ServiceError::NotFound)?;
    let custom = acting.custom_levels(conn, None).await?;
    let actor = actor.with_custom(&custom.org_wide, &custom.here);
    let target = rows
        .into_iter()
        .find(|row| row.membership_id == membership_id)
        .ok_or(ServiceError::NotFound)?;
    Ok((actor, target))
}

/// Sets the role of `membership_id` with the role-ceiling rules.
pub async fn change_role(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    membership_id: &str,
    new_role: OrgRole,
) -> Result<MemberRow, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let (actor, mut target) = actor_and_target(&txn, acting, membership_id).await?;
    policy::authorize(
        actor,
        Action::ChangeRole {
            from: target.role,
            to: new_role,
            is_self: target.user_id == acting.user_id,
        },
    )?;
    if target.role != new_role {
        if !set_role_if(&txn, &target.membership_id, target.role, new_role).await? {
            return Err(ServiceError::Conflict(CHANGED_MEANWHILE));
        }
        audit::record(
            &txn,
            &acting.actor,
            Entry {
                org_id: Some(&acting.org_id),
                action: AuditAction::RoleChanged,
                target_type: Some("member"),
                target_id: Some(&target.user_id),
                target_label: Some(&normalize_lookup(&target.email)),
                before: Some(target.role.as_str().to_string()),
                after: Some(new_role.as_str().to_string()),
            },
            now,
        )
        .await?;
    }
    txn.commit().await?;
    target.role = new_role;
    Ok(target)
}

/// Removes `membership_id` from the organization.
pub async fn remove(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    membership_id: &str,
) -> Result<MemberRow, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let actor = acting.in_org(&txn).await?;
    let row = find(&txn, &acting.org_id, membership_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let is_self = row.user_id == acting.user_id;
    policy::authorize(
        actor,
        Action::Remove {
            target: row.role,
            is_self,
        },
    )?;
    delete_membership(
        &txn,
        &row,
        if is_self {
            AuditAction::MemberLeft
        } else {
            AuditAction::MemberRemoved
        },
        acting,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

/// The actor leaves the organization.
pub async fn leave(db: &Db, clock: &Clock, acting: &Acting) -> Result<(), ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let row = find(&txn, &acting.org_id, &acting.membership_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    policy::authorize(Roles::in_org(row.role), Action::Leave)?;
    delete_membership(&txn, &row, AuditAction::MemberLeft, acting, now).await?;
    txn.commit().await?;
    Ok(())
}

async fn delete_membership<C: ConnectionTrait>(
    conn: &C,
    row: &MemberRow,
    action: AuditAction,
    acting: &Acting,
    now: i64,
) -> Result<(), ServiceError> {
    let deleted = membership::Entity::delete_many()
        .filter(membership::Column::Id.eq(row.membership_id.as_str()))
        .filter(membership::Column::Role.eq(row.role))
        .filter(membership::Column::Role.ne(OrgRole::Owner))
        .exec(conn)
        .await?;
    if deleted.rows_affected != 1 {
        return Err(ServiceError::Conflict(CHANGED_MEANWHILE));
    }
    super::workspaces::on_member_gone(conn, &acting.org_id, &row.user_id).await?;
    super::products::on_member_gone(conn, &acting.org_id, &row.user_id, now).await?;
    audit::record(
        conn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action,
            target_type: Some("member"),
            target_id: Some(&row.user_id),
            target_label: Some(&row.email),
            before: Some(row.role.as_str().to_string()),
            after: None,
        },
        now,
    )
    .await?;
    Ok(())
}

/// Makes the member with `target_email` the Owner and the current Owner an
/// Admin, in one transaction, after re-checking the Owner's password.
pub async fn transfer_ownership(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    owner: &user::Model,
    target_email: &str,
    password_attempt: &str,
) -> Result<MemberRow, ServiceError> {
    acting
        .recheck_password(db, clock, owner, password_attempt)
        .await?;
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let actor = acting.in_org(&txn).await?;
    let target = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(acting.org_id.as_str()))
        .filter(
            membership::Column::EmailNormalized
                .eq(crate::domain::email::normalize_lookup(target_email)),
        )
        .one(&txn)
        .await?
        .ok_or_else(|| {
            ServiceError::invalid("email", "No member of this organization has that email.")
        })?;
    policy::authorize(
        actor,
        Action::TransferOwnership {
            target: target.role,
            is_self: target.user_id == acting.user_id,
        },
    )?;
    if !set_role_if(&txn, &acting.membership_id, OrgRole::Owner, OrgRole::Admin).await? {
        return Err(ServiceError::Conflict(
            "You are no longer the Owner of this organization.",
        ));
    }
    if !set_role_if(&txn, &target.id, target.role, OrgRole::Owner).await? {
        return Err(ServiceError::Conflict(CHANGED_MEANWHILE));
    }
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::OwnershipTransferred,
            target_type: Some("member"),
            target_id: Some(&target.user_id),
            target_label: Some(&target.email_normalized),
            before: Some(format!("owner: {}", owner.email_normalized)),
            after: Some(format!("owner: {}", target.email_normalized)),
        },
        now,
    )
    .await?;
    let row = find(&txn, &acting.org_id, &target.id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    txn.commit().await?;
    Ok(row)
}

#[cfg(test)]
mod sql_tests {
    use super::*;
    use sea_orm::QueryTrait;

    #[test]
    fn search_binds_the_pattern_on_both_backends() {
        let query = MemberQuery {
            search: Some("hopper".into()),
            ..Default::default()
        };
        let sql = filtered(DbBackend::Postgres, "org", &query)
            .build(DbBackend::Postgres)
            .to_string();
        assert!(sql.contains("LIKE '%hopper%'"), "{sql}");
        // SQLite matches the trigram index once, in the shared rows the
        // page and its total both read.
        let sql = filtered(DbBackend::Sqlite, "org", &query)
            .build(DbBackend::Sqlite)
            .to_string();
        assert!(sql.contains("IN (SELECT rowid FROM search_hits)"), "{sql}");
        let hits = search_hits(DbBackend::Sqlite, &query).expect("a trigram search");
        assert!(hits.sql.contains("member_search WHERE text LIKE ?"));
        assert_eq!(hits.values, vec![sea_orm::Value::from("%hopper%")]);
        assert!(search_hits(DbBackend::Postgres, &query).is_none());
        let short = MemberQuery {
            search: Some("ho".into()),
            ..Default::default()
        };
        let sql = filtered(DbBackend::Sqlite, "org", &short)
            .build(DbBackend::Sqlite)
            .to_string();
        assert!(
            !sql.contains("search_hits") && search_hits(DbBackend::Sqlite, &short).is_none(),
            "short fragments scan: {sql}"
        );
    }

    #[test]
    fn cursors_travel_in_links_and_refuse_anything_else() {
        let id = "6f1c7a52-0a8e-4b59-9c3e-2f6f0a1b2c3d";
        let by_name = Cursor::parse(
            &format!("{id}.ada lovelace. jr"),
            MemberSort::Name,
            Direction::After,
        );
        assert_eq!(
            by_name,
            Some(Cursor {
                direction: Direction::After,
                key: CursorKey::Text("ada lovelace. jr".into()),
                id: id.into(),
            })
        );
        let joined = Cursor {
            direction: Direction::Before,
            key: CursorKey::Number(1_700_000_000),
            id: id.into(),
        };
        assert_eq!(
            Cursor::parse(&joined.encode(), MemberSort::Joined, Direction::Before),
            Some(joined)
        );
        for bad in [
            "no-dot",
            "not-a-uuid.ada",
            &format!("{id}.{}", "x".repeat(MAX_CURSOR_KEY_BYTES + 1)),
        ] {
            assert_eq!(
                Cursor::parse(bad, MemberSort::Name, Direction::After),
                None,
                "{bad}"
            );
        }
        assert_eq!(
            Cursor::parse(
                &format!("{id}.ada"),
                MemberSort::LastActive,
                Direction::After
            ),
            None,
            "a date sort needs a number"
        );
    }

    #[test]
    fn next_and_previous_seek_on_both_sides_of_the_cursor() {
        let id = "6f1c7a52-0a8e-4b59-9c3e-2f6f0a1b2c3d";
        let cases = [
            (MemberSort::Name, Direction::After, ">"),
            (MemberSort::Name, Direction::Before, "<"),
            (MemberSort::Joined, Direction::After, "<"),
            (MemberSort::LastActive, Direction::Before, ">"),
        ];
        for (sort, direction, op) in cases {
            let key = match sort {
                MemberSort::Name => CursorKey::Text("ada".into()),
                _ => CursorKey::Number(5),
            };
            let query = MemberQuery {
                sort,
                cursor: Some(Cursor {
                    direction,
                    key,
                    id: id.into(),
                }),
                ..Default::default()
            };
            let sql = filtered(DbBackend::Sqlite, "org", &query)
                .build(DbBackend::Sqlite)
                .to_string();
            assert!(
                sql.contains(&format!("\"memberships\".\"id\") {op} (")),
                "{sort:?} {direction:?}: {sql}"
            );
        }
    }
}
