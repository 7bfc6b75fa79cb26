//! Accounts: sign-up, sign-in, password change, signing out everywhere.

use anyhow::Context;
use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, SelectFourModel, SelectorTrait, Set,
};

use super::account_links::{self, AccountLink};
use super::audit::{Actor, AuditAction};
use super::page_rows::{Along, AlongRead, SharedRows};
use super::security_log::{self, Origin};
use super::{blocking, is_unique_violation, new_id, orgs, rate_limit};
use crate::clock::Clock;
use crate::db::{CrossOrg, Db, Tenant};
use crate::domain::email::{EmailAddress, normalize_lookup};
use crate::domain::names::{OrgName, PersonName};
use crate::domain::password::{self, NewPassword};
use crate::entities::{membership, organization, outbox_message, user, user_session};
use crate::mail::{outbox, templates};

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("That email and password don't match an account.")]
    InvalidCredentials,
    #[error("Too many failed sign-ins. Wait 15 minutes and try again.")]
    RateLimited,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error("Your current password is not correct.")]
    WrongPassword,
    #[error("{TOO_MANY_ATTEMPTS}")]
    TooManyAttempts,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// What a password re-check refused after too many wrong passwords; the
/// re-checks count with the sign-in failures of the account.
pub const TOO_MANY_ATTEMPTS: &str =
    "Too many wrong passwords for this account. Wait 15 minutes and try again.";

/// The outcome of a rate-limited password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Matched,
    Wrong,
    /// The account or the address reached its limit: nothing was checked.
    RateLimited,
}

/// Checks `attempt` against `stored` (a dummy hash when `None`) under the
/// limits of `account` and `address`. The attempt is reserved before the
/// hash runs, so simultaneous attempts cannot slip past the limit.
async fn checked_password(
    db: &Db,
    now: i64,
    account: &str,
    stored: Option<String>,
    attempt: &str,
    address: Option<&str>,
    second_factor_follows: bool,
) -> anyhow::Result<Checked> {
    let Some(reservation) = rate_limit::reserve(db, account, address, now).await? else {
        return Ok(Checked::RateLimited);
    };
    let attempt = attempt.to_string();
    let matched = blocking(move || password::verify(&attempt, stored.as_deref())).await?;
    if matched && second_factor_follows {
        // The account's failures stand until the code is right too: a
        // right password must not buy more guesses at the code.
        rate_limit::took_back(db, reservation).await?;
        Ok(Checked::Matched)
    } else if matched {
        rate_limit::succeeded(db, reservation).await?;
        Ok(Checked::Matched)
    } else {
        rate_limit::failed(reservation);
        Ok(Checked::Wrong)
    }
}

/// A validated sign-up form.
#[derive(Debug)]
pub struct SignUp {
    pub name: PersonName,
    pub email: EmailAddress,
    pub password: NewPassword,
    pub landing: Landing,
}

/// Where a new account lands once its address is confirmed.
#[derive(Debug)]
pub enum Landing {
    /// In a new organization of its own, with the person as Owner.
    Create {
        name: OrgName,
        seat_limit: Option<u64>,
    },
    /// In an organization that welcomes the address's domain (auto-join),
    /// joined when the verification link is opened.
    Join { org_id: String },
}

/// What a sign-up did. The person who signed up sees the same page either
/// way ("check your email"), so the form does not tell whether an address
/// has an account; only the address's owner learns it, by mail.
#[derive(Debug)]
pub enum SignedUp {
    /// A new account with its organization (the person as Owner); its
    /// verification link is in the outbox.
    Created { link: AccountLink },
    /// The address has an account. Its owner (this address) is told,
    /// unless they were told within [`ATTEMPT_NOTICE_SECS`] (`None`).
    Taken { notified: Option<String> },
}

/// At most one "someone tried to sign up with your address" message per
/// account in this many seconds, so nobody can flood a mailbox with them.
pub const ATTEMPT_NOTICE_SECS: i64 = 600;

