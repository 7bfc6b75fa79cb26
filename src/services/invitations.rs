//! Invitations: send (one or many addresses), resend, cancel, and accept —
//! by a new person signing up from the link or by a signed-in account.
//!
//! The link's token is 32 random bytes; only its SHA-256 is stored. A link
//! is valid for seven days from the last send; resending issues a new
//! token and the old one stops working. Acceptance consumes the invitation
//! with one conditional update, so two accepts of one link give one
//! membership.

use anyhow::Context;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, ExprTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};

use super::acting::{Acting, refuse_unseen};
use super::acting::{direct_role, org_role_of};
use super::audit::{self, Actor, AuditAction, Entry};
use super::error::ServiceError;
use super::new_id;
use crate::clock::Clock;
use crate::db::{CrossOrg, Db, Tenant};
use crate::domain::email::EmailAddress;
use crate::domain::policy::{self, Action, Roles};
use crate::domain::role::OrgRole;
use crate::domain::token;
use crate::domain::workspace::{WorkspaceRole, WsPermission};
use crate::entities::invitation::{self, StoredState};
use crate::entities::{
    audit_event, membership, organization, outbox_message, user, workspace, workspace_member,
};
use crate::mail::outbox;
use crate::mail::templates;

/// How long a link stays valid after it is sent.
pub const VALID_SECS: i64 = 7 * 24 * 3600;
/// The most addresses one send takes.
pub const MAX_PER_SEND: usize = 100;

/// Someone without an organization role needs a workspace to join.
pub const NEEDS_WORKSPACE: &str = "Choose a workspace for someone without an organization role.";
/// The shortest time between two sends of one invitation.
pub const RESEND_SPACING_SECS: i64 = 2 * 60;
const DAY_SECS: i64 = 24 * 3600;
pub const PER_PAGE: u64 = 50;

/// An invitation's state as people see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl State {
    pub fn of(invitation: &invitation::Model, now: i64) -> Self {
        match invitation.state {
            StoredState::Accepted => State::Accepted,
            StoredState::Revoked => State::Revoked,
            StoredState::Pending if now >= invitation.expires_at => State::Expired,
            StoredState::Pending => State::Pending,
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(State::Pending),
            "accepted" => Some(State::Accepted),
            "revoked" => Some(State::Revoked),
            "expired" => Some(State::Expired),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Accepted => "accepted",
            State::Revoked => "revoked",
            State::Expired => "expired",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Pending => "Pending",
            State::Accepted => "Accepted",
            State::Revoked => "Cancelled",
            State::Expired => "Expired",
        }
    }

    pub const ALL: [State; 4] = [
        State::Pending,
        State::Accepted,
        State::Revoked,
        State::Expired,
    ];
}

/// What happened to one address of a send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Invited,
    AlreadyMember,
    /// A pending invitation exists; the page offers to resend it.
    AlreadyInvited {
        invitation_id: String,
    },
    Invalid(String),
}

/// One line of a send's result.
#[derive(Clone, Debug)]
pub struct Line {
    pub input: String,
    pub outcome: Outcome,
}

/// A link that went into the outbox, for the server log.
#[derive(Clone, Debug)]
pub struct SentLink {
    pub email: String,
    pub link: String,
}

/// The addresses of a pasted list: split on commas, semicolons and line
/// breaks, blanks dropped.
pub fn split_addresses(raw: &str) -> Vec<String> {
    raw.split([',', ';', '\n', '\r'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(str::to_string)
        .collect()
}

/// Who sends, for the invitation's message.
pub struct Sender<'a> {
    pub acting: &'a Acting,
    pub name: &'a str,
    pub org_name: &'a str,
    pub base_url: &'a str,
    /// Invitations the organization may send in 24 hours.
    pub daily_limit: u64,
}

/// Only a person who has confirmed their address sends invitations: an
/// account made with someone else's address (or a throwaway one) cannot
/// use Roster to mail strangers in its name.
/// An organization key was made by someone who may manage keys; it has
/// no address of its own to confirm.
async fn require_confirmed<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
) -> Result<(), ServiceError> {
    let Some(user_id) = acting.person() else {
        return Ok(());
    };
    let confirmed = user::Entity::find_by_id(user_id.to_string())
        .one(conn)
        .await?
        .is_some_and(|u| u.email_verified_at.is_some());
    if confirmed {
        Ok(())
    } else {
        Err(ServiceError::Unconfirmed)
    }
}

/// Refuses a send of `count` more invitations that would take the
/// organization past its daily limit. Every send and resend writes an
/// audit row, so those rows are the count. The caller holds the
/// organization's lock (see `Db::begin_org_write`), so simultaneous sends cannot
/// both pass.
async fn check_daily_limit<C: ConnectionTrait>(
    conn: &C,
    sender: &Sender<'_>,
    count: u64,
    now: i64,
) -> Result<(), ServiceError> {
    let sent = audit_event::Entity::find()
        .filter(audit_event::Column::OrgId.eq(sender.acting.org_id.as_str()))
        .filter(audit_event::Column::Action.is_in([
            AuditAction::InvitationSent.as_str(),
            AuditAction::InvitationResent.as_str(),
        ]))
        .filter(audit_event::Column::CreatedAt.gt(now - DAY_SECS))
        .count(conn)
        .await?;
    if sent + count > sender.daily_limit {
        let left = sender.daily_limit.saturating_sub(sent);
        return Err(ServiceError::Throttled(format!(
            "This organization may send {} invitations a day and has sent {sent} in the last \
             24 hours: {left} more can go out now. Try again later or invite fewer people.",
            sender.daily_limit
        )));
    }
    Ok(())
}

/// An invitation straight into a workspace: which, and the role there.
#[derive(Clone, Debug)]
pub struct IntoWorkspace {
    pub workspace_id: String,
    pub role: WorkspaceRole,
    /// Custom roles the invitation carries, granted in the workspace on
    /// acceptance.
    pub custom_roles: Vec<String>,
}

