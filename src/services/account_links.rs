//! One-time account links and what they unlock: password reset (one hour,
//! single use, the same answer whether or not the account exists; a reset
//! ends every session) and email verification, which lets a person join
//! the organizations that list their email's domain for auto-join.
//!
//! Tokens are 32 random bytes; only their SHA-256 is stored. The messages
//! go through the outbox and are never shown on a page: without SMTP the
//! operator finds the link in the server log.

use anyhow::Context;
use sea_orm::ExprTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use super::audit::{self, Actor, AuditAction, Entry};
use super::{blocking, new_id, security_log};
use crate::clock::Clock;
use crate::db::{CrossOrg, Db, Tenant};
use crate::domain::email::normalize_lookup;
use crate::domain::free_mail;
use crate::domain::password::{self, NewPassword};
use crate::domain::policy::Action;
use crate::domain::role::OrgRole;
use crate::domain::token;
use crate::entities::account_token::{self, Purpose};
use crate::entities::{auto_join_domain, membership, organization, user, user_session};
use crate::mail::{outbox, templates};
use crate::services::domain_proof;
use crate::services::error::ServiceError;

/// A password-reset link works for an hour.
pub const RESET_VALID_SECS: i64 = 3600;
/// A verification link works for two days.
pub const VERIFY_VALID_SECS: i64 = 2 * 24 * 3600;
/// A second reset link for one account within this many seconds is not
/// sent (the answer stays the same), so nobody can flood a mailbox.
pub const RESET_RESEND_SECS: i64 = 120;
/// The most auto-join domains an organization lists.
pub const MAX_DOMAINS: usize = 20;

/// A link that went into the outbox, for the server log.
#[derive(Clone, Debug)]
pub struct AccountLink {
    pub email: String,
    pub link: String,
    pub purpose: Purpose,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("This link has expired or has already been used. Ask for a new one.")]
    Invalid,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for LinkError {
    fn from(err: sea_orm::DbErr) -> Self {
        LinkError::Unexpected(anyhow::Error::new(err).context("database error"))
    }
}

/// Writes a token and its message, inside the caller's transaction.
async fn issue<C: ConnectionTrait>(
    conn: &C,
    user: &user::Model,
    purpose: Purpose,
    base_url: &str,
    now: i64,
) -> anyhow::Result<AccountLink> {
    let secret = token::generate();
    let valid = match purpose {
        Purpose::ResetPassword => RESET_VALID_SECS,
        Purpose::VerifyEmail => VERIFY_VALID_SECS,
    };
    account_token::ActiveModel {
        token_hash: Set(token::hash(&secret)),
        user_id: Set(user.id.clone()),
        purpose: Set(purpose),
        email_normalized: Set(user.email_normalized.clone()),
        created_at: Set(now),
        expires_at: Set(now + valid),
        used_at: Set(None),
    }
    .insert(conn)
    .await
    .context("failed to store a link")?;
    let (link, message) = match purpose {
        Purpose::ResetPassword => {
            let link = format!("{base_url}/password/reset/{secret}");
            let message = templates::AccountMessage::reset(&user.name, &link, now + valid);
            (link, message)
        }
        Purpose::VerifyEmail => {
            let link = format!("{base_url}/verify/{secret}");
            let message = templates::AccountMessage::verify(&user.name, &link, now + valid);
            (link, message)
        }
    };
    outbox::enqueue(conn, message.render(&user.email)?, now).await?;
    Ok(AccountLink {
        email: user.email.clone(),
        link,
        purpose,
    })
}

/// Sends a verification link to `user`'s address, inside the caller's
/// transaction (sign-up's, say).
pub async fn issue_verification<C: ConnectionTrait>(
    conn: &C,
    user: &user::Model,
    base_url: &str,
    now: i64,
) -> anyhow::Result<AccountLink> {
    issue(conn, user, Purpose::VerifyEmail, base_url, now).await
}

/// Sends a new verification link (the account page's button).
pub async fn resend_verification(
    db: &Db,
    clock: &Clock,
    user: &user::Model,
    base_url: &str,
) -> anyhow::Result<Option<AccountLink>> {
    if user.email_verified_at.is_some() {
        return Ok(None);
    }
    let txn = db.begin_accounts_write().await.context("failed to begin")?;
    let link = issue(&txn, user, Purpose::VerifyEmail, base_url, clock.now()).await?;
    txn.commit().await.context("failed to commit")?;
    Ok(Some(link))
}