/// Creates the account, its organization (with the person as Owner, and
/// the first workspace) and a verification link, in one transaction; or,
/// when the address has an account, writes its owner a notice instead.
/// The password is hashed first in both cases, so the answer takes as
/// long for a taken address as for a new one.
pub async fn sign_up(
    db: &Db,
    clock: &Clock,
    input: SignUp,
    address: Option<String>,
    base_url: &str,
) -> anyhow::Result<SignedUp> {
    let secret = input.password.clone();
    let password_hash = blocking(move || password::hash(secret.expose()))
        .await?
        .map_err(|err| anyhow::anyhow!("failed to hash a password: {err}"))?;
    let now = clock.now();
    let txn = db
        .begin_accounts_write()
        .await
        .context("failed to begin sign-up")?;
    let existing = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(input.email.normalized()))
        .one(&txn)
        .await
        .context("failed to look up an account by email")?;
    if existing.is_some() {
        drop(txn);
        return notify_taken(db, input.email.normalized(), base_url, now).await;
    }
    let created = user::ActiveModel {
        id: Set(new_id()),
        email: Set(input.email.as_str().to_string()),
        email_normalized: Set(input.email.normalized().to_string()),
        name: Set(input.name.as_str().to_string()),
        password_hash: Set(password_hash),
        email_verified_at: Set(None),
        session_epoch: Set(0),
        created_at: Set(now),
        last_active_at: Set(Some(now)),
        join_org_id: Set(match &input.landing {
            Landing::Join { org_id } => Some(org_id.clone()),
            Landing::Create { .. } => None,
        }),
        two_factor_at: Set(None),
    }
    .insert(&txn)
    .await;
    let user = match created {
        Ok(user) => user,
        // Someone signed up with the address a moment ago.
        Err(err) if is_unique_violation(&err) => {
            drop(txn);
            return notify_taken(db, input.email.normalized(), base_url, now).await;
        }
        Err(err) => return Err(anyhow::Error::new(err).context("failed to create the account")),
    };
    let actor = Actor {
        user_id: Some(user.id.clone()),
        label: user.email.clone(),
        address,
    };
    if let Landing::Create { name, seat_limit } = &input.landing {
        orgs::create_in(&txn, &user, name, &actor, *seat_limit, now).await?;
    }
    let link = account_links::issue_verification(&txn, &user, base_url, now).await?;
    txn.commit().await.context("failed to commit sign-up")?;
    Ok(SignedUp::Created { link })
}

/// Tells the owner of `normalized` that someone tried to sign up with it,
/// at most once in [`ATTEMPT_NOTICE_SECS`]. Nothing else is written.
async fn notify_taken(
    db: &Db,
    normalized: &str,
    base_url: &str,
    now: i64,
) -> anyhow::Result<SignedUp> {
    // Mail about an account belongs to no organization: only a named path
    // reads it.
    let txn = db
        .begin_cross_org(CrossOrg::SignUpNotice)
        .await
        .context("failed to begin")?;
    let Some(owner) = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(normalized))
        .one(&txn)
        .await
        .context("failed to look up an account by email")?
    else {
        // Gone since the look-up: nobody to tell.
        return Ok(SignedUp::Taken { notified: None });
    };
    let recent = outbox_message::Entity::find()
        .filter(outbox_message::Column::Kind.eq(templates::SIGN_UP_ATTEMPT_KIND))
        .filter(outbox_message::Column::Recipient.eq(owner.email.as_str()))
        .filter(outbox_message::Column::CreatedAt.gt(now - ATTEMPT_NOTICE_SECS))
        .one(&txn)
        .await
        .context("failed to look for a recent sign-up notice")?;
    if recent.is_some() {
        return Ok(SignedUp::Taken { notified: None });
    }
    let message = templates::AccountMessage::sign_up_attempt(&owner.name, base_url, now);
    outbox::enqueue(&txn, message.render(&owner.email)?, now).await?;
    txn.commit()
        .await
        .context("failed to commit a sign-up notice")?;
    Ok(SignedUp::Taken {
        notified: Some(owner.email),
    })
}

pub async fn find_by_email(db: &Db, normalized: &str) -> anyhow::Result<Option<user::Model>> {
    user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(normalized))
        .one(db.accounts_read())
        .await
        .context("failed to look up an account by email")
}

pub async fn find_by_id(db: &Db, id: &str) -> anyhow::Result<Option<user::Model>> {
    user::Entity::find_by_id(id.to_string())
        .one(db.accounts_read())
        .await
        .context("failed to load an account")
}

/// Checks an email and password. Unknown email and wrong password take the
/// same path and the same time; failures count toward the rate limits.
pub async fn sign_in(
    db: &Db,
    clock: &Clock,
    email: &str,
    password: &str,
    origin: &Origin,
) -> Result<user::Model, SignInError> {
    let account = normalize_lookup(email);
    let found = find_by_email(db, &account).await?;
    let stored = found.as_ref().map(|u| u.password_hash.clone());
    let second = found.as_ref().is_some_and(|u| u.two_factor_at.is_some());
    let address = origin.address.as_deref();
    let now = clock.now();
    match checked_password(db, now, &account, stored, password, address, second).await? {
        Checked::Matched => found.ok_or(SignInError::InvalidCredentials),
        Checked::Wrong => {
            if let Some(user) = &found {
                let detail = Some("Wrong password".to_string());
                let action = AuditAction::SignInFailed;
                security_log::record_alone(db, user, action, origin, detail, now).await?;
            }
            Err(SignInError::InvalidCredentials)
        }
        Checked::RateLimited => Err(SignInError::RateLimited),
    }
}