/// Invites every address in `addresses` with `role`, in one transaction.
pub async fn invite(
    db: &Db,
    clock: &Clock,
    sender: &Sender<'_>,
    addresses: &[String],
    role: OrgRole,
    into: Option<IntoWorkspace>,
) -> Result<(Vec<Line>, Vec<SentLink>), ServiceError> {
    if addresses.is_empty() {
        return Err(ServiceError::invalid(
            "emails",
            "Enter at least one email address.",
        ));
    }
    if addresses.len() > MAX_PER_SEND {
        return Err(ServiceError::invalid(
            "emails",
            format!(
                "Invite at most {MAX_PER_SEND} addresses at a time; this list has {}.",
                addresses.len()
            ),
        ));
    }
    let now = clock.now();
    let txn = db.begin_org_write(sender.acting.tenant()).await?;
    // A workspace guest invited into a workspace needs only the right to
    // invite there (a workspace Admin delegates); anyone else also the
    // organization's right to invite with that role.
    if role != OrgRole::None || into.is_none() {
        sender
            .acting
            .authorize(&txn, Action::Invite { role })
            .await?;
    }
    require_confirmed(&txn, sender.acting).await?;
    check_daily_limit(&txn, sender, addresses.len() as u64, now).await?;
    let workspace_title = match &into {
        Some(target) => Some(check_workspace_grant(&txn, sender.acting, target).await?),
        None if role == OrgRole::None => {
            return Err(ServiceError::invalid("workspace_id", NEEDS_WORKSPACE));
        }
        None => None,
    };
    let into = into.map(|target| (target, workspace_title.unwrap_or_default()));
    let mut lines = Vec::with_capacity(addresses.len());
    let mut links = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for input in addresses {
        let email = match EmailAddress::parse(input) {
            Ok(email) => email,
            Err(message) => {
                lines.push(Line {
                    input: crate::domain::email::reveal(input),
                    outcome: Outcome::Invalid(message),
                });
                continue;
            }
        };
        if !seen.insert(email.normalized().to_string()) {
            continue;
        }
        let outcome =
            invite_one(&txn, sender, &email, role, into.as_ref(), now, &mut links).await?;
        lines.push(Line {
            input: email.as_str().to_string(),
            outcome,
        });
    }
    // Every new or renewed invitation holds a seat.
    super::seats::require_within(&txn, &sender.acting.org_id, links.len() as u64, now).await?;
    txn.commit().await?;
    Ok((lines, links))
}

/// Checks that the workspace is the organization's and that the inviter
/// may grant `target.role` in it; returns its title.
async fn check_workspace_grant<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    target: &IntoWorkspace,
) -> Result<String, ServiceError> {
    let found = workspace::Entity::find_by_id(target.workspace_id.clone())
        .filter(workspace::Column::OrgId.eq(acting.org_id.as_str()))
        .one(conn)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let (_, roles) = acting.in_workspace(conn, &found.id).await?;
    refuse_unseen(policy::authorize(
        roles,
        Action::InWorkspace(WsPermission::View),
    ))?;
    policy::authorize(roles, Action::InviteToWorkspace { role: target.role })?;
    super::custom_roles::check_carried(conn, acting, &found, roles, &target.custom_roles).await?;
    Ok(found.title)
}

async fn invite_one(
    txn: &DatabaseTransaction,
    sender: &Sender<'_>,
    email: &EmailAddress,
    role: OrgRole,
    into: Option<&(IntoWorkspace, String)>,
    now: i64,
    links: &mut Vec<SentLink>,
) -> Result<Outcome, ServiceError> {
    let org_id = sender.acting.org_id.as_str();
    let member = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(org_id))
        .filter(membership::Column::EmailNormalized.eq(email.normalized()))
        .filter(membership::Column::Role.ne(OrgRole::None))
        .count(txn)
        .await?;
    if member > 0 {
        if !sees_members(txn, sender.acting).await? {
            return Ok(Outcome::Invited);
        }
        return Ok(Outcome::AlreadyMember);
    }
    let pending = invitation::Entity::find()
        .filter(invitation::Column::OrgId.eq(org_id))
        .filter(invitation::Column::EmailNormalized.eq(email.normalized()))
        .filter(invitation::Column::State.eq(StoredState::Pending))
        .one(txn)
        .await?;
    if pending.is_some() && !sees_members(txn, sender.acting).await? {
        return Ok(Outcome::Invited);
    }
    let link = match pending {
        Some(existing) if State::of(&existing, now) == State::Pending => {
            return Ok(Outcome::AlreadyInvited {
                invitation_id: existing.id,
            });
        }
        // An expired invitation is renewed, as by Resend.
        Some(expired) => renew(txn, sender, &expired, Some((role, into)), now).await?,
        None => create(txn, sender, email, role, into, now).await?,
    };
    links.push(SentLink {
        email: email.as_str().to_string(),
        link,
    });
    Ok(Outcome::Invited)
}

/// Whether the sender may see who belongs. Someone who may not (a
/// workspace Admin without an organization role, inviting into their
/// workspace) gets "invited" for an address that belongs already or has
/// an invitation, and nothing changes: the answer must not tell them who
/// belongs or is invited, nor let them rewrite someone else's invitation.
async fn sees_members<C: ConnectionTrait>(conn: &C, acting: &Acting) -> Result<bool, ServiceError> {
    let roles = acting.in_org(conn).await?;
    Ok(policy::allows(
        roles,
        Action::Use(crate::domain::permission::Permission::ViewMembers),
    ))
}

/// A new invitation for `email`, its message queued and its audit row
/// written; returns its link.
async fn create(
    txn: &DatabaseTransaction,
    sender: &Sender<'_>,
    email: &EmailAddress,
    role: OrgRole,
    into: Option<&(IntoWorkspace, String)>,
    now: i64,
) -> Result<String, ServiceError> {
    let org_id = sender.acting.org_id.as_str();
    let secret = token::generate();
    let id = new_id();
    let message = queue_message(
        txn,
        sender,
        email.as_str(),
        role,
        into.map(|(t, title)| (t.role, title.as_str())),
        &secret,
        now,
    )
    .await?;
    let created = invitation::ActiveModel {
        id: Set(id.clone()),
        org_id: Set(org_id.to_string()),
        email: Set(email.as_str().to_string()),
        email_normalized: Set(email.normalized().to_string()),
        role: Set(role),
        token_hash: Set(token::hash(&secret)),
        state: Set(StoredState::Pending),
        invited_by: Set(sender.acting.person().map(str::to_string)),
        invited_by_name: Set(sender.name.to_string()),
        invited_by_key_id: Set(sender.acting.org_key.as_ref().map(|k| k.id.clone())),
        created_at: Set(now),
        sent_at: Set(now),
        expires_at: Set(now + VALID_SECS),
        accepted_at: Set(None),
        accepted_by: Set(None),
        revoked_at: Set(None),
        message_id: Set(Some(message.id)),
        workspace_id: Set(into.map(|(t, _)| t.workspace_id.clone())),
        workspace_role: Set(into.map(|(t, _)| t.role)),
    }
    .insert(txn)
    .await;
    super::unique_or(
        created,
        ServiceError::Conflict("Someone invited this address at the same moment; reload the page."),
    )?;
    if let Some((target, _)) = into {
        super::custom_roles::carry(txn, &id, &target.custom_roles).await?;
    }
    record(
        txn,
        &sender.acting.actor,
        org_id,
        AuditAction::InvitationSent,
        &id,
        email.normalized(),
        None,
        Some(role.as_str().to_string()),
        now,
    )
    .await?;
    Ok(link_for(sender.base_url, &secret))
}

