//! Reading the audit log: an organization's rows newest first, filtered by
//! who acted, what was done, whom it concerned and when, a page at a time
//! (keyset: each page starts after the last row of the one before), and a
//! member's timeline. Rows are never changed or deleted here or anywhere.

use anyhow::Context;
use sea_orm::sea_query::{Expr, Order};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::audit::AuditAction;
use crate::db::{Db, Tenant};
use crate::entities::{audit_event, user};

pub const PER_PAGE: u64 = 50;

/// The words for a stored action (the name itself if unknown).
pub fn action_label(action: &str) -> &str {
    match AuditAction::parse(action) {
        Some(known) => known.label(),
        None => action,
    }
}

/// The member a filter or timeline is about: their account (if any) and
/// the address rows about invitations name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub user_id: Option<String>,
    /// Addresses rows may label them with (as typed and normalized).
    pub emails: Vec<String>,
}

/// The account with `email`, as a filter sees it.
pub async fn person(db: &Db, email: &str) -> anyhow::Result<Person> {
    let conn = db.accounts_read();
    let normalized = email.trim().to_lowercase();
    let account = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(normalized.as_str()))
        .one(conn)
        .await
        .context("failed to look up the address")?;
    let mut emails = vec![normalized];
    if let Some(account) = &account
        && !emails.contains(&account.email)
    {
        emails.push(account.email.clone());
    }
    Ok(Person {
        user_id: account.map(|a| a.id),
        emails,
    })
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Who acted (no account: nothing matches).
    pub actor: Option<Person>,
    pub action: Option<String>,
    /// Whom a row is about.
    pub target: Option<Person>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
}

/// Where a page starts: just after (older than) this row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl Cursor {
    /// `1795348800.0a1b…` as it travels in a link.
    pub fn parse(value: &str) -> Option<Self> {
        let (at, id) = value.split_once('.')?;
        let created_at = at.parse().ok()?;
        if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        {
            return None;
        }
        Some(Cursor {
            created_at,
            id: id.to_string(),
        })
    }

    pub fn of(row: &audit_event::Model) -> Self {
        Cursor {
            created_at: row.created_at,
            id: row.id.clone(),
        }
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }
}

/// The ways a row can be about `person`, each answered by an index: by
/// their account id, or by each address (rows about invitations). One
/// address per way: with an `IN` list, SQLite walks the whole log newest
/// first instead of the address index.
fn about(person: &Person) -> Vec<Condition> {
    let mut emails = person.emails.clone();
    emails.sort();
    emails.dedup();
    let mut ways: Vec<Condition> = emails
        .into_iter()
        .map(|email| Condition::all().add(audit_event::Column::TargetLabel.eq(email)))
        .collect();
    if let Some(id) = &person.user_id {
        ways.push(Condition::all().add(audit_event::Column::TargetId.eq(id.as_str())));
    }
    ways
}

/// The newest `limit` rows of `select` matching any of `ways`, newest
/// first. Each way is read on its own, newest first with the limit, so each
/// walks its own index for a few rows instead of the whole log being walked
/// for rows that match one way or another; the results are merged.
async fn newest_of(
    db: &Db,
    org_id: &str,
    select: sea_orm::Select<audit_event::Entity>,
    ways: Vec<Condition>,
    limit: u64,
) -> anyhow::Result<Vec<audit_event::Model>> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let mut rows: Vec<audit_event::Model> = Vec::new();
    for way in ways {
        let found = super::page_rows::models(
            &conn,
            select
                .clone()
                .filter(way)
                .order_by_desc(audit_event::Column::CreatedAt)
                .order_by_desc(audit_event::Column::Id)
                .limit(limit),
            vec![("created_at", Order::Desc), ("id", Order::Desc)],
        )
        .await
        .context("failed to read the audit log")?;
        for row in found {
            if !rows.iter().any(|r| r.id == row.id) {
                rows.push(row);
            }
        }
    }
    rows.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.id.cmp(&a.id))
    });
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    Ok(rows)
}

/// Up to `limit` rows of the organization matching `filter`, newest first,
/// older than `cursor` when given.
pub async fn page(
    db: &Db,
    org_id: &str,
    filter: &Filter,
    cursor: Option<&Cursor>,
    limit: u64,
) -> anyhow::Result<Vec<audit_event::Model>> {
    let mut select = audit_event::Entity::find().filter(audit_event::Column::OrgId.eq(org_id));
    if let Some(actor) = &filter.actor {
        let Some(id) = &actor.user_id else {
            return Ok(Vec::new());
        };
        select = select.filter(audit_event::Column::ActorUserId.eq(id.as_str()));
    }
    if let Some(action) = &filter.action {
        select = select.filter(audit_event::Column::Action.eq(action.as_str()));
    }
    if let Some(from) = filter.from {
        select = select.filter(audit_event::Column::CreatedAt.gte(from));
    }
    if let Some(until) = filter.until {
        select = select.filter(audit_event::Column::CreatedAt.lt(until));
    }
    if let Some(cursor) = cursor {
        // A row value, so both backends seek the index to the cursor.
        select = select.filter(
            Expr::tuple([
                Expr::col((audit_event::Entity, audit_event::Column::CreatedAt)),
                Expr::col((audit_event::Entity, audit_event::Column::Id)),
            ])
            .lt(Expr::tuple([
                Expr::val(cursor.created_at),
                Expr::val(cursor.id.clone()),
            ])),
        );
    }
    let ways = match &filter.target {
        Some(target) => about(target),
        None => vec![Condition::all()],
    };
    newest_of(db, org_id, select, ways, limit).await
}

/// A member's timeline: the newest `limit` rows about them or by them.
pub async fn timeline(
    db: &Db,
    org_id: &str,
    person: &Person,
    limit: u64,
) -> anyhow::Result<Vec<audit_event::Model>> {
    let mut ways = about(person);
    if let Some(id) = &person.user_id {
        ways.push(Condition::all().add(audit_event::Column::ActorUserId.eq(id.as_str())));
    }
    let select = audit_event::Entity::find().filter(audit_event::Column::OrgId.eq(org_id));
    newest_of(db, org_id, select, ways, limit).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_junk() {
        let cursor = Cursor {
            created_at: 1_795_348_800,
            id: "0a1b-2c".into(),
        };
        assert_eq!(Cursor::parse(&cursor.encode()), Some(cursor));
        assert_eq!(Cursor::parse("abc.0a"), None);
        assert_eq!(Cursor::parse("12."), None);
        assert_eq!(Cursor::parse("12.'; --"), None);
        assert_eq!(Cursor::parse("nodot"), None);
    }

    #[test]
    fn every_action_has_words() {
        assert_eq!(action_label("member.removed"), "Member removed");
        assert_eq!(action_label("something.new"), "something.new");
    }
}