/// Re-checks a signed-in person's password (before a change of password,
/// an ownership transfer or deleting an organization); wrong answers count
/// with the account's sign-in failures, from `address`.
pub async fn check_password(
    db: &Db,
    clock: &Clock,
    user: &user::Model,
    attempt: &str,
    address: Option<&str>,
) -> anyhow::Result<Checked> {
    let stored = Some(user.password_hash.clone());
    checked_password(
        db,
        clock.now(),
        &user.email_normalized,
        stored,
        attempt,
        address,
        false,
    )
    .await
}

/// [`check_password`] when a two-factor code is checked next: a right
/// password leaves the account's failures standing until the code is
/// right too, so wrong codes stay limited.
pub async fn check_password_before_code(
    db: &Db,
    clock: &Clock,
    user: &user::Model,
    attempt: &str,
    address: Option<&str>,
) -> anyhow::Result<Checked> {
    let stored = Some(user.password_hash.clone());
    let account = &user.email_normalized;
    checked_password(db, clock.now(), account, stored, attempt, address, true).await
}

/// Sets a new password and ends every session of the account; returns the
/// new session epoch so the caller can keep its own session.
pub async fn change_password(
    db: &Db,
    clock: &Clock,
    user: &user::Model,
    current: &str,
    new: NewPassword,
    address: Option<&str>,
) -> Result<i64, PasswordChangeError> {
    match check_password(db, clock, user, current, address).await? {
        Checked::Matched => {}
        Checked::Wrong => return Err(PasswordChangeError::WrongPassword),
        Checked::RateLimited => return Err(PasswordChangeError::TooManyAttempts),
    }
    let new_hash = blocking(move || password::hash(new.expose()))
        .await?
        .map_err(|err| anyhow::anyhow!("failed to hash a password: {err}"))?;
    let txn = db
        .begin_in(Tenant::Person(&user.id))
        .await
        .context("failed to begin a password change")?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(new_hash))
        .col_expr(
            user::Column::SessionEpoch,
            Expr::col(user::Column::SessionEpoch).add(1),
        )
        .filter(user::Column::Id.eq(user.id.as_str()))
        .exec(&txn)
        .await
        .context("failed to store the new password")?;
    user_session::Entity::delete_many()
        .filter(user_session::Column::UserId.eq(user.id.as_str()))
        .exec(&txn)
        .await
        .context("failed to end the account's sessions")?;
    let epoch = current_epoch(&txn, &user.id).await?;
    let origin = Origin {
        address: address.map(str::to_string),
        user_agent: None,
    };
    security_log::record(
        &txn,
        user,
        AuditAction::PasswordChanged,
        &origin,
        None,
        clock.now(),
    )
    .await?;
    txn.commit()
        .await
        .context("failed to commit a password change")?;
    Ok(epoch)
}

/// A signed-in person with every organization they belong to.
pub struct SessionUser {
    pub user: user::Model,
    /// Organizations with the person's membership in each, by name.
    pub memberships: Vec<(organization::Model, membership::Model)>,
    /// The module levels of the custom roles the person holds
    /// organization-wide in the organization asked about, as (module,
    /// level); empty when none was asked about.
    pub custom_levels: Vec<(String, String)>,
    /// The page read along with the session (see [`session_user`]), when
    /// the person belongs to the organization asked about.
    pub along: Option<AlongRead>,
}