/// Sends a reset link when an account has this address; says nothing
/// either way (the page answers the same).
pub async fn request_reset(
    db: &Db,
    clock: &Clock,
    email: &str,
    base_url: &str,
) -> anyhow::Result<Option<AccountLink>> {
    let normalized = normalize_lookup(email);
    if normalized.is_empty() || normalized.len() > 254 {
        return Ok(None);
    }
    let now = clock.now();
    let txn = db.begin_accounts_write().await.context("failed to begin")?;
    let Some(user) = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(normalized.as_str()))
        .one(&txn)
        .await
        .context("failed to look up the account")?
    else {
        return Ok(None);
    };
    let recent = account_token::Entity::find()
        .filter(account_token::Column::UserId.eq(user.id.as_str()))
        .filter(account_token::Column::Purpose.eq(Purpose::ResetPassword))
        .filter(account_token::Column::UsedAt.is_null())
        .filter(account_token::Column::CreatedAt.gt(now - RESET_RESEND_SECS))
        .one(&txn)
        .await
        .context("failed to look for a recent reset link")?;
    if recent.is_some() {
        return Ok(None);
    }
    // Only the newest reset link works.
    account_token::Entity::delete_many()
        .filter(account_token::Column::UserId.eq(user.id.as_str()))
        .filter(account_token::Column::Purpose.eq(Purpose::ResetPassword))
        .filter(account_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await
        .context("failed to retire older reset links")?;
    let link = issue(&txn, &user, Purpose::ResetPassword, base_url, now).await?;
    txn.commit().await.context("failed to commit")?;
    Ok(Some(link))
}

/// The unused, unexpired link behind `secret`, if any.
pub async fn valid_link(
    db: &Db,
    clock: &Clock,
    secret: &str,
    purpose: Purpose,
) -> anyhow::Result<Option<account_token::Model>> {
    if secret.len() > 64 {
        return Ok(None);
    }
    let found = account_token::Entity::find_by_id(token::hash(secret))
        .filter(account_token::Column::Purpose.eq(purpose))
        .filter(account_token::Column::UsedAt.is_null())
        .filter(account_token::Column::ExpiresAt.gt(clock.now()))
        .one(db.accounts_read())
        .await
        .context("failed to look up a link")?;
    Ok(found)
}

/// The account a still-valid reset link belongs to: its name and address
/// make a new password easy to guess, so the password is checked against
/// them.
pub async fn reset_owner(
    db: &Db,
    clock: &Clock,
    secret: &str,
) -> anyhow::Result<Option<user::Model>> {
    let Some(link) = valid_link(db, clock, secret, Purpose::ResetPassword).await? else {
        return Ok(None);
    };
    user::Entity::find_by_id(link.user_id)
        .one(db.accounts_read())
        .await
        .context("failed to look up the account of a reset link")
}

/// Uses the link behind `secret` once: the conditional update lets one
/// request through however many arrive together.
async fn consume<C: ConnectionTrait>(
    conn: &C,
    secret: &str,
    purpose: Purpose,
    now: i64,
) -> Result<account_token::Model, LinkError> {
    let hash = token::hash(secret);
    let used = account_token::Entity::update_many()
        .col_expr(account_token::Column::UsedAt, Expr::value(Some(now)))
        .filter(account_token::Column::TokenHash.eq(hash.as_str()))
        .filter(account_token::Column::Purpose.eq(purpose))
        .filter(account_token::Column::UsedAt.is_null())
        .filter(account_token::Column::ExpiresAt.gt(now))
        .exec(conn)
        .await?;
    if used.rows_affected != 1 {
        return Err(LinkError::Invalid);
    }
    account_token::Entity::find_by_id(hash)
        .one(conn)
        .await?
        .ok_or(LinkError::Invalid)
}

