//! Use cases. Each function loads the actor's roles with `acting` and asks
//! `domain::policy` where an actor acts on tenant data, runs its writes in one transaction and writes the
//! audit row in that same transaction. Services never see HTTP.

pub mod access_review;
pub mod account_links;
pub mod accounts;
pub mod acting;
pub mod api_keys;
pub mod audit;
pub mod audit_log;
pub mod backup;
pub mod custom_roles;
pub mod domain_proof;
pub mod error;
pub mod invitations;
pub mod member_counts;
pub mod members;
pub mod memberships;
pub mod orgs;
pub(crate) mod page_rows;
pub mod product_access;
pub mod products;
pub mod profile;
pub mod rate_leases;
pub mod rate_limit;
pub mod search;
pub mod seats;
pub mod security_log;
pub mod security_policy;
pub mod seed;
pub mod sessions;
pub mod two_factor;
pub mod workspaces;

/// A new random id for a row whose id may appear in a URL.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A new unguessable id for a secret row (sessions): 32 random bytes.
pub fn token_id() -> String {
    crate::domain::token::generate()
}

/// Runs CPU-heavy work (password hashing) off the async threads.
pub async fn blocking<T, F>(f: F) -> anyhow::Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .map_err(|err| anyhow::anyhow!("a blocking task failed: {err}"))
}

/// A write's result, with a unique-constraint violation answered as
/// `taken` (someone wrote the same thing a moment ago) and any other
/// database error as itself.
pub(crate) fn unique_or<T, E: From<sea_orm::DbErr>>(
    result: Result<T, sea_orm::DbErr>,
    taken: E,
) -> Result<T, E> {
    match result {
        Ok(value) => Ok(value),
        Err(err) if is_unique_violation(&err) => Err(taken),
        Err(err) => Err(err.into()),
    }
}

/// Whether a database error is a unique-constraint violation.
pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