/// The person signed in with the `user_sessions` row `session_id`, with
/// their organizations, in one query: every page needs both.
///
/// `user_id` is whom the session cookie names: only that person's
/// memberships are visible to the query. With `org_id` (the organization a
/// page is about, not yet checked) the same query reads what the custom
/// roles the person holds there organization-wide add, so a page in an
/// organization costs one round trip for who is asking and what they may do.
/// With `along` too (SQLite), it also reads that page of the organization,
/// on the person's membership there only: the caller shows it only once
/// the membership read with it allows.
pub async fn session_user(
    db: &Db,
    session_id: &str,
    user_id: &str,
    org_id: Option<&str>,
    along: Option<Along>,
) -> anyhow::Result<Option<SessionUser>> {
    let tenant = match org_id {
        // The person's own rows are visible as under `Person`; naming the
        // organization also shows its custom roles (row-level security).
        Some(org_id) => Tenant::Org {
            org_id,
            person: Some(user_id),
        },
        None => Tenant::Person(user_id),
    };
    let conn = db.read_in(tenant).await.context("failed to begin")?;
    let mut select = user_session::Entity::find_by_id(session_id.to_string())
        .find_also_related(user::Entity)
        .and_also_related(membership::Entity)
        .find_also(membership::Entity, organization::Entity)
        .order_by_asc(organization::Column::Name)
        .order_by_asc(organization::Column::Id);
    let backend = db.backend();
    let mut shared = None;
    let mut reads_along = false;
    if let Some(org_id) = org_id {
        select = select.expr_as(custom_levels_expr(backend, org_id), "custom_levels");
        if let Some(along) = along.filter(|_| backend == DbBackend::Sqlite) {
            let here = || Expr::col((membership::Entity, membership::Column::OrgId)).eq(org_id);
            select = select
                .expr_as(Expr::case(here(), along.rows), "along_rows")
                .expr_as(Expr::case(here(), along.beside), "along_beside");
            shared = along.with;
            reads_along = true;
        }
    }
    let statement = SharedRows::begin(shared, backend.build(QuerySelect::query(&mut select)))?;
    let rows = conn
        .query_all_raw(statement)
        .await
        .context("failed to load the session")?;
    let mut found: Option<SessionUser> = None;
    for row in rows {
        let custom: Option<String> = match org_id {
            Some(_) => row
                .try_get("", "custom_levels")
                .context("failed to read custom roles")?,
            None => None,
        };
        let along = if reads_along {
            let rows: Option<String> = row
                .try_get("", "along_rows")
                .context("failed to read the page")?;
            let beside: Option<String> = row
                .try_get("", "along_beside")
                .context("failed to read the page")?;
            rows.zip(beside)
                .map(|(rows, beside)| AlongRead { rows, beside })
        } else {
            None
        };
        let (_, user, membership, org) = SelectFourModel::<
            user_session::Model,
            user::Model,
            membership::Model,
            organization::Model,
        >::from_raw_query_result(row)
        .context("failed to load the session")?;
        let Some(user) = user else { continue };
        let current = found.get_or_insert_with(|| SessionUser {
            user,
            memberships: Vec::new(),
            custom_levels: Vec::new(),
            along: None,
        });
        if along.is_some() {
            current.along = along;
        }
        if let Some(custom) = custom {
            current.custom_levels =
                serde_json::from_str(&custom).context("failed to decode custom roles")?;
        }
        if let (Some(membership), Some(org)) = (membership, org) {
            current.memberships.push((org, membership));
        }
    }
    Ok(found)
}

/// For the membership row in `org_id`, the (module, level) pairs of the
/// custom roles it holds organization-wide, as a JSON array; NULL on the
/// person's other memberships.
fn custom_levels_expr(backend: DbBackend, org_id: &str) -> Expr {
    let folded = match backend {
        DbBackend::Postgres => {
            "CAST(COALESCE(json_agg(json_build_array(l.module_key, l.level)), '[]') AS TEXT)"
        }
        _ => "json_group_array(json_array(l.module_key, l.level))",
    };
    let levels = Expr::cust(format!(
        "(SELECT {folded} FROM role_assignments a \
         JOIN custom_role_levels l ON l.role_id = a.role_id \
         WHERE a.membership_id = memberships.id AND a.scope_key = '')"
    ));
    Expr::case(
        Expr::col((membership::Entity, membership::Column::OrgId)).eq(org_id),
        levels,
    )
    .into()
}

async fn current_epoch<C: sea_orm::ConnectionTrait>(
    conn: &C,
    user_id: &str,
) -> anyhow::Result<i64> {
    user::Entity::find_by_id(user_id.to_string())
        .one(conn)
        .await
        .context("failed to reload the account")?
        .map(|u| u.session_epoch)
        .context("the account disappeared during a password change")
}

/// Records that the person used Roster, at most once a minute.
pub async fn touch(db: &Db, user: &user::Model, now: i64) -> anyhow::Result<()> {
    if user.last_active_at.is_some_and(|at| now - at < 60) {
        return Ok(());
    }
    user::Entity::update_many()
        .col_expr(user::Column::LastActiveAt, Expr::value(now))
        .filter(user::Column::Id.eq(user.id.as_str()))
        .exec(db.accounts_write())
        .await
        .context("failed to record activity")?;
    Ok(())
}