/// The link in an invitation message.
pub fn link_for(base_url: &str, secret: &str) -> String {
    format!("{base_url}/invitations/{secret}")
}

async fn queue_message(
    txn: &DatabaseTransaction,
    sender: &Sender<'_>,
    recipient: &str,
    role: OrgRole,
    workspace: Option<(WorkspaceRole, &str)>,
    secret: &str,
    now: i64,
) -> anyhow::Result<outbox_message::Model> {
    let link = link_for(sender.base_url, secret);
    let role_text = describe_role(role, workspace);
    let message = templates::Invitation {
        org_id: &sender.acting.org_id,
        org_name: sender.org_name,
        inviter: sender.name,
        role: &role_text,
        recipient,
        link: &link,
        expires_at: now + VALID_SECS,
    };
    let subject = message.subject();
    outbox::enqueue(txn, message.render(&subject)?, now).await
}

/// "Member", "Viewer in Store 1", "Member, and Editor in Store 1".
pub fn describe_role(role: OrgRole, workspace: Option<(WorkspaceRole, &str)>) -> String {
    match (role, workspace) {
        (_, None) => role.label().to_string(),
        (OrgRole::None, Some((ws_role, title))) => {
            format!("{} in the workspace {title}", ws_role.label())
        }
        (_, Some((ws_role, title))) => format!(
            "{}, and {} in the workspace {title}",
            role.label(),
            ws_role.label()
        ),
    }
}

/// What a renewed invitation offers.
struct Terms {
    role: OrgRole,
    workspace_id: Option<String>,
    workspace_role: Option<WorkspaceRole>,
    workspace_title: Option<String>,
}

/// The terms of a renewal: those of `replace` (an expired invitation sent
/// again from the form), or the invitation's own (Resend).
async fn terms(
    txn: &DatabaseTransaction,
    existing: &invitation::Model,
    replace: Option<(OrgRole, Option<&(IntoWorkspace, String)>)>,
) -> Result<Terms, ServiceError> {
    if let Some((role, into)) = replace {
        return Ok(Terms {
            role,
            workspace_id: into.map(|(t, _)| t.workspace_id.clone()),
            workspace_role: into.map(|(t, _)| t.role),
            workspace_title: into.map(|(_, title)| title.clone()),
        });
    }
    // A workspace that has left the organization is named no more.
    let workspace_title = match &existing.workspace_id {
        Some(id) => workspace::Entity::find_by_id(id.clone())
            .filter(workspace::Column::OrgId.eq(existing.org_id.as_str()))
            .one(txn)
            .await?
            .map(|w| w.title),
        None => None,
    };
    Ok(Terms {
        role: existing.role,
        workspace_id: existing.workspace_id.clone(),
        workspace_role: existing.workspace_role,
        workspace_title,
    })
}

/// Issues a new token for a pending (or expired) invitation and queues a
/// new message: the old link stops working, the expiry restarts.
async fn renew(
    txn: &DatabaseTransaction,
    sender: &Sender<'_>,
    existing: &invitation::Model,
    replace: Option<(OrgRole, Option<&(IntoWorkspace, String)>)>,
    now: i64,
) -> Result<String, ServiceError> {
    let Terms {
        role,
        workspace_id,
        workspace_role,
        workspace_title,
    } = terms(txn, existing, replace).await?;
    let secret = token::generate();
    let message = queue_message(
        txn,
        sender,
        &existing.email,
        role,
        workspace_role.zip(workspace_title.as_deref()),
        &secret,
        now,
    )
    .await?;
    let updated = invitation::Entity::update_many()
        .col_expr(
            invitation::Column::TokenHash,
            Expr::value(token::hash(&secret)),
        )
        .col_expr(invitation::Column::Role, Expr::value(role))
        .col_expr(invitation::Column::SentAt, Expr::value(now))
        .col_expr(invitation::Column::ExpiresAt, Expr::value(now + VALID_SECS))
        .col_expr(
            invitation::Column::InvitedBy,
            Expr::value(sender.acting.person().map(str::to_string)),
        )
        .col_expr(
            invitation::Column::InvitedByKeyId,
            Expr::value(sender.acting.org_key.as_ref().map(|k| k.id.clone())),
        )
        .col_expr(invitation::Column::InvitedByName, Expr::value(sender.name))
        .col_expr(invitation::Column::MessageId, Expr::value(Some(message.id)))
        .col_expr(invitation::Column::WorkspaceId, Expr::value(workspace_id))
        .col_expr(
            invitation::Column::WorkspaceRole,
            Expr::value(workspace_role),
        )
        .filter(invitation::Column::Id.eq(existing.id.as_str()))
        .filter(invitation::Column::State.eq(StoredState::Pending))
        .filter(invitation::Column::TokenHash.eq(existing.token_hash.as_str()))
        .exec(txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(ServiceError::Conflict(
            "The invitation changed meanwhile; reload the page.",
        ));
    }
    if let Some((_, into)) = replace {
        let carried = into.map(|(t, _)| t.custom_roles.as_slice()).unwrap_or(&[]);
        super::custom_roles::carry(txn, &existing.id, carried).await?;
    }
    record(
        txn,
        &sender.acting.actor,
        &existing.org_id,
        AuditAction::InvitationResent,
        &existing.id,
        &existing.email_normalized,
        Some(existing.role.as_str().to_string()),
        Some(role.as_str().to_string()),
        now,
    )
    .await?;
    Ok(link_for(sender.base_url, &secret))
}

