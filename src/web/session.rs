//! What Roster keeps in the (encrypted) session cookie, and the helpers
//! that read and write it. The cookie store cannot revoke a session, so
//! timeouts come from timestamps kept here and revocation from the
//! per-user session epoch in the database.

use actix_session::Session;
use serde::{Deserialize, Serialize};

use crate::domain::token;

const AUTH: &str = "auth";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
const LAST_ORG: &str = "org";
const SECOND_FACTOR: &str = "second_factor";

/// The signed-in person, as recorded at sign-in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionAuth {
    /// The `user_sessions` row; signing out deletes it.
    pub session_id: String,
    pub user_id: String,
    /// The user's session epoch at sign-in; a newer one in the database
    /// means this session was revoked.
    pub epoch: i64,
    pub signed_in_at: i64,
    pub last_seen_at: i64,
}

/// A sign-in whose password was right, waiting for the second factor.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingSignIn {
    pub user_id: String,
    /// The session epoch when the password was checked: a password change
    /// or "sign out everywhere" since then voids the pending sign-in.
    pub epoch: i64,
    pub started_at: i64,
    /// Where to go once signed in (checked with `safe_next`).
    pub next: String,
}

/// Remembers a sign-in waiting for its code; nobody is signed in yet.
pub fn set_pending_sign_in(session: &Session, pending: &PendingSignIn) -> anyhow::Result<()> {
    session.renew();
    session.remove(AUTH);
    session
        .insert(SECOND_FACTOR, pending)
        .map_err(|err| anyhow::anyhow!("failed to write the session: {err}"))
}

pub fn pending_sign_in(session: &Session) -> Option<PendingSignIn> {
    session.get::<PendingSignIn>(SECOND_FACTOR).ok().flatten()
}

pub fn clear_pending_sign_in(session: &Session) {
    session.remove(SECOND_FACTOR);
}

/// A one-time message shown on the next page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flash {
    pub kind: String,
    pub message: String,
}

pub fn auth(session: &Session) -> Option<SessionAuth> {
    session.get::<SessionAuth>(AUTH).ok().flatten()
}

pub fn set_auth(session: &Session, auth: &SessionAuth) -> anyhow::Result<()> {
    session
        .insert(AUTH, auth)
        .map_err(|err| anyhow::anyhow!("failed to write the session: {err}"))
}

/// Starts a signed-in session: a new session id and a new CSRF token, so
/// nothing from before sign-in carries over.
pub fn sign_in(
    session: &Session,
    session_id: String,
    user_id: &str,
    epoch: i64,
    now: i64,
) -> anyhow::Result<()> {
    session.renew();
    session.remove(CSRF);
    session.remove(SECOND_FACTOR);
    set_auth(
        session,
        &SessionAuth {
            session_id,
            user_id: user_id.to_string(),
            epoch,
            signed_in_at: now,
            last_seen_at: now,
        },
    )
}

/// The session's CSRF token, created on first use.
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(existing)) = session.get::<String>(CSRF) {
        return existing;
    }
    let fresh = token::generate();
    if let Err(err) = session.insert(CSRF, &fresh) {
        tracing::warn!(%err, "failed to store a CSRF token");
    }
    fresh
}

/// The token stored in the session, without creating one.
pub fn stored_csrf_token(session: &Session) -> Option<String> {
    session.get::<String>(CSRF).ok().flatten()
}

/// The most bytes a flash message may take in the session cookie (as
/// JSON, inside the cookie's own JSON): the cookie must stay under a
/// browser's 4 KB, or the response fails.
const MAX_FLASH_BYTES: usize = 1200;

/// The bytes `message` takes in the cookie: it is JSON-encoded twice.
fn stored_len(message: &str) -> usize {
    serde_json::to_string(message)
        .and_then(|once| serde_json::to_string(&once))
        .map_or(usize::MAX, |twice| twice.len())
}

pub fn flash(session: &Session, kind: &str, message: impl Into<String>) {
    let mut message: String = message.into();
    if stored_len(&message) > MAX_FLASH_BYTES {
        while stored_len(&message) > MAX_FLASH_BYTES - 8 && message.pop().is_some() {}
        message.push('…');
    }
    let flash = Flash {
        kind: kind.to_string(),
        message,
    };
    if let Err(err) = session.insert(FLASH, flash) {
        tracing::warn!(%err, "failed to store a flash message");
    }
}

pub fn take_flash(session: &Session) -> Option<Flash> {
    let flash = session.get::<Flash>(FLASH).ok().flatten();
    if flash.is_some() {
        session.remove(FLASH);
    }
    flash
}

pub fn last_org(session: &Session) -> Option<String> {
    session.get::<String>(LAST_ORG).ok().flatten()
}

pub fn set_last_org(session: &Session, org_id: &str) {
    if last_org(session).as_deref() != Some(org_id)
        && let Err(err) = session.insert(LAST_ORG, org_id)
    {
        tracing::warn!(%err, "failed to remember the organization");
    }
}
