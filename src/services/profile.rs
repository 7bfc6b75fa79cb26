//! A person's own profile: their display name, and a change of email
//! address that happens only when the new address confirms it.
//!
//! A requested change is a row of `email_changes` holding the new address
//! and the SHA-256 of the link's token. It reserves nothing: the address
//! stays free for anyone to sign up with, and confirming re-checks that no
//! account has it (the unique index on `users.email_normalized` decides a
//! race). The link works once, for a day.

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

use super::accounts::{self, Checked};
use super::audit::AuditAction;
use super::security_log;
use crate::clock::Clock;
use crate::db::{Db, Tenant};
use crate::domain::email::EmailAddress;
use crate::domain::names::PersonName;
use crate::domain::token;
use crate::entities::{account_token, email_change, membership, user};
use crate::mail::{outbox, templates};

/// How long a confirmation link works.
pub const CONFIRM_SECS: i64 = 24 * 3600;
/// Address changes one person may ask for in 24 hours.
pub const MAX_REQUESTS_PER_DAY: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum EmailChangeError {
    #[error("Your password is not correct.")]
    WrongPassword,
    #[error("{}", accounts::TOO_MANY_ATTEMPTS)]
    TooManyAttempts,
    #[error("This is already your address.")]
    Same,
    #[error("This address belongs to another account.")]
    Taken,
    #[error(
        "You asked for several address changes in the last day. Use the link we sent, or try \
         again tomorrow."
    )]
    TooManyRequests,
    /// The link is unknown, used or expired.
    #[error("This link is not valid: it was used already, expired, or replaced by a newer one.")]
    Invalid,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for EmailChangeError {
    fn from(err: sea_orm::DbErr) -> Self {
        EmailChangeError::Unexpected(anyhow::Error::new(err).context("database error"))
    }
}

/// Sets the person's display name; the member lists and their search
/// follow at once.
pub async fn change_name(
    db: &Db,
    clock: &Clock,
    user: &user::Model,
    name: &PersonName,
    address: Option<String>,
) -> anyhow::Result<()> {
    let now = clock.now();
    let txn = db
        .begin_in(Tenant::Person(&user.id))
        .await
        .context("failed to begin")?;
    user::Entity::update_many()
        .col_expr(user::Column::Name, Expr::value(name.as_str()))
        .filter(user::Column::Id.eq(user.id.as_str()))
        .exec(&txn)
        .await
        .context("failed to change the name")?;
    membership::Entity::update_many()
        .col_expr(
            membership::Column::SortName,
            Expr::value(name.as_str().to_lowercase()),
        )
        .filter(membership::Column::UserId.eq(user.id.as_str()))
        .exec(&txn)
        .await
        .context("failed to change the name in the member lists")?;
    security_log::record_change(
        &txn,
        user,
        AuditAction::NameChanged,
        &address.into(),
        Some(user.name.clone()),
        Some(name.as_str().to_string()),
        now,
    )
    .await?;
    txn.commit().await.context("failed to commit the name")?;
    Ok(())
}

/// A requested change: the link for the new address.
#[derive(Debug)]
pub struct Requested {
    pub new_email: String,
    pub link: String,
}

