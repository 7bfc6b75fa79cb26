//! A person's signed-in sessions: one row each in `user_sessions`, made at
//! sign-in with the address and browser it came from, touched as it is
//! used, deleted when it ends. A request whose row is gone is signed out,
//! on every instance sharing the database.

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, Set,
};

use super::audit::{Actor, AuditAction};
use super::security_log::{self, Origin};
use crate::db::{Db, Tenant};
use crate::entities::{user, user_session};

/// Records a new signed-in session for `user` and returns its id; forgets
/// the account's sessions older than `lifetime_secs`.
pub async fn start(
    db: &Db,
    user: &user::Model,
    origin: &Origin,
    now: i64,
    lifetime_secs: i64,
) -> anyhow::Result<String> {
    let txn = db
        .begin_in(Tenant::Person(&user.id))
        .await
        .context("failed to begin")?;
    user_session::Entity::delete_many()
        .filter(user_session::Column::UserId.eq(user.id.as_str()))
        .filter(user_session::Column::CreatedAt.lt(now - lifetime_secs))
        .exec(&txn)
        .await
        .context("failed to forget expired sessions")?;
    let id = super::token_id();
    user_session::ActiveModel {
        id: Set(id.clone()),
        user_id: Set(user.id.clone()),
        created_at: Set(now),
        address: Set(origin.address.clone()),
        user_agent: Set(origin.user_agent.clone()),
        last_seen_at: Set(now),
    }
    .insert(&txn)
    .await
    .context("failed to record the session")?;
    security_log::record(
        &txn,
        user,
        AuditAction::SignedIn,
        origin,
        origin.browser(),
        now,
    )
    .await?;
    txn.commit().await.context("failed to commit the session")?;
    Ok(id)
}

/// Records that the session was used (the caller does so at most once a
/// minute).
pub async fn touch(db: &Db, session_id: &str, now: i64) -> anyhow::Result<()> {
    user_session::Entity::update_many()
        .col_expr(user_session::Column::LastSeenAt, Expr::value(now))
        .filter(user_session::Column::Id.eq(session_id))
        .exec(db.accounts_write())
        .await
        .context("failed to record the session's use")?;
    Ok(())
}

/// The person's sessions, the newest sign-in first.
pub async fn list(db: &Db, user_id: &str) -> anyhow::Result<Vec<user_session::Model>> {
    user_session::Entity::find()
        .filter(user_session::Column::UserId.eq(user_id))
        .order_by_desc(user_session::Column::CreatedAt)
        .order_by_desc(user_session::Column::Id)
        .all(db.accounts_read())
        .await
        .context("failed to list the sessions")
}

/// Ends this browser's session (signing out).
pub async fn end_current(db: &Db, session_id: &str) -> anyhow::Result<()> {
    user_session::Entity::delete_by_id(session_id.to_string())
        .exec(db.accounts_write())
        .await
        .context("failed to end the session")?;
    Ok(())
}

/// Ends one of `user`'s other sessions; `false` when they have no session
/// `session_id` (someone else's, or already ended).
pub async fn end_one(
    db: &Db,
    user: &user::Model,
    session_id: &str,
    origin: &Origin,
    now: i64,
) -> anyhow::Result<bool> {
    let txn = db
        .begin_in(Tenant::Person(&user.id))
        .await
        .context("failed to begin")?;
    let Some(ended) = user_session::Entity::find_by_id(session_id.to_string())
        .filter(user_session::Column::UserId.eq(user.id.as_str()))
        .one(&txn)
        .await
        .context("failed to find the session")?
    else {
        return Ok(false);
    };
    user_session::Entity::delete_by_id(ended.id.clone())
        .exec(&txn)
        .await
        .context("failed to end the session")?;
    let detail = described(&ended);
    security_log::record(&txn, user, AuditAction::SessionEnded, origin, detail, now).await?;
    txn.commit().await.context("failed to commit")?;
    Ok(true)
}

/// "Firefox on Linux, 192.0.2.1": what the log says of an ended session.
fn described(session: &user_session::Model) -> Option<String> {
    let browser = session
        .user_agent
        .as_deref()
        .map(crate::domain::user_agent::describe);
    match (browser, session.address.as_deref()) {
        (Some(b), Some(a)) => Some(format!("{b}, {a}")),
        (Some(b), None) => Some(b),
        (None, Some(a)) => Some(a.to_string()),
        (None, None) => None,
    }
}

/// Ends every session of `user` but `keep`; returns how many ended.
pub async fn end_others(
    db: &Db,
    user: &user::Model,
    keep: &str,
    origin: &Origin,
    now: i64,
) -> anyhow::Result<u64> {
    let txn = db
        .begin_in(Tenant::Person(&user.id))
        .await
        .context("failed to begin")?;
    let ended = user_session::Entity::delete_many()
        .filter(user_session::Column::UserId.eq(user.id.as_str()))
        .filter(user_session::Column::Id.ne(keep))
        .exec(&txn)
        .await
        .context("failed to end the other sessions")?
        .rows_affected;
    let detail = Some(format!("{ended} other sessions"));
    security_log::record(&txn, user, AuditAction::SessionEnded, origin, detail, now).await?;
    txn.commit().await.context("failed to commit")?;
    Ok(ended)
}

/// Ends every session of `user`, in the caller's transaction: a newer
/// session epoch refuses every cookie issued before, and the rows go.
pub async fn end_all_in<C: ConnectionTrait>(
    conn: &C,
    user: &user::Model,
    actor: &Actor,
    detail: Option<String>,
    now: i64,
) -> anyhow::Result<()> {
    user::Entity::update_many()
        .col_expr(
            user::Column::SessionEpoch,
            Expr::col(user::Column::SessionEpoch).add(1),
        )
        .filter(user::Column::Id.eq(user.id.as_str()))
        .exec(conn)
        .await
        .context("failed to end the account's sessions")?;
    user_session::Entity::delete_many()
        .filter(user_session::Column::UserId.eq(user.id.as_str()))
        .exec(conn)
        .await
        .context("failed to end the account's sessions")?;
    let action = AuditAction::SignedOutEverywhere;
    security_log::record_by(conn, actor, user, action, detail, now).await
}

/// The person ends every session of their own, this one included.
pub async fn end_all(db: &Db, user: &user::Model, origin: &Origin, now: i64) -> anyhow::Result<()> {
    let txn = db
        .begin_in(Tenant::Person(&user.id))
        .await
        .context("failed to begin")?;
    let actor = Actor {
        user_id: Some(user.id.clone()),
        label: user.email.clone(),
        address: origin.address.clone(),
    };
    end_all_in(&txn, user, &actor, None, now).await?;
    txn.commit()
        .await
        .context("failed to commit signing out everywhere")?;
    Ok(())
}
