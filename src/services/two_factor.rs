//! Two-factor sign-in for one person: setting it up (a secret confirmed
//! with a code), checking a code or a recovery code at sign-in, new
//! recovery codes, turning it off. A code is accepted once: the newest
//! step accepted is stored, and only a later step is accepted after it,
//! by a conditional update, so two requests racing with one code cannot
//! both pass.

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, Set,
};

use super::accounts::{self, Checked, TOO_MANY_ATTEMPTS};
use super::audit::AuditAction;
use super::rate_limit;
use super::security_log::{self, Origin};
use crate::clock::Clock;
use crate::db::{Db, Tenant};
use crate::domain::totp;
use crate::entities::{recovery_code, two_factor, user};

pub const WRONG_CODE: &str =
    "That code is not right. Enter the newest code your app shows, or a recovery code.";

#[derive(Debug, thiserror::Error)]
pub enum TwoFactorError {
    #[error("{WRONG_CODE}")]
    WrongCode,
    #[error("Your password is not correct.")]
    WrongPassword,
    #[error("{TOO_MANY_ATTEMPTS}")]
    TooManyAttempts,
    #[error("Two-factor authentication is already on.")]
    AlreadyOn,
    #[error("Two-factor authentication is off.")]
    NotOn,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The person's two-factor row, confirmed or not.
pub async fn find<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
) -> anyhow::Result<Option<two_factor::Model>> {
    two_factor::Entity::find_by_id(user_id.to_string())
        .one(conn)
        .await
        .context("failed to load the two-factor settings")
}

/// The unconfirmed set-up to show, made when there is none; refused when
/// two-factor is already on.
pub async fn begin_setup(
    db: &Db,
    clock: &Clock,
    user: &user::Model,
) -> Result<two_factor::Model, TwoFactorError> {
    if let Some(existing) = find(db.accounts_write(), &user.id).await? {
        if existing.confirmed_at.is_some() {
            return Err(TwoFactorError::AlreadyOn);
        }
        return Ok(existing);
    }
    let row = two_factor::ActiveModel {
        user_id: Set(user.id.clone()),
        secret: Set(totp::new_secret()),
        confirmed_at: Set(None),
        last_step: Set(None),
        created_at: Set(clock.now()),
    };
    match row.insert(db.accounts_write()).await {
        Ok(created) => Ok(created),
        // Two set-up pages opened at once: show the one that was stored.
        Err(err) if super::is_unique_violation(&err) => find(db.accounts_write(), &user.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the two-factor set-up disappeared").into()),
        Err(err) => Err(anyhow::Error::new(err)
            .context("failed to start a two-factor set-up")
            .into()),
    }
}

/// Takes the code for `step` if no code at or after it was taken before.
async fn take_step<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    step: i64,
    confirmed: bool,
) -> anyhow::Result<bool> {
    let mut filter = Condition::all()
        .add(two_factor::Column::UserId.eq(user_id))
        .add(
            Condition::any()
                .add(two_factor::Column::LastStep.is_null())
                .add(two_factor::Column::LastStep.lt(step)),
        );
    filter = if confirmed {
        filter.add(two_factor::Column::ConfirmedAt.is_not_null())
    } else {
        filter.add(two_factor::Column::ConfirmedAt.is_null())
    };
    let updated = two_factor::Entity::update_many()
        .col_expr(two_factor::Column::LastStep, Expr::value(step))
        .filter(filter)
        .exec(conn)
        .await
        .context("failed to record the code's use")?;
    Ok(updated.rows_affected == 1)
}

/// Stores ten fresh recovery codes in place of any earlier ones and
/// returns them: the only time they are shown.
async fn replace_recovery_codes<C: ConnectionTrait>(
    conn: &C,
    user_id: &str,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(conn)
        .await
        .context("failed to remove old recovery codes")?;
    let codes = totp::new_recovery_codes();
    let rows = codes.iter().filter_map(|code| {
        totp::recovery_hash(code).map(|hash| recovery_code::ActiveModel {
            user_id: Set(user_id.to_string()),
            code_hash: Set(hash),
            used_at: Set(None),
            created_at: Set(now),
        })
    });
    recovery_code::Entity::insert_many(rows)
        .exec(conn)
        .await
        .context("failed to store recovery codes")?;
    Ok(codes)
}