/// Refuses unless the actor may resend or cancel `existing`: anyone who
/// may invite with its role, and for a workspace guest's invitation
/// anyone who may invite into its workspace with its workspace role.
async fn authorize_on<C: ConnectionTrait>(
    conn: &C,
    acting: &Acting,
    existing: &invitation::Model,
) -> Result<(), ServiceError> {
    let org_wide = acting
        .authorize(
            conn,
            Action::Invite {
                role: existing.role,
            },
        )
        .await;
    let (Some(workspace_id), Some(ws_role), OrgRole::None, Err(refused)) = (
        &existing.workspace_id,
        existing.workspace_role,
        existing.role,
        &org_wide,
    ) else {
        return org_wide.map(|_| ());
    };
    let (_, roles) = acting.in_workspace(conn, workspace_id).await?;
    if !policy::allows(roles, Action::InWorkspace(WsPermission::View)) {
        return Err(ServiceError::NotFound);
    }
    match policy::authorize(roles, Action::InviteToWorkspace { role: ws_role }) {
        Ok(()) => Ok(()),
        Err(_) => match refused {
            ServiceError::Denied(denied) => Err(ServiceError::Denied(*denied)),
            _ => Err(ServiceError::NotFound),
        },
    }
}

/// Resends a pending or expired invitation with a new link.
pub async fn resend(
    db: &Db,
    clock: &Clock,
    sender: &Sender<'_>,
    invitation_id: &str,
) -> Result<(invitation::Model, SentLink), ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(sender.acting.tenant()).await?;
    let existing = load(&txn, &sender.acting.org_id, invitation_id).await?;
    authorize_on(&txn, sender.acting, &existing).await?;
    if existing.state != StoredState::Pending {
        return Err(ServiceError::Conflict(
            "Only a pending or expired invitation can be resent.",
        ));
    }
    require_confirmed(&txn, sender.acting).await?;
    let wait = existing.sent_at + RESEND_SPACING_SECS - now;
    if wait > 0 {
        return Err(ServiceError::Throttled(format!(
            "This invitation was sent moments ago. You can send it again in {wait} seconds."
        )));
    }
    check_daily_limit(&txn, sender, 1, now).await?;
    let link = renew(&txn, sender, &existing, None, now).await?;
    // An expired invitation held no seat; renewed, it takes one again.
    let added = u64::from(State::of(&existing, now) == State::Expired);
    super::seats::require_within(&txn, &sender.acting.org_id, added, now).await?;
    let updated = load(&txn, &sender.acting.org_id, invitation_id).await?;
    txn.commit().await?;
    let sent = SentLink {
        email: updated.email.clone(),
        link,
    };
    Ok((updated, sent))
}

/// A new link for a pending or expired invitation, for an Owner or Admin
/// to hand over themselves ("Copy link", the power the outbox page gives
/// them): no message is sent, the link in the last message stops working,
/// and the invitation runs seven days from now. The link works once.
pub async fn fresh_link(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    base_url: &str,
    invitation_id: &str,
) -> Result<(invitation::Model, String), ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let existing = load(&txn, &acting.org_id, invitation_id).await?;
    acting
        .authorize(
            &txn,
            Action::Use(crate::domain::permission::Permission::ManageMembers),
        )
        .await?;
    authorize_on(&txn, acting, &existing).await?;
    require_confirmed(&txn, acting).await?;
    if existing.state != StoredState::Pending {
        return Err(ServiceError::Conflict(
            "Only a pending or expired invitation has a link to copy.",
        ));
    }
    let secret = token::generate();
    let updated = invitation::Entity::update_many()
        .col_expr(
            invitation::Column::TokenHash,
            Expr::value(token::hash(&secret)),
        )
        .col_expr(invitation::Column::ExpiresAt, Expr::value(now + VALID_SECS))
        .filter(invitation::Column::Id.eq(existing.id.as_str()))
        .filter(invitation::Column::State.eq(StoredState::Pending))
        .filter(invitation::Column::TokenHash.eq(existing.token_hash.as_str()))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(ServiceError::Conflict(
            "The invitation changed meanwhile; reload the page.",
        ));
    }
    let added = u64::from(State::of(&existing, now) == State::Expired);
    super::seats::require_within(&txn, &acting.org_id, added, now).await?;
    record(
        &txn,
        &acting.actor,
        &acting.org_id,
        AuditAction::InvitationLinkCopied,
        &existing.id,
        &existing.email_normalized,
        None,
        None,
        now,
    )
    .await?;
    let renewed = load(&txn, &acting.org_id, invitation_id).await?;
    txn.commit().await?;
    Ok((renewed, link_for(base_url, &secret)))
}

/// How many of the organization's invitations wait to be accepted, and
/// how many expired unaccepted, at `now`, in one statement: the
/// unaccepted ones are counted by triggers (`invitation_counts`), the
/// expired ones from their index, and the difference is pending.
pub async fn waiting_counts<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    now: i64,
) -> anyhow::Result<(u64, u64)> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            conn.get_database_backend(),
            "SELECT (SELECT waiting FROM invitation_counts WHERE org_id = $1), \
             (SELECT COUNT(*) FROM invitations \
              WHERE org_id = $1 AND state = 'pending' AND expires_at <= $2)",
            [org_id.into(), now.into()],
        ))
        .await
        .context("failed to count waiting invitations")?;
    let (waiting, expired) = match row {
        Some(row) => (
            row.try_get_by_index::<Option<i64>>(0)
                .context("waiting")?
                .unwrap_or(0),
            row.try_get_by_index::<i64>(1).context("expired")?,
        ),
        None => (0, 0),
    };
    let expired = u64::try_from(expired).unwrap_or(0);
    let waiting = u64::try_from(waiting).unwrap_or(0);
    Ok((waiting.saturating_sub(expired), expired))
}

