//! Proof that an organization controls an auto-join domain. Adding a domain
//! stores it pending with a random token; "Check now" looks up the TXT
//! record at `_roster-verification.<domain>` and, when it holds
//! `roster-verification=<token>`, marks the domain verified with its audit
//! row in the same transaction. Only verified domains welcome anyone, and
//! a domain is verified by one organization at a time (a partial unique
//! index holds that in the database too).

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::acting::Acting;
use super::audit::{self, AuditAction, Entry};
use crate::clock::Clock;
use crate::db::{CrossOrg, Db, Tenant};
use crate::dns::{Dns, DnsError};
use crate::domain::domain_proof;
use crate::domain::permission::Permission;
use crate::domain::policy::{self, Action, Denied};
use crate::entities::auto_join_domain;

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("That domain isn't listed for auto-join in this organization.")]
    NotFound,
    #[error(transparent)]
    Denied(#[from] Denied),
    #[error(
        "No TXT record was found at {name}. Publish one with the value {value}, then check \
         again; a new record can take a few minutes to appear."
    )]
    NotPublished { name: String, value: String },
    #[error(
        "The TXT records at {name} do not include {value} ({found} other record(s) found). \
         Check the value for typos, then check again."
    )]
    WrongValue {
        name: String,
        value: String,
        found: usize,
    },
    #[error(
        "Roster looked up the TXT record at {name}, but DNS did not answer in time, so the \
         domain is not verified. Try again in a few minutes."
    )]
    Timeout { name: String },
    #[error(
        "Roster could not look up the TXT record at {name} (no answer from DNS), so the domain \
         is not verified. Try again in a few minutes; if it keeps failing, tell the person who \
         runs this Roster."
    )]
    NoAnswer { name: String },
    #[error("{}", taken_message(.domain))]
    Taken { domain: String },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for ProofError {
    fn from(err: sea_orm::DbErr) -> Self {
        ProofError::Unexpected(anyhow::Error::new(err).context("database error"))
    }
}

/// Why another organization's verified domain cannot be added or verified.
pub fn taken_message(domain: &str) -> String {
    format!(
        "{domain} is already verified by another organization. A domain welcomes people into \
         one organization only; that organization has to remove it first."
    )
}

/// What a check found.
#[derive(Debug)]
pub enum Checked {
    /// DNS proved it just now.
    Verified(auto_join_domain::Model),
    /// It was verified before (by an earlier check, or a concurrent one).
    AlreadyVerified(auto_join_domain::Model),
}

/// The organization's auto-join domains, pending and verified, by name.
pub async fn list(db: &Db, org_id: &str) -> anyhow::Result<Vec<auto_join_domain::Model>> {
    auto_join_domain::Entity::find()
        .filter(auto_join_domain::Column::OrgId.eq(org_id))
        .order_by_asc(auto_join_domain::Column::Domain)
        .all(&db.read_in(Tenant::org(org_id)).await?)
        .await
        .context("failed to read auto-join domains")
}

/// Whether an organization other than `org_id` has verified `domain`.
pub async fn verified_elsewhere<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    domain: &str,
) -> anyhow::Result<bool> {
    Ok(auto_join_domain::Entity::find()
        .filter(auto_join_domain::Column::Domain.eq(domain))
        .filter(auto_join_domain::Column::OrgId.ne(org_id))
        .filter(auto_join_domain::Column::VerifiedAt.is_not_null())
        .one(conn)
        .await
        .context("failed to look for the domain in other organizations")?
        .is_some())
}

async fn authorize<C: ConnectionTrait>(conn: &C, acting: &Acting) -> Result<(), ProofError> {
    let roles = acting.in_org(conn).await.map_err(|err| match err {
        super::error::ServiceError::NotFound => ProofError::NotFound,
        other => ProofError::Unexpected(anyhow::Error::new(other)),
    })?;
    policy::authorize(roles, Action::Use(Permission::ManageAutoJoin))?;
    Ok(())
}

/// Looks the domain's TXT record up and marks the domain verified when it
/// holds the token. The lookup runs outside any transaction; the write
/// then applies only if the row still has the token that was checked.
pub async fn check(
    db: &Db,
    clock: &Clock,
    dns: &Dns,
    acting: &Acting,
    domain_id: &str,
) -> Result<Checked, ProofError> {
    let conn = db.read_in(acting.tenant()).await?;
    authorize(&conn, acting).await?;
    let row = find(&conn, &acting.org_id, domain_id).await?;
    drop(conn);
    if row.verified_at.is_some() {
        return Ok(Checked::AlreadyVerified(row));
    }
    let others = db.read_cross_org(CrossOrg::DomainClaim).await?;
    if verified_elsewhere(&others, &acting.org_id, &row.domain).await? {
        return Err(ProofError::Taken { domain: row.domain });
    }
    drop(others);
    let name = domain_proof::record_name(&row.domain);
    let value = domain_proof::record_value(&row.token);
    let texts = match dns.txt(&name).await {
        Ok(texts) => texts,
        Err(DnsError::Timeout) => return Err(ProofError::Timeout { name }),
        Err(DnsError::Failed(_)) => return Err(ProofError::NoAnswer { name }),
    };
    if !domain_proof::proves(&texts, &row.token) {
        return Err(if texts.is_empty() {
            ProofError::NotPublished { name, value }
        } else {
            ProofError::WrongValue {
                name,
                value,
                found: texts.len(),
            }
        });
    }

    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    authorize(&txn, acting).await?;
    let updated = auto_join_domain::Entity::update_many()
        .col_expr(auto_join_domain::Column::VerifiedAt, Expr::value(Some(now)))
        .filter(auto_join_domain::Column::Id.eq(row.id.as_str()))
        .filter(auto_join_domain::Column::OrgId.eq(acting.org_id.as_str()))
        .filter(auto_join_domain::Column::Token.eq(row.token.as_str()))
        .filter(auto_join_domain::Column::VerifiedAt.is_null())
        .exec(&txn)
        .await;
    let updated = super::unique_or(
        updated,
        ProofError::Taken {
            domain: row.domain.clone(),
        },
    )?;
    if updated.rows_affected != 1 {
        // Verified by a concurrent check, or removed meanwhile.
        let current = find(&txn, &acting.org_id, domain_id).await?;
        return match current.verified_at {
            Some(_) => Ok(Checked::AlreadyVerified(current)),
            None => Err(ProofError::NotFound),
        };
    }
    audit::record(
        &txn,
        &acting.actor,
        Entry {
            org_id: Some(&acting.org_id),
            action: AuditAction::AutoJoinDomainVerified,
            target_type: Some("domain"),
            target_id: Some(&row.id),
            target_label: Some(&row.domain),
            before: Some("pending".into()),
            after: Some(format!("verified by the TXT record at {name}")),
        },
        now,
    )
    .await?;
    let verified = find(&txn, &acting.org_id, domain_id).await?;
    txn.commit().await?;
    Ok(Checked::Verified(verified))
}

async fn find<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    domain_id: &str,
) -> Result<auto_join_domain::Model, ProofError> {
    auto_join_domain::Entity::find()
        .filter(auto_join_domain::Column::Id.eq(domain_id))
        .filter(auto_join_domain::Column::OrgId.eq(org_id))
        .one(conn)
        .await?
        .ok_or(ProofError::NotFound)
}