/// Confirms the set-up with the password (a borrowed session must not tie
/// the account to someone else's app) and a code from the app: two-factor
/// is on, and the ten recovery codes are returned to be shown once.
pub async fn confirm_setup(
    db: &Db,
    clock: &Clock,
    user: &user::Model,
    password: &str,
    code: &str,
    origin: &Origin,
) -> Result<Vec<String>, TwoFactorError> {
    match accounts::check_password(db, clock, user, password, origin.address.as_deref()).await? {
        Checked::Matched => {}
        Checked::Wrong => return Err(TwoFactorError::WrongPassword),
        Checked::RateLimited => return Err(TwoFactorError::TooManyAttempts),
    }
    let now = clock.now();
    let Some(setup) = find(db.accounts_write(), &user.id).await? else {
        return Err(TwoFactorError::WrongCode);
    };
    if setup.confirmed_at.is_some() {
        return Err(TwoFactorError::AlreadyOn);
    }
    let Some(step) = totp::matching_step(&setup.secret, code, now)? else {
        return Err(TwoFactorError::WrongCode);
    };
    let txn = db
        .begin_in(Tenant::Person(&user.id))
        .await
        .context("failed to begin turning two-factor on")?;
    if !take_step(&txn, &user.id, step, false).await? {
        return Err(TwoFactorError::WrongCode);
    }
    two_factor::Entity::update_many()
        .col_expr(two_factor::Column::ConfirmedAt, Expr::value(now))
        .filter(two_factor::Column::UserId.eq(user.id.as_str()))
        .exec(&txn)
        .await
        .context("failed to turn two-factor on")?;
    user::Entity::update_many()
        .col_expr(user::Column::TwoFactorAt, Expr::value(now))
        .filter(user::Column::Id.eq(user.id.as_str()))
        .exec(&txn)
        .await
        .context("failed to turn two-factor on")?;
    let codes = replace_recovery_codes(&txn, &user.id, now).await?;
    security_log::record(&txn, user, AuditAction::TwoFactorEnabled, origin, None, now).await?;
    txn.commit()
        .await
        .context("failed to commit turning two-factor on")?;
    Ok(codes)
}

/// What a second-step answer was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    Code,
    /// A recovery code, now used; this many are left.
    Recovery {
        left: u64,
    },
}

/// Checks a code or a recovery code for a person with two-factor on and
/// uses it up; `None` when it is neither (or was used before).
async fn use_code(
    db: &Db,
    user: &user::Model,
    code: &str,
    origin: &Origin,
    now: i64,
) -> anyhow::Result<Option<Verified>> {
    let Some(setup) = find(db.accounts_write(), &user.id)
        .await?
        .filter(|s| s.confirmed_at.is_some())
    else {
        return Ok(None);
    };
    if let Some(step) = totp::matching_step(&setup.secret, code, now)? {
        let taken = take_step(db.accounts_write(), &user.id, step, true).await?;
        return Ok(taken.then_some(Verified::Code));
    }
    let Some(hash) = totp::recovery_hash(code) else {
        return Ok(None);
    };
    let txn = db
        .begin_in(Tenant::Person(&user.id))
        .await
        .context("failed to begin using a recovery code")?;
    let used = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(now))
        .filter(recovery_code::Column::UserId.eq(user.id.as_str()))
        .filter(recovery_code::Column::CodeHash.eq(hash))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(&txn)
        .await
        .context("failed to use a recovery code")?;
    if used.rows_affected != 1 {
        return Ok(None);
    }
    let left = recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user.id.as_str()))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(&txn)
        .await
        .context("failed to count recovery codes")?;
    security_log::record(
        &txn,
        user,
        AuditAction::RecoveryCodeUsed,
        origin,
        Some(format!("{left} left")),
        now,
    )
    .await?;
    txn.commit()
        .await
        .context("failed to commit using a recovery code")?;
    Ok(Some(Verified::Recovery { left }))
}