/// [`waiting_counts`] as two scalar subqueries, for a statement that reads
/// something else too: the unaccepted invitations (pending or expired;
/// NULL before the organization's first) and the expired ones.
pub(crate) fn waiting_exprs(org_id: &str, now: i64) -> (Expr, Expr) {
    use sea_orm::sea_query::{Alias, Query, QueryStatementBuilder};
    let mut unaccepted = Query::select();
    unaccepted
        .column(Alias::new("waiting"))
        .from(Alias::new("invitation_counts"))
        .and_where(Expr::col(Alias::new("org_id")).eq(org_id));
    let mut expired = Query::select();
    expired
        .expr(Expr::cust("CAST(COUNT(*) AS BIGINT)"))
        .from(invitation::Entity)
        .and_where(invitation::Column::OrgId.eq(org_id))
        // A literal, not a parameter: SQLite compares a parameter with the
        // condition of the partial index `invitations_one_pending` by its
        // value, and then compiles the statement again each time it is
        // bound, which was a tenth of the members page's time.
        .and_where(Expr::cust("invitations.state = 'pending'"))
        .and_where(invitation::Column::ExpiresAt.lte(now));
    (
        Expr::SubQuery(None, Box::new(unaccepted.into_sub_query_statement())),
        Expr::SubQuery(None, Box::new(expired.into_sub_query_statement())),
    )
}

/// Pending invitations to `email_normalized`, as (organization, inviter)
/// names: told to someone who confirms an address they signed up with
/// without the invitation's link.
pub async fn waiting_for(
    db: &Db,
    clock: &Clock,
    email_normalized: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let conn = db.read_cross_org(CrossOrg::InvitationsToAddress).await?;
    let found = invitation::Entity::find()
        .filter(invitation::Column::EmailNormalized.eq(email_normalized))
        .filter(invitation::Column::State.eq(StoredState::Pending))
        .filter(invitation::Column::ExpiresAt.gt(clock.now()))
        .find_also_related(organization::Entity)
        .order_by_asc(invitation::Column::SentAt)
        .limit(10)
        .all(&conn)
        .await
        .context("failed to find invitations waiting for an address")?;
    Ok(found
        .into_iter()
        .filter_map(|(invitation, org)| org.map(|org| (org.name, invitation.invited_by_name)))
        .collect())
}

/// Cancels a pending invitation: its link stops working.
pub async fn cancel(
    db: &Db,
    clock: &Clock,
    acting: &Acting,
    invitation_id: &str,
) -> Result<invitation::Model, ServiceError> {
    let now = clock.now();
    let txn = db.begin_org_write(acting.tenant()).await?;
    let existing = load(&txn, &acting.org_id, invitation_id).await?;
    authorize_on(&txn, acting, &existing).await?;
    let updated = invitation::Entity::update_many()
        .col_expr(invitation::Column::State, Expr::value(StoredState::Revoked))
        .col_expr(invitation::Column::RevokedAt, Expr::value(Some(now)))
        .filter(invitation::Column::Id.eq(existing.id.as_str()))
        .filter(invitation::Column::State.eq(StoredState::Pending))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(ServiceError::Conflict(
            "Only a pending or expired invitation can be cancelled.",
        ));
    }
    record(
        &txn,
        &acting.actor,
        &acting.org_id,
        AuditAction::InvitationCancelled,
        &existing.id,
        &existing.email_normalized,
        Some("pending".into()),
        Some("revoked".into()),
        now,
    )
    .await?;
    let revoked = load(&txn, &acting.org_id, invitation_id).await?;
    txn.commit().await?;
    Ok(revoked)
}

async fn load<C: ConnectionTrait>(
    conn: &C,
    org_id: &str,
    invitation_id: &str,
) -> Result<invitation::Model, ServiceError> {
    invitation::Entity::find()
        .filter(invitation::Column::OrgId.eq(org_id))
        .filter(invitation::Column::Id.eq(invitation_id))
        .one(conn)
        .await?
        .ok_or(ServiceError::NotFound)
}

#[allow(clippy::too_many_arguments)]
async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    org_id: &str,
    action: AuditAction,
    invitation_id: &str,
    email: &str,
    before: Option<String>,
    after: Option<String>,
    now: i64,
) -> anyhow::Result<()> {
    audit::record(
        conn,
        actor,
        Entry {
            org_id: Some(org_id),
            action,
            target_type: Some("invitation"),
            target_id: Some(invitation_id),
            target_label: Some(email),
            before,
            after,
        },
        now,
    )
    .await
}

/// A row of the Invitations page with its delivery state.
#[derive(Clone, Debug)]
pub struct InvitationRow {
    pub invitation: invitation::Model,
    pub message: Option<outbox_message::Model>,
}

/// A validated Invitations page query.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub state: Option<State>,
    /// Lower-cased fragment of the address.
    pub search: Option<String>,
    pub page: u64,
    /// The total, when the caller knows it already (the Members page's
    /// counts): the list does not count again.
    pub known_total: Option<u64>,
}

/// A page of the organization's invitations, newest send first, and the
/// total matching.
pub async fn list(
    db: &Db,
    clock: &Clock,
    org_id: &str,
    query: &ListQuery,
) -> anyhow::Result<(Vec<InvitationRow>, u64)> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let now = clock.now();
    let mut select = invitation::Entity::find().filter(invitation::Column::OrgId.eq(org_id));
    if let Some(state) = query.state {
        select = match state {
            // The expiry is tested with a unary `+`, so SQLite walks the
            // (org_id, state, sent_at) index newest first and stops after
            // a page, instead of sorting every waiting invitation.
            State::Pending => select
                .filter(invitation::Column::State.eq(StoredState::Pending))
                .filter(unindexed_expiry().gt(now)),
            State::Expired => select
                .filter(invitation::Column::State.eq(StoredState::Pending))
                .filter(unindexed_expiry().lte(now)),
            State::Accepted => select.filter(invitation::Column::State.eq(StoredState::Accepted)),
            State::Revoked => select.filter(invitation::Column::State.eq(StoredState::Revoked)),
        };
    }
    if let Some(search) = &query.search {
        select = select.filter(
            invitation::Column::EmailNormalized.like(crate::services::search::contains(search)),
        );
    }
    let total = match query.known_total {
        Some(total) => total,
        None => select
            .clone()
            .count(&conn)
            .await
            .context("failed to count invitations")?,
    };
    // The page first, then its messages by id: joined before the sort,
    // every matching invitation would carry its message's bodies through it.
    let page = select
        .order_by_desc(invitation::Column::SentAt)
        .order_by_desc(invitation::Column::Id)
        .offset(query.page.saturating_sub(1).saturating_mul(PER_PAGE))
        .limit(PER_PAGE)
        .all(&conn)
        .await
        .context("failed to list invitations")?;
    let message_ids: Vec<String> = page.iter().filter_map(|i| i.message_id.clone()).collect();
    let mut messages: std::collections::HashMap<String, outbox_message::Model> =
        if message_ids.is_empty() {
            Default::default()
        } else {
            outbox_message::Entity::find()
                .filter(outbox_message::Column::Id.is_in(message_ids))
                .all(&conn)
                .await
                .context("failed to load the invitations' messages")?
                .into_iter()
                .map(|m| (m.id.clone(), m))
                .collect()
        };
    Ok((
        page.into_iter()
            .map(|invitation| InvitationRow {
                message: invitation
                    .message_id
                    .as_ref()
                    .and_then(|id| messages.remove(id)),
                invitation,
            })
            .collect(),
        total,
    ))
}