/// Sets a new password from a reset link and ends every session of the
/// account; returns the account to sign this browser in.
pub async fn reset_password(
    db: &Db,
    clock: &Clock,
    secret: &str,
    new_password: NewPassword,
    address: Option<String>,
) -> Result<user::Model, LinkError> {
    if valid_link(db, clock, secret, Purpose::ResetPassword)
        .await?
        .is_none()
    {
        return Err(LinkError::Invalid);
    }
    let hash = blocking(move || password::hash(new_password.expose()))
        .await?
        .map_err(|err| anyhow::anyhow!("failed to hash a password: {err}"))?;
    let now = clock.now();
    let txn = db.begin_accounts_write().await?;
    let link = consume(&txn, secret, Purpose::ResetPassword, now).await?;
    crate::db::act_for(&txn, Tenant::Person(&link.user_id)).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(
            user::Column::SessionEpoch,
            Expr::col(user::Column::SessionEpoch).add(1),
        )
        .filter(user::Column::Id.eq(link.user_id.as_str()))
        .exec(&txn)
        .await?;
    user_session::Entity::delete_many()
        .filter(user_session::Column::UserId.eq(link.user_id.as_str()))
        .exec(&txn)
        .await?;
    let user = user::Entity::find_by_id(link.user_id.clone())
        .one(&txn)
        .await?
        .ok_or(LinkError::Invalid)?;
    security_log::record(
        &txn,
        &user,
        AuditAction::PasswordReset,
        &address.into(),
        None,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

/// Marks the address verified from a verification link.
pub async fn verify_email(
    db: &Db,
    clock: &Clock,
    secret: &str,
    address: Option<String>,
) -> Result<user::Model, LinkError> {
    let now = clock.now();
    let txn = db.begin_accounts_write().await?;
    let link = consume(&txn, secret, Purpose::VerifyEmail, now).await?;
    crate::db::act_for(&txn, Tenant::Person(&link.user_id)).await?;
    // Only the address the link was sent to: a later change of address
    // would need its own link.
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, Expr::value(Some(now)))
        .filter(user::Column::Id.eq(link.user_id.as_str()))
        .filter(user::Column::EmailNormalized.eq(link.email_normalized.as_str()))
        .exec(&txn)
        .await?;
    let user = user::Entity::find_by_id(link.user_id.clone())
        .one(&txn)
        .await?
        .ok_or(LinkError::Invalid)?;
    // The organization chosen at sign-up is joined once, now (the caller
    // joins it from the model returned).
    if user.join_org_id.is_some() {
        user::Entity::update_many()
            .col_expr(user::Column::JoinOrgId, Expr::value(Option::<String>::None))
            .filter(user::Column::Id.eq(user.id.as_str()))
            .exec(&txn)
            .await?;
    }
    security_log::record(
        &txn,
        &user,
        AuditAction::EmailConfirmed,
        &address.into(),
        None,
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(user)
}

/// The domain of a normalized address.
fn domain_of(email_normalized: &str) -> Option<&str> {
    email_normalized.rsplit_once('@').map(|(_, d)| d)
}

/// Organizations that welcome anyone with a confirmed address on the
/// domain of `email_normalized`. Only a domain the organization has
/// proven it controls welcomes anyone; a pending one offers nothing.
/// Shown at sign-up too, before any account exists.
pub async fn domain_offers(
    db: &Db,
    email_normalized: &str,
) -> anyhow::Result<Vec<organization::Model>> {
    let Some(domain) = domain_of(email_normalized) else {
        return Ok(Vec::new());
    };
    let listed = auto_join_domain::Entity::find()
        .filter(auto_join_domain::Column::Domain.eq(domain))
        .filter(auto_join_domain::Column::VerifiedAt.is_not_null())
        .find_also_related(organization::Entity)
        .order_by_asc(auto_join_domain::Column::OrgId)
        .all(&db.read_cross_org(CrossOrg::AutoJoin).await?)
        .await
        .context("failed to find auto-join organizations")?;
    Ok(listed.into_iter().filter_map(|(_, org)| org).collect())
}

/// Organizations the person may join by their verified address, and is
/// not in yet.
pub async fn auto_join_offers(
    db: &Db,
    user: &user::Model,
) -> anyhow::Result<Vec<organization::Model>> {
    if user.email_verified_at.is_none() {
        return Ok(Vec::new());
    }
    let listed = domain_offers(db, &user.email_normalized).await?;
    let mine: Vec<String> = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user.id.as_str()))
        .all(&db.read_in(Tenant::Person(&user.id)).await?)
        .await
        .context("failed to list memberships")?
        .into_iter()
        .map(|m| m.org_id)
        .collect();
    Ok(listed
        .into_iter()
        .filter(|org| !mine.contains(&org.id))
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum AutoJoinError {
    #[error("Verify your email address first.")]
    NotVerified,
    #[error("This organization does not offer to join with your email address.")]
    NotOffered,
    #[error("You are already a member of this organization.")]
    AlreadyMember,
    /// The organization has no seat for the person.
    #[error("{0}")]
    NoSeats(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AutoJoinError {
    fn from(err: sea_orm::DbErr) -> Self {
        AutoJoinError::Unexpected(anyhow::Error::new(err).context("database error"))
    }
}

/// Joins an organization that lists the person's verified domain, with the
/// role it gives joiners.
pub async fn auto_join(
    db: &Db,
    clock: &Clock,
    user_id: &str,
    org_id: &str,
    address: Option<String>,
) -> Result<organization::Model, AutoJoinError> {
    let now = clock.now();
    let txn = db
        .begin_org_write(Tenant::Org {
            org_id,
            person: Some(user_id),
        })
        .await?;
    let user = user::Entity::find_by_id(user_id.to_string())
        .one(&txn)
        .await?
        .ok_or(AutoJoinError::NotVerified)?;
    if user.email_verified_at.is_none() {
        return Err(AutoJoinError::NotVerified);
    }
    let domain = domain_of(&user.email_normalized).ok_or(AutoJoinError::NotOffered)?;
    let listed = auto_join_domain::Entity::find_by_id((org_id.to_string(), domain.to_string()))
        .filter(auto_join_domain::Column::VerifiedAt.is_not_null())
        .find_also_related(organization::Entity)
        .one(&txn)
        .await?;
    let Some((_, Some(org))) = listed else {
        return Err(AutoJoinError::NotOffered);
    };
    let role = match org.auto_join_role {
        OrgRole::Viewer => OrgRole::Viewer,
        _ => OrgRole::Member,
    };
    crate::db::lock_orgs(&txn, &[&org.id]).await?;
    let joined = super::memberships::insert(&txn, &org.id, &user, role, now, 0).await;
    super::unique_or(joined, AutoJoinError::AlreadyMember)?;
    match super::seats::require_within_for_joiner(&txn, &org.id, now).await {
        Ok(()) => {}
        Err(ServiceError::NoSeats(message)) => return Err(AutoJoinError::NoSeats(message)),
        Err(err) => return Err(AutoJoinError::Unexpected(anyhow::anyhow!(err))),
    }
    audit::record(
        &txn,
        &Actor {
            user_id: Some(user.id.clone()),
            label: user.email.clone(),
            address,
        },
        Entry {
            org_id: Some(&org.id),
            action: AuditAction::MemberAutoJoined,
            target_type: Some("member"),
            target_id: Some(&user.id),
            target_label: Some(&user.email_normalized),
            before: None,
            after: Some(role.as_str().to_string()),
        },
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(org)
}

/// Validates an auto-join domain list: one per line (or separated by
/// commas or semicolons), lower-case DNS names with a dot, no free email
/// provider's, at most [`MAX_DOMAINS`]. Every entry that is not one is
/// named whole in the message.
pub fn parse_domains(raw: &str) -> Result<Vec<String>, String> {
    let mut domains: Vec<String> = Vec::new();
    let mut not_domains: Vec<String> = Vec::new();
    let mut free: Vec<String> = Vec::new();
    for part in raw.split([',', '\n', '\r', ';']) {
        let entry = part.trim();
        let domain = entry.trim_start_matches('@').to_ascii_lowercase();
        if domain.is_empty() {
            continue;
        }
        let valid = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            not_domains.push(quoted(entry));
        } else if free_mail::is_free_mail(&domain) {
            free.push(domain);
        } else if !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    let mut problems = Vec::new();
    match not_domains.as_slice() {
        [] => {}
        [one] => problems.push(format!("{one} is not a domain like example.com.")),
        many => problems.push(format!(
            "These are not domains like example.com: {}.",
            many.join(", ")
        )),
    }
    match free.as_slice() {
        [] => {}
        [one] => problems.push(format!(
            "{one} is a free email provider; auto-join works only with a domain your \
             organization controls."
        )),
        many => problems.push(format!(
            "{} are free email providers; auto-join works only with domains your \
             organization controls.",
            many.join(", ")
        )),
    }
    if domains.len() > MAX_DOMAINS {
        problems.push(format!("List at most {MAX_DOMAINS} domains."));
    }
    if problems.is_empty() {
        Ok(domains)
    } else {
        Err(problems.join(" "))
    }
}

/// An entry as typed, in quotes, shortened when long.
fn quoted(entry: &str) -> String {
    const SHOWN: usize = 60;
    if entry.chars().count() > SHOWN {
        let head: String = entry.chars().take(SHOWN).collect();
        format!("“{head}…”")
    } else {
        format!("“{entry}”")
    }
}

/// Replaces the organization's auto-join domains and joiners' role (the
/// Owner's setting). A domain kept from before keeps its token and its
/// verification; a new one is stored pending with a fresh random token and
/// welcomes nobody until DNS proves the organization controls it (see
/// [`crate::services::domain_proof`]). Returns the domains as they are now.
pub async fn set_auto_join(
    db: &Db,
    clock: &Clock,
    acting: &crate::services::acting::Acting,
    domains: &[String],
    role: OrgRole,
) -> Result<Vec<auto_join_domain::Model>, ServiceError> {
    if !matches!(role, OrgRole::Member | OrgRole::Viewer) {
        return Err(ServiceError::invalid(
            "auto_join_role",
            "People who join by domain become Members or Viewers.",
        ));
    }
    let now = clock.now();
    // Another organization's proof is not this one's to see: asked on the
    // named path first. (The unique index on verified domains still holds
    // against a proof that lands meanwhile.)
    let mut taken_elsewhere = Vec::new();
    {
        let others = db.read_cross_org(CrossOrg::DomainClaim).await?;
        for domain in domains {
            if domain_proof::verified_elsewhere(&others, &acting.org_id, domain).await? {
                taken_elsewhere.push(domain.as_str());
            }
        }
    }
    let txn = db.begin_org_write(acting.tenant()).await?;
    acting
        .authorize(
            &txn,
            Action::Use(crate::domain::permission::Permission::ManageAutoJoin),
        )
        .await?;
    let existing = auto_join_domain::Entity::find()
        .filter(auto_join_domain::Column::OrgId.eq(acting.org_id.as_str()))
        .order_by_asc(auto_join_domain::Column::Domain)
        .all(&txn)
        .await?;
    let before: Vec<String> = existing.iter().map(|d| d.domain.clone()).collect();
    let old_role = organization::Entity::find_by_id(acting.org_id.clone())
        .one(&txn)
        .await?
        .map(|o| o.auto_join_role)
        .unwrap_or(OrgRole::Member);
    let removed: Vec<&str> = before
        .iter()
        .filter(|d| !domains.contains(d))
        .map(String::as_str)
        .collect();
    if !removed.is_empty() {
        auto_join_domain::Entity::delete_many()
            .filter(auto_join_domain::Column::OrgId.eq(acting.org_id.as_str()))
            .filter(auto_join_domain::Column::Domain.is_in(removed))
            .exec(&txn)
            .await?;
    }
    for domain in domains.iter().filter(|d| !before.contains(d)) {
        if taken_elsewhere.contains(&domain.as_str()) {
            return Err(ServiceError::invalid(
                "domains",
                domain_proof::taken_message(domain),
            ));
        }
        auto_join_domain::ActiveModel {
            org_id: Set(acting.org_id.clone()),
            domain: Set(domain.clone()),
            id: Set(new_id()),
            token: Set(token::generate()),
            created_at: Set(now),
            verified_at: Set(None),
        }
        .insert(&txn)
        .await?;
    }
    organization::Entity::update_many()
        .col_expr(organization::Column::AutoJoinRole, Expr::value(role))
        .filter(organization::Column::Id.eq(acting.org_id.as_str()))
        .exec(&txn)
        .await?;
    let mut sorted = domains.to_vec();
    sorted.sort();
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::AutoJoinChanged,
            target_type: Some("organization"),
            target_id: Some(&acting.org_id),
            target_label: None,
            before: Some(format!("{} as {}", before.join(", "), old_role.as_str())),
            after: Some(format!("{} as {}", sorted.join(", "), role.as_str())),
        },
        now,
    )
    .await?;
    let now_listed = auto_join_domain::Entity::find()
        .filter(auto_join_domain::Column::OrgId.eq(acting.org_id.as_str()))
        .order_by_asc(auto_join_domain::Column::Domain)
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(now_listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_checked_lowercased_and_deduplicated() {
        assert_eq!(
            parse_domains("Example.com\n@acme.test, example.com").unwrap(),
            ["example.com", "acme.test"]
        );
        assert!(parse_domains("localhost").is_err());
        assert!(parse_domains("exa mple.com").is_err(), "exa is no domain");
        assert!(parse_domains("-bad.com").is_err());
        assert!(parse_domains("ok.com").is_ok());
        let many: Vec<String> = (0..21).map(|i| format!("d{i}.test")).collect();
        assert!(parse_domains(&many.join("\n")).is_err());
        assert_eq!(parse_domains(" \n ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn every_entry_that_is_no_domain_is_named_whole() {
        assert_eq!(
            parse_domains("acme.test\nnot a domain\nlocalhost").unwrap_err(),
            "These are not domains like example.com: “not a domain”, “localhost”."
        );
        assert_eq!(
            parse_domains("not a domain").unwrap_err(),
            "“not a domain” is not a domain like example.com."
        );
    }

    #[test]
    fn free_email_providers_are_refused_with_a_reason() {
        let err = parse_domains("acme.test\nGmail.com").unwrap_err();
        assert_eq!(
            err,
            "gmail.com is a free email provider; auto-join works only with a domain your \
             organization controls."
        );
        assert!(parse_domains("mail.gmail.com").is_err());
        assert!(parse_domains("@outlook.com").is_err());
    }
}
