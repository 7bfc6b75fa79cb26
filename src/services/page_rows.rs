//! A page of rows read as one value.
//!
//! SQLx runs each SQLite connection on a thread of its own and hands the
//! rows of a result to the request's thread one at a time; the request's
//! task is woken for each, so a page of 50 rows cost about 50 wake-ups of
//! a worker thread, which the profile of the members page under load put
//! at about half its time (bench/README.md). Here the database folds the
//! page into one JSON array (`json_group_array` on SQLite, `json_agg` on
//! PostgreSQL), in the page's order, and reads the page's other figures (a
//! total, counts) beside it: one row crosses, once.
//!
//! A page may also be read along with another statement ([`Along`]): the
//! Members page is read with the session's statement, one round trip for
//! the whole request on SQLite.
//!
//! The rows decode with serde from JSON arrays whose items follow the
//! columns named here, in order, so a row type lists its fields in the
//! same order as its column list (a struct deserializes from an array by
//! field order).

use anyhow::Context;
use sea_orm::sea_query::{Alias, Expr, Func, Order, Query, QueryStatementBuilder, SelectStatement};
use sea_orm::{
    ConnectionTrait, DbBackend, EntityTrait, IdenStatic, Iterable, QueryResult, QueryTrait, Select,
    Statement, Value, Values,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// How a page is read: the statement that yields its rows, the columns
/// each row is made of, their order, and the values read beside them.
pub(crate) struct PageQuery {
    rows: SelectStatement,
    columns: Vec<&'static str>,
    order: Vec<(&'static str, Order)>,
    beside: Vec<(&'static str, Expr)>,
    /// A common table expression the statement starts with (SQLite).
    with: Option<SharedRows>,
}

/// `WITH <name> AS MATERIALIZED (<sql>)`: rows computed once and read by
/// more than one part of a page's statement (its rows and its total, say).
/// SQLite only: `sql` binds its values with `?`, ahead of the statement's.
pub struct SharedRows {
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
    pub(crate) values: Vec<Value>,
}

impl PageQuery {
    /// `rows` must name its output columns as `columns` does; the array's
    /// items follow `order` (columns of `rows`, the last one unique).
    pub(crate) fn new(
        rows: SelectStatement,
        columns: &[&'static str],
        order: Vec<(&'static str, Order)>,
    ) -> Self {
        Self {
            rows,
            columns: columns.to_vec(),
            order,
            beside: Vec::new(),
            with: None,
        }
    }

    /// Starts the statement with `shared` (on SQLite; see [`SharedRows`]).
    pub(crate) fn with(mut self, shared: SharedRows) -> Self {
        self.with = Some(shared);
        self
    }

    /// Reads `value` (a scalar expression, a subquery say) beside the rows,
    /// under `name`; [`Page::get`] returns it.
    pub(crate) fn beside(mut self, name: &'static str, value: Expr) -> Self {
        self.beside.push((name, value));
        self
    }

    /// Runs the query on `conn`.
    pub(crate) async fn read<T, C>(self, conn: &C) -> anyhow::Result<Page<T>>
    where
        T: DeserializeOwned,
        C: ConnectionTrait,
    {
        let backend = conn.get_database_backend();
        let mut select = Query::select();
        select
            .expr_as(
                Expr::cust(folded(backend, &self.columns, &self.order)),
                Alias::new("page_rows"),
            )
            .from_subquery(self.rows, Alias::new("page"));
        for (name, value) in self.beside {
            select.expr_as(value, Alias::new(name));
        }
        let statement = SharedRows::begin(self.with, backend.build(&select))?;
        let row = conn
            .query_one_raw(statement)
            .await?
            .context("an aggregate query returned no row")?;
        let json: String = row
            .try_get("", "page_rows")
            .context("failed to read a page's rows")?;
        let rows = serde_json::from_str(&json).context("failed to decode a page's rows")?;
        Ok(Page {
            rows,
            beside: Beside::Row(row),
        })
    }

    /// The page as two values another statement reads along with its own
    /// (SQLite): the folded rows, and a JSON object of the values beside
    /// them. See [`Along`].
    pub(crate) fn along(self) -> Along {
        let backend = DbBackend::Sqlite;
        let rows = rows_expr(backend, self.rows, &self.columns, &self.order);
        let mut object = Func::cust(Alias::new("json_object"));
        for (name, value) in self.beside {
            object = object.arg(Expr::val(name)).arg(value);
        }
        Along {
            rows,
            beside: object.into(),
            with: self.with,
        }
    }
}

/// A page read along with another statement, the session's say, so the
/// request makes one round trip instead of two (SQLite): that statement
/// selects `rows` and `beside` as two of its columns and starts with
/// `with` ([`SharedRows::begin`]); [`Page::from_along`] decodes them.
pub struct Along {
    pub(crate) rows: Expr,
    pub(crate) beside: Expr,
    pub(crate) with: Option<SharedRows>,
}

/// What a statement read for an [`Along`]: the rows as a JSON array and
/// the values beside them as a JSON object.
#[derive(Debug)]
pub struct AlongRead {
    pub(crate) rows: String,
    pub(crate) beside: String,
}

impl SharedRows {
    /// `statement`, starting with `shared` when there is one.
    pub(crate) fn begin(
        shared: Option<SharedRows>,
        statement: Statement,
    ) -> anyhow::Result<Statement> {
        let Some(shared) = shared else {
            return Ok(statement);
        };
        anyhow::ensure!(
            statement.db_backend == DbBackend::Sqlite,
            "a shared row set is written for SQLite"
        );
        let Statement {
            sql,
            values,
            db_backend,
        } = statement;
        let mut bound = shared.values;
        bound.extend(values.map(|Values(v)| v).unwrap_or_default());
        Ok(Statement::from_sql_and_values(
            db_backend,
            format!(
                "WITH {} AS MATERIALIZED ({}) {sql}",
                shared.name, shared.sql
            ),
            bound,
        ))
    }
}

/// `rows` folded into one JSON array as a scalar subquery, to be read
/// beside a page (with [`PageQuery::beside`], then [`Page::get_rows`]).
pub(crate) fn rows_expr(
    backend: DbBackend,
    rows: SelectStatement,
    columns: &[&'static str],
    order: &[(&'static str, Order)],
) -> Expr {
    let mut select = Query::select();
    select
        .expr(Expr::cust(folded(backend, columns, order)))
        .from_subquery(rows, Alias::new("page"));
    Expr::SubQuery(None, Box::new(select.into_sub_query_statement()))
}

/// The aggregate that folds the rows of subquery `page` into a JSON array
/// of arrays of `columns`, ordered by `order`; `[]` for no rows.
fn folded(backend: DbBackend, columns: &[&str], order: &[(&'static str, Order)]) -> String {
    let quoted = |column: &str| format!("page.\"{column}\"");
    let items = columns
        .iter()
        .map(|c| quoted(c))
        .collect::<Vec<_>>()
        .join(", ");
    let order = order
        .iter()
        .map(|(column, order)| {
            let direction = match order {
                Order::Desc => "DESC",
                _ => "ASC",
            };
            format!("{} {direction}", quoted(column))
        })
        .collect::<Vec<_>>()
        .join(", ");
    match backend {
        DbBackend::Postgres => format!(
            "CAST(COALESCE(json_agg(json_build_array({items}) ORDER BY {order}), '[]') AS TEXT)"
        ),
        _ => format!("json_group_array(json_array({items}) ORDER BY {order})"),
    }
}

/// The models `select` finds (every column of entity `E`, whose model
/// derives `Deserialize` with its fields in the columns' order), in
/// `order`, read as one value.
pub(crate) async fn models<E, C>(
    conn: &C,
    select: Select<E>,
    order: Vec<(&'static str, Order)>,
) -> anyhow::Result<Vec<E::Model>>
where
    E: EntityTrait,
    E::Model: DeserializeOwned,
    C: ConnectionTrait,
{
    let columns: Vec<&'static str> = E::Column::iter().map(|c| c.as_str()).collect();
    Ok(PageQuery::new(select.into_query(), &columns, order)
        .read(conn)
        .await?
        .rows)
}

/// Reads a flag that SQLite stores as 0 or 1 and PostgreSQL as a boolean;
/// for `#[serde(deserialize_with = "…")]` on a row's `bool` field.
pub(crate) fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Bool(bool),
        Int(i64),
    }
    Ok(match Stored::deserialize(deserializer)? {
        Stored::Bool(on) => on,
        Stored::Int(n) => n != 0,
    })
}

/// A page's rows and the values read beside them.
pub(crate) struct Page<T> {
    pub(crate) rows: Vec<T>,
    beside: Beside,
}

/// Where a page's other values are: the columns of its own statement's
/// row, or the object of an [`Along`].
enum Beside {
    Row(QueryResult),
    Json(serde_json::Map<String, serde_json::Value>),
}

impl<T: DeserializeOwned> Page<T> {
    /// The page another statement read along with its own.
    pub(crate) fn from_along(read: &AlongRead) -> anyhow::Result<Self> {
        let rows = serde_json::from_str(&read.rows).context("failed to decode a page's rows")?;
        let beside = serde_json::from_str(&read.beside)
            .context("failed to decode the values beside a page")?;
        Ok(Page {
            rows,
            beside: Beside::Json(beside),
        })
    }
}

impl<T> Page<T> {
    /// A value read beside the rows, by the name [`PageQuery::beside`] gave.
    pub(crate) fn get<V>(&self, name: &str) -> anyhow::Result<V>
    where
        V: sea_orm::TryGetable + DeserializeOwned,
    {
        let failed = || format!("failed to read {name} beside a page");
        match &self.beside {
            Beside::Row(row) => row.try_get("", name).with_context(failed),
            Beside::Json(object) => {
                let value = object.get(name).cloned().unwrap_or_default();
                serde_json::from_value(value).with_context(failed)
            }
        }
    }

    /// Rows read beside the page, folded by [`rows_expr`]. In an
    /// [`Along`]'s object SQLite nests them as an array (the folded text
    /// keeps its JSON subtype); elsewhere they are that text.
    pub(crate) fn get_rows<R: DeserializeOwned>(&self, name: &str) -> anyhow::Result<Vec<R>> {
        let failed = || format!("failed to decode {name} beside a page");
        if let Beside::Json(object) = &self.beside
            && let Some(nested @ serde_json::Value::Array(_)) = object.get(name)
        {
            return serde_json::from_value(nested.clone()).with_context(failed);
        }
        let json: String = self.get(name)?;
        serde_json::from_str(&json).with_context(failed)
    }
}