/// `+invitations.expires_at`: the expiry as a value no index answers.
fn unindexed_expiry() -> Expr {
    Expr::cust("+invitations.expires_at")
}

/// One invitation of the organization with its delivery state.
pub async fn find(
    db: &Db,
    org_id: &str,
    invitation_id: &str,
) -> anyhow::Result<Option<InvitationRow>> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    let row = invitation::Entity::find()
        .filter(invitation::Column::OrgId.eq(org_id))
        .filter(invitation::Column::Id.eq(invitation_id))
        .find_also_related(outbox_message::Entity)
        .one(&conn)
        .await
        .context("failed to load an invitation")?;
    Ok(row.map(|(invitation, message)| InvitationRow {
        invitation,
        message,
    }))
}

/// An invitation found by the token of its link, with its organization.
#[derive(Clone, Debug)]
pub struct Invited {
    pub invitation: invitation::Model,
    pub org: organization::Model,
    pub state: State,
}

/// The invitation a link names, if the token is one Roster issued (and
/// still current: a resend replaces it).
pub async fn by_token(db: &Db, clock: &Clock, secret: &str) -> anyhow::Result<Option<Invited>> {
    if secret.len() > 64 {
        return Ok(None);
    }
    let conn = db.read_cross_org(CrossOrg::InvitationLink).await?;
    let row = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(token::hash(secret)))
        .find_also_related(organization::Entity)
        .one(&conn)
        .await
        .context("failed to look up an invitation")?;
    let now = clock.now();
    Ok(row.and_then(|(invitation, org)| {
        org.map(|org| Invited {
            state: State::of(&invitation, now),
            invitation,
            org,
        })
    }))
}

/// Why an invitation cannot be accepted.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("This invitation link is not valid. It may have been replaced by a newer one.")]
    NotFound,
    #[error("This invitation has expired.")]
    Expired,
    #[error("This invitation was cancelled.")]
    Revoked,
    #[error("This invitation has already been used.")]
    Used,
    #[error("This invitation is for another email address.")]
    WrongAccount,
    #[error("You are already a member of this organization.")]
    AlreadyMember,
    #[error("{0}")]
    InviterCannotGrant(String),
    /// The organization has no seat for the person.
    #[error("{0}")]
    NoSeats(String),
    #[error("An account with this email already exists. Sign in to accept the invitation.")]
    AccountExists,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AcceptError {
    fn from(err: sea_orm::DbErr) -> Self {
        AcceptError::Unexpected(anyhow::Error::new(err).context("database error"))
    }
}

/// The person joining, as the acceptance needs them.
pub enum Joiner<'a> {
    /// A signed-in account.
    Existing(&'a user::Model),
    /// A new account from the sign-up form on the link's page (the link
    /// proves the address for this invitation).
    New {
        name: &'a str,
        password_hash: String,
    },
}

/// Accepts the invitation behind `secret`: checks it is pending and not
/// expired, that the inviter may still grant its role, consumes it with one
/// conditional update and adds the membership — all in one transaction.
/// Returns the organization id and the member's account.
pub async fn accept(
    db: &Db,
    clock: &Clock,
    secret: &str,
    joiner: Joiner<'_>,
    address: Option<String>,
) -> Result<(String, user::Model), AcceptError> {
    let now = clock.now();
    let txn = db.begin_accounts_write().await?;
    let invitation = pending_by_secret(&txn, secret, now).await?;
    if let Joiner::Existing(user) = &joiner
        && user.email_normalized != invitation.email_normalized
    {
        return Err(AcceptError::WrongAccount);
    }
    if let Some(reason) = inviter_refusal(&txn, &invitation, now).await? {
        // Nothing else is written: the refusal alone is recorded.
        txn.rollback().await?;
        let actor = match &joiner {
            Joiner::Existing(user) => Actor {
                user_id: Some(user.id.clone()),
                label: user.email.clone(),
                address,
            },
            Joiner::New { .. } => Actor {
                user_id: None,
                label: invitation.email.clone(),
                address,
            },
        };
        record_refusal(db, &actor, &invitation, &reason, now).await?;
        return Err(AcceptError::InviterCannotGrant(reason));
    }
    let person = person_joining(&txn, joiner, &invitation, now).await?;
    consume(&txn, &invitation, &person, now).await?;
    join_organization(&txn, &invitation, &person, now).await?;
    join_workspace(&txn, &invitation, &person, now).await?;
    // The invitation's seat passes to the member; a limit lowered since
    // it was sent can still leave no seat.
    match super::seats::require_within_for_joiner(&txn, &invitation.org_id, now).await {
        Ok(()) => {}
        Err(ServiceError::NoSeats(message)) => return Err(AcceptError::NoSeats(message)),
        Err(err) => return Err(AcceptError::Unexpected(anyhow::anyhow!(err))),
    }
    let actor = Actor {
        user_id: Some(person.id.clone()),
        label: person.email.clone(),
        address,
    };
    record(
        &txn,
        &actor,
        &invitation.org_id,
        AuditAction::InvitationAccepted,
        &invitation.id,
        &invitation.email_normalized,
        Some("pending".into()),
        Some(invitation.role.as_str().to_string()),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok((invitation.org_id, person))
}

/// The pending invitation whose link holds `secret`, with its
/// organization held: the inviter's role is checked next, and must still
/// be the role in force when the acceptance commits.
async fn pending_by_secret(
    txn: &DatabaseTransaction,
    secret: &str,
    now: i64,
) -> Result<invitation::Model, AcceptError> {
    crate::db::act_cross_org(txn, CrossOrg::InvitationLink).await?;
    let invitation = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(token::hash(secret)))
        .one(txn)
        .await?
        .ok_or(AcceptError::NotFound)?;
    // The rest of the acceptance sees the invitation's organization only.
    let tenant = Tenant::org(&invitation.org_id);
    crate::db::act_for(txn, tenant).await?;
    crate::db::lock_orgs(txn, &[&invitation.org_id]).await?;
    match State::of(&invitation, now) {
        State::Pending => Ok(invitation),
        State::Expired => Err(AcceptError::Expired),
        State::Revoked => Err(AcceptError::Revoked),
        State::Accepted => Err(AcceptError::Used),
    }
}