/// Checks the password and that `new` is free, then sends a confirmation
/// link to `new` and a notice to the current address. Nothing changes
/// until the link is opened; an earlier unconfirmed request stops working.
pub async fn request_email_change(
    db: &Db,
    clock: &Clock,
    user: &user::Model,
    new: &EmailAddress,
    password: &str,
    base_url: &str,
    address: Option<String>,
) -> Result<Requested, EmailChangeError> {
    match accounts::check_password(db, clock, user, password, address.as_deref()).await? {
        Checked::Matched => {}
        Checked::Wrong => return Err(EmailChangeError::WrongPassword),
        Checked::RateLimited => return Err(EmailChangeError::TooManyAttempts),
    }
    if new.normalized() == user.email_normalized {
        return Err(EmailChangeError::Same);
    }
    let now = clock.now();
    let txn = db.begin_in(Tenant::Person(&user.id)).await?;
    if taken(&txn, new.normalized()).await? {
        return Err(EmailChangeError::Taken);
    }
    // Each request mails an address the person typed: a few a day.
    let recent = email_change::Entity::find()
        .filter(email_change::Column::UserId.eq(user.id.as_str()))
        .filter(email_change::Column::CreatedAt.gt(now - 24 * 3600))
        .count(&txn)
        .await?;
    if recent >= MAX_REQUESTS_PER_DAY {
        return Err(EmailChangeError::TooManyRequests);
    }
    // One request at a time: an older link stops working.
    email_change::Entity::update_many()
        .col_expr(email_change::Column::UsedAt, Expr::value(Some(now)))
        .filter(email_change::Column::UserId.eq(user.id.as_str()))
        .filter(email_change::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    let secret = token::generate();
    email_change::ActiveModel {
        token_hash: Set(token::hash(&secret)),
        user_id: Set(user.id.clone()),
        new_email: Set(new.as_str().to_string()),
        new_email_normalized: Set(new.normalized().to_string()),
        created_at: Set(now),
        expires_at: Set(now + CONFIRM_SECS),
        used_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let link = format!("{base_url}/account/email/{secret}");
    let confirm = templates::AccountMessage::email_change(&user.name, &link, now + CONFIRM_SECS);
    outbox::enqueue(&txn, confirm.render(new.as_str())?, now).await?;
    let notice = templates::AccountMessage::email_change_notice(&user.name, new.as_str(), base_url);
    outbox::enqueue(&txn, notice.render(&user.email)?, now).await?;
    security_log::record_change(
        &txn,
        user,
        AuditAction::EmailChangeRequested,
        &address.into(),
        Some(user.email_normalized.clone()),
        Some(new.normalized().to_string()),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(Requested {
        new_email: new.as_str().to_string(),
        link,
    })
}

async fn taken<C: ConnectionTrait>(conn: &C, normalized: &str) -> Result<bool, sea_orm::DbErr> {
    Ok(user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(normalized))
        .one(conn)
        .await?
        .is_some())
}

/// The change a link holds, while it works.
pub async fn pending_change(
    db: &Db,
    clock: &Clock,
    secret: &str,
) -> anyhow::Result<Option<email_change::Model>> {
    email_change::Entity::find_by_id(token::hash(secret))
        .filter(email_change::Column::UsedAt.is_null())
        .filter(email_change::Column::ExpiresAt.gt(clock.now()))
        .one(db.accounts_read())
        .await
        .context("failed to find an email change")
}

/// Makes the new address the account's: the link proves it, so it counts
/// as confirmed. Refused when the link does not work any more or when
/// another account has the address by now (nothing changes then).
pub async fn confirm_email_change(
    db: &Db,
    clock: &Clock,
    secret: &str,
    address: Option<String>,
) -> Result<user::Model, EmailChangeError> {
    let now = clock.now();
    let txn = db.begin_accounts_write().await?;
    let used = email_change::Entity::update_many()
        .col_expr(email_change::Column::UsedAt, Expr::value(Some(now)))
        .filter(email_change::Column::TokenHash.eq(token::hash(secret)))
        .filter(email_change::Column::UsedAt.is_null())
        .filter(email_change::Column::ExpiresAt.gt(now))
        .exec(&txn)
        .await?;
    if used.rows_affected != 1 {
        return Err(EmailChangeError::Invalid);
    }
    let change = email_change::Entity::find_by_id(token::hash(secret))
        .one(&txn)
        .await?
        .ok_or(EmailChangeError::Invalid)?;
    crate::db::act_for(&txn, Tenant::Person(&change.user_id)).await?;
    let before = user::Entity::find_by_id(change.user_id.clone())
        .one(&txn)
        .await?
        .ok_or(EmailChangeError::Invalid)?;
    if taken(&txn, &change.new_email_normalized).await? {
        return Err(EmailChangeError::Taken);
    }
    let updated = user::Entity::update_many()
        .col_expr(user::Column::Email, Expr::value(change.new_email.as_str()))
        .col_expr(
            user::Column::EmailNormalized,
            Expr::value(change.new_email_normalized.as_str()),
        )
        .col_expr(user::Column::EmailVerifiedAt, Expr::value(Some(now)))
        .filter(user::Column::Id.eq(before.id.as_str()))
        .exec(&txn)
        .await;
    match updated {
        Ok(_) => {}
        Err(err) if super::is_unique_violation(&err) => return Err(EmailChangeError::Taken),
        Err(err) => return Err(err.into()),
    }
    membership::Entity::update_many()
        .col_expr(
            membership::Column::EmailNormalized,
            Expr::value(change.new_email_normalized.as_str()),
        )
        .filter(membership::Column::UserId.eq(before.id.as_str()))
        .exec(&txn)
        .await?;
    // Links sent to the old address (a password reset, a confirmation)
    // stop working: that mailbox no longer speaks for the account.
    account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(account_token::Column::UserId.eq(before.id.as_str()))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    security_log::record_change(
        &txn,
        &before,
        AuditAction::EmailChanged,
        &address.into(),
        Some(before.email_normalized.clone()),
        Some(change.new_email_normalized.clone()),
        now,
    )
    .await?;
    let after = user::Entity::find_by_id(before.id.clone())
        .one(&txn)
        .await?
        .ok_or(EmailChangeError::Invalid)?;
    txn.commit().await?;
    Ok(after)
}