/// The second step of a sign-in: a code (or recovery code) under the
/// sign-in limits of the account and the address. A wrong code counts as
/// a failed sign-in; a right one clears the account's failures.
pub async fn verify_sign_in(
    db: &Db,
    clock: &Clock,
    user: &user::Model,
    code: &str,
    origin: &Origin,
) -> Result<Verified, TwoFactorError> {
    let now = clock.now();
    let Some(reservation) =
        rate_limit::reserve(db, &user.email_normalized, origin.address.as_deref(), now).await?
    else {
        return Err(TwoFactorError::TooManyAttempts);
    };
    match use_code(db, user, code, origin, now).await? {
        Some(verified) => {
            rate_limit::succeeded(db, reservation).await?;
            Ok(verified)
        }
        None => {
            rate_limit::failed(reservation);
            let detail = Some("Wrong two-factor code".to_string());
            let action = AuditAction::SignInFailed;
            security_log::record_alone(db, user, action, origin, detail, now).await?;
            Err(TwoFactorError::WrongCode)
        }
    }
}

/// The password and a current code (or a recovery code), as turning
/// two-factor off and renewing recovery codes ask.
async fn confirm_person(
    db: &Db,
    clock: &Clock,
    user: &user::Model,
    password: &str,
    code: &str,
    origin: &Origin,
) -> Result<(), TwoFactorError> {
    if user.two_factor_at.is_none() {
        return Err(TwoFactorError::NotOn);
    }
    let address = origin.address.as_deref();
    match accounts::check_password_before_code(db, clock, user, password, address).await? {
        Checked::Matched => {}
        Checked::Wrong => return Err(TwoFactorError::WrongPassword),
        Checked::RateLimited => return Err(TwoFactorError::TooManyAttempts),
    }
    // The code under the sign-in limits, as at sign-in.
    verify_sign_in(db, clock, user, code, origin)
        .await
        .map(|_| ())
}

/// Turns two-factor off: the secret and the recovery codes are deleted.
pub async fn disable(
    db: &Db,
    clock: &Clock,
    user: &user::Model,
    password: &str,
    code: &str,
    origin: &Origin,
) -> Result<(), TwoFactorError> {
    confirm_person(db, clock, user, password, code, origin).await?;
    let now = clock.now();
    let txn = db
        .begin_in(Tenant::Person(&user.id))
        .await
        .context("failed to begin turning two-factor off")?;
    remove_all(&txn, &user.id).await?;
    security_log::record(
        &txn,
        user,
        AuditAction::TwoFactorDisabled,
        origin,
        None,
        now,
    )
    .await?;
    txn.commit()
        .await
        .context("failed to commit turning two-factor off")?;
    Ok(())
}

async fn remove_all<C: ConnectionTrait>(conn: &C, user_id: &str) -> anyhow::Result<()> {
    two_factor::Entity::delete_by_id(user_id.to_string())
        .exec(conn)
        .await
        .context("failed to remove the two-factor secret")?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(conn)
        .await
        .context("failed to remove recovery codes")?;
    user::Entity::update_many()
        .col_expr(user::Column::TwoFactorAt, Expr::value(Option::<i64>::None))
        .filter(user::Column::Id.eq(user_id))
        .exec(conn)
        .await
        .context("failed to turn two-factor off")?;
    Ok(())
}

/// Ten new recovery codes in place of the old ones, returned to be shown.
pub async fn renew_recovery_codes(
    db: &Db,
    clock: &Clock,
    user: &user::Model,
    password: &str,
    code: &str,
    origin: &Origin,
) -> Result<Vec<String>, TwoFactorError> {
    confirm_person(db, clock, user, password, code, origin).await?;
    let now = clock.now();
    let txn = db
        .begin_in(Tenant::Person(&user.id))
        .await
        .context("failed to begin renewing recovery codes")?;
    let codes = replace_recovery_codes(&txn, &user.id, now).await?;
    security_log::record(
        &txn,
        user,
        AuditAction::RecoveryCodesRenewed,
        origin,
        None,
        now,
    )
    .await?;
    txn.commit()
        .await
        .context("failed to commit new recovery codes")?;
    Ok(codes)
}