/// The account that joins: the signed-in one, or a new one for the
/// invited address.
async fn person_joining(
    txn: &DatabaseTransaction,
    joiner: Joiner<'_>,
    invitation: &invitation::Model,
    now: i64,
) -> Result<user::Model, AcceptError> {
    let (name, password_hash) = match joiner {
        Joiner::Existing(user) => return Ok(user.clone()),
        Joiner::New {
            name,
            password_hash,
        } => (name, password_hash),
    };
    let created = user::ActiveModel {
        id: Set(new_id()),
        email: Set(invitation.email.clone()),
        email_normalized: Set(invitation.email_normalized.clone()),
        name: Set(name.to_string()),
        password_hash: Set(password_hash),
        // The link proves the address for this invitation only; the
        // separate verification email is still needed elsewhere.
        email_verified_at: Set(None),
        session_epoch: Set(0),
        created_at: Set(now),
        last_active_at: Set(Some(now)),
        join_org_id: Set(None),
        two_factor_at: Set(None),
    }
    .insert(txn)
    .await;
    super::unique_or(created, AcceptError::AccountExists)
}

/// Marks the invitation accepted, only if it is still the pending one
/// with this link (a concurrent acceptance or resend makes this fail).
async fn consume(
    txn: &DatabaseTransaction,
    invitation: &invitation::Model,
    person: &user::Model,
    now: i64,
) -> Result<(), AcceptError> {
    let consumed = invitation::Entity::update_many()
        .col_expr(
            invitation::Column::State,
            Expr::value(StoredState::Accepted),
        )
        .col_expr(invitation::Column::AcceptedAt, Expr::value(Some(now)))
        .col_expr(
            invitation::Column::AcceptedBy,
            Expr::value(Some(person.id.clone())),
        )
        .filter(invitation::Column::Id.eq(invitation.id.as_str()))
        .filter(invitation::Column::State.eq(StoredState::Pending))
        .filter(invitation::Column::TokenHash.eq(invitation.token_hash.as_str()))
        .filter(invitation::Column::ExpiresAt.gt(now))
        .exec(txn)
        .await?;
    if consumed.rows_affected != 1 {
        return Err(AcceptError::Used);
    }
    Ok(())
}

/// Gives the person the invited organization role. A workspace guest
/// (organization role none) invited again joins with the invited role;
/// anyone else already in is already a member.
async fn join_organization(
    txn: &DatabaseTransaction,
    invitation: &invitation::Model,
    person: &user::Model,
    now: i64,
) -> Result<(), AcceptError> {
    let existing = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(invitation.org_id.as_str()))
        .filter(membership::Column::UserId.eq(person.id.as_str()))
        .one(txn)
        .await?;
    match existing {
        Some(member) if member.role != OrgRole::None => Err(AcceptError::AlreadyMember),
        Some(_) if invitation.role == OrgRole::None => Ok(()),
        Some(guest) => {
            let raised = membership::Entity::update_many()
                .col_expr(membership::Column::Role, Expr::value(invitation.role))
                .filter(membership::Column::Id.eq(guest.id.as_str()))
                .filter(membership::Column::Role.eq(OrgRole::None))
                .exec(txn)
                .await?;
            if raised.rows_affected != 1 {
                return Err(AcceptError::AlreadyMember);
            }
            Ok(())
        }
        None => {
            let joined = super::memberships::insert(
                txn,
                &invitation.org_id,
                person,
                invitation.role,
                now,
                0,
            )
            .await;
            super::unique_or(joined, AcceptError::AlreadyMember).map(|_| ())
        }
    }
}

/// Gives the person the invited direct workspace role, if any; a direct
/// role at or above it stays.
async fn join_workspace(
    txn: &DatabaseTransaction,
    invitation: &invitation::Model,
    person: &user::Model,
    now: i64,
) -> Result<(), AcceptError> {
    let (Some(workspace_id), Some(ws_role)) = (&invitation.workspace_id, invitation.workspace_role)
    else {
        return Ok(());
    };
    let current = workspace_member::Entity::find()
        .filter(workspace_member::Column::WorkspaceId.eq(workspace_id.as_str()))
        .filter(workspace_member::Column::UserId.eq(person.id.as_str()))
        .one(txn)
        .await?;
    match current {
        Some(held) if held.role >= ws_role => {}
        Some(held) => {
            workspace_member::Entity::update_many()
                .col_expr(workspace_member::Column::Role, Expr::value(ws_role))
                .filter(workspace_member::Column::Id.eq(held.id.as_str()))
                .exec(txn)
                .await?;
        }
        None => {
            super::memberships::insert_direct_role(
                txn,
                &invitation.org_id,
                workspace_id,
                &person.id,
                ws_role,
                now,
            )
            .await?;
        }
    }
    let joined = membership::Entity::find()
        .filter(membership::Column::OrgId.eq(invitation.org_id.as_str()))
        .filter(membership::Column::UserId.eq(person.id.as_str()))
        .one(txn)
        .await?;
    if let Some(joined) = joined {
        super::custom_roles::grant_carried(
            txn,
            invitation,
            &joined.id,
            &person.id,
            workspace_id,
            now,
        )
        .await
        .map_err(|err| match err {
            ServiceError::Unexpected(err) => AcceptError::Unexpected(err),
            other => AcceptError::Unexpected(
                anyhow::Error::new(other).context("failed to grant the invitation's roles"),
            ),
        })?;
    }
    Ok(())
}

/// Why the inviter can no longer stand behind the invitation, if so.
async fn inviter_refusal(
    txn: &DatabaseTransaction,
    invitation: &invitation::Model,
    now: i64,
) -> Result<Option<String>, AcceptError> {
    let inviter_role = match (&invitation.invited_by, &invitation.invited_by_key_id) {
        (Some(inviter), _) => org_role_of(txn, &invitation.org_id, inviter).await?,
        (None, Some(key_id)) => {
            super::api_keys::live_role(txn, &invitation.org_id, key_id, now).await?
        }
        (None, None) => None,
    };
    let Some(role) = inviter_role else {
        return Ok(Some(format!(
            "{} is no longer a member of this organization, so their invitation cannot be \
             accepted. Ask an Admin of the organization to invite you again.",
            invitation.invited_by_name
        )));
    };
    // The custom roles a person inviter holds count as they did when
    // the invitation was sent.
    let custom = match &invitation.invited_by {
        Some(inviter) => {
            let held = membership::Entity::find()
                .filter(membership::Column::OrgId.eq(invitation.org_id.as_str()))
                .filter(membership::Column::UserId.eq(inviter.as_str()))
                .one(txn)
                .await?;
            match held {
                Some(m) => {
                    super::acting::custom_levels(txn, &m.id, invitation.workspace_id.as_deref())
                        .await?
                }
                None => super::acting::CustomLevels::default(),
            }
        }
        None => super::acting::CustomLevels::default(),
    };
    // A workspace guest's invitation needs only the right to invite into
    // the workspace, checked below.
    let into_workspace = invitation.role == OrgRole::None && invitation.workspace_id.is_some();
    let may_invite = into_workspace
        || policy::allows(
            Roles::in_org(role).with_custom(&custom.org_wide, &custom.org_wide),
            Action::Invite {
                role: invitation.role,
            },
        );
    if !may_invite {
        return Ok(Some(format!(
            "{} can no longer grant the {} role, so this invitation cannot be accepted. \
             Ask an Admin of the organization to invite you again.",
            invitation.invited_by_name,
            invitation.role.label()
        )));
    }
    let (Some(workspace_id), Some(ws_role)) = (&invitation.workspace_id, invitation.workspace_role)
    else {
        return Ok(None);
    };
    let found = workspace::Entity::find_by_id(workspace_id.clone())
        .filter(workspace::Column::OrgId.eq(invitation.org_id.as_str()))
        .one(txn)
        .await?;
    let Some(found) = found else {
        return Ok(Some(format!(
            "The workspace this invitation was for no longer belongs to the organization. \
             Ask {} to invite you again.",
            invitation.invited_by_name
        )));
    };
    let inviter_direct = match &invitation.invited_by {
        Some(inviter) => direct_role(txn, &found.id, inviter).await?,
        None => None,
    };
    let may_grant = policy::allows(
        Roles::in_workspace(role, inviter_direct).with_custom(&custom.org_wide, &custom.here),
        Action::InviteToWorkspace { role: ws_role },
    );
    if !may_grant {
        return Ok(Some(format!(
            "{} can no longer grant the {} role in the workspace {}, so this invitation \
             cannot be accepted. Ask an Admin of the organization to invite you again.",
            invitation.invited_by_name,
            ws_role.label(),
            found.title
        )));
    }
    Ok(None)
}

async fn record_refusal(
    db: &Db,
    actor: &Actor,
    invitation: &invitation::Model,
    reason: &str,
    now: i64,
) -> Result<(), AcceptError> {
    let txn = db.begin_in(Tenant::org(&invitation.org_id)).await?;
    record(
        &txn,
        actor,
        &invitation.org_id,
        AuditAction::InvitationRefused,
        &invitation.id,
        &invitation.email_normalized,
        Some(invitation.role.as_str().to_string()),
        Some(reason.to_string()),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Whether `user` already belongs to the organization.
pub async fn is_member(db: &Db, org_id: &str, user_id: &str) -> anyhow::Result<bool> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    Ok(org_role_of(&conn, org_id, user_id)
        .await
        .context("failed to check a membership")?
        .is_some())
}

/// The organization's invitations whose current link is one of `secrets`
/// (a resend replaces the link, so an older one matches nothing).
pub async fn by_secrets(
    db: &Db,
    org_id: &str,
    secrets: &[String],
) -> anyhow::Result<Vec<invitation::Model>> {
    let conn = db.read_in(Tenant::org(org_id)).await?;
    if secrets.is_empty() {
        return Ok(Vec::new());
    }
    invitation::Entity::find()
        .filter(invitation::Column::OrgId.eq(org_id))
        .filter(invitation::Column::TokenHash.is_in(secrets.iter().map(|s| token::hash(s))))
        .all(&conn)
        .await
        .context("failed to read the invitations of the mailbox")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasted_lists_split_on_commas_semicolons_and_lines() {
        assert_eq!(
            split_addresses(" a@x.test, b@x.test;\r\nc@x.test\n\n ,"),
            ["a@x.test", "b@x.test", "c@x.test"]
        );
        assert!(split_addresses(" \n , ").is_empty());
    }

    #[test]
    fn a_pending_invitation_expires_at_seven_days() {
        let invitation = invitation::Model {
            id: "i".into(),
            org_id: "o".into(),
            email: "a@x.test".into(),
            email_normalized: "a@x.test".into(),
            role: OrgRole::Member,
            token_hash: "h".into(),
            state: StoredState::Pending,
            invited_by: None,
            invited_by_name: "Ada".into(),
            created_at: 0,
            sent_at: 0,
            expires_at: VALID_SECS,
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
            message_id: None,
            workspace_id: None,
            workspace_role: None,
            invited_by_key_id: None,
        };
        assert_eq!(State::of(&invitation, VALID_SECS - 1), State::Pending);
        assert_eq!(State::of(&invitation, VALID_SECS), State::Expired);
        let revoked = invitation::Model {
            state: StoredState::Revoked,
            ..invitation
        };
        assert_eq!(State::of(&revoked, 0), State::Revoked);
    }
}
