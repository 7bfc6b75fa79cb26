//! Audit rows, written inside the caller's transaction so a change and its
//! row commit or roll back together. Rows are append-only.

use anyhow::Context;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use crate::entities::audit_event;

/// Who acted, and from where.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<String>,
    pub label: String,
    pub address: Option<String>,
}

/// Every kind of change the audit log records. The stored name
/// ([`AuditAction::as_str`]) never changes once written; the label is what
/// people read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    OrganizationCreated,
    OrganizationDeleted,
    SettingsChanged,
    AutoJoinChanged,
    AutoJoinDomainVerified,
    InvitationSent,
    InvitationResent,
    InvitationCancelled,
    InvitationAccepted,
    InvitationRefused,
    MemberAutoJoined,
    RoleChanged,
    MemberRemoved,
    MemberLeft,
    OwnershipTransferred,
    WorkspaceCreated,
    WorkspaceRenamed,
    WorkspaceMoved,
    WorkspaceDeleted,
    WorkspaceOwnershipTransferred,
    WorkspaceRoleGranted,
    WorkspaceRoleRemoved,
    ProductCreated,
    ProductEdited,
    ProductDeleted,
    ProductOwnerChanged,
    ProductAccessRestricted,
    ProductAccessUnrestricted,
    ProductAccessChanged,
    ProductAccessBulkGranted,
    PasswordReset,
    EmailConfirmed,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyExpired,
    ModuleAdded,
    ModuleRemoved,
    CustomRoleCreated,
    CustomRoleEdited,
    CustomRoleDeleted,
    CustomRoleGranted,
    CustomRoleRevoked,
    InvitationLinkCopied,
    NameChanged,
    EmailChangeRequested,
    EmailChanged,
    SeatLimitChanged,
    SignedIn,
    SignInFailed,
    PasswordChanged,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodeUsed,
    RecoveryCodesRenewed,
    SessionEnded,
    SignedOutEverywhere,
    MemberSignedOut,
    SecuritySettingsChanged,
}

impl AuditAction {
    /// Every action, in the order the log's filter offers them.
    pub const ALL: [AuditAction; 58] = [
        AuditAction::OrganizationCreated,
        AuditAction::OrganizationDeleted,
        AuditAction::SettingsChanged,
        AuditAction::AutoJoinChanged,
        AuditAction::AutoJoinDomainVerified,
        AuditAction::InvitationSent,
        AuditAction::InvitationResent,
        AuditAction::InvitationCancelled,
        AuditAction::InvitationAccepted,
        AuditAction::InvitationRefused,
        AuditAction::MemberAutoJoined,
        AuditAction::RoleChanged,
        AuditAction::MemberRemoved,
        AuditAction::MemberLeft,
        AuditAction::OwnershipTransferred,
        AuditAction::WorkspaceCreated,
        AuditAction::WorkspaceRenamed,
        AuditAction::WorkspaceMoved,
        AuditAction::WorkspaceDeleted,
        AuditAction::WorkspaceOwnershipTransferred,
        AuditAction::WorkspaceRoleGranted,
        AuditAction::WorkspaceRoleRemoved,
        AuditAction::ProductCreated,
        AuditAction::ProductEdited,
        AuditAction::ProductDeleted,
        AuditAction::ProductOwnerChanged,
        AuditAction::ProductAccessRestricted,
        AuditAction::ProductAccessUnrestricted,
        AuditAction::ProductAccessChanged,
        AuditAction::ProductAccessBulkGranted,
        AuditAction::PasswordReset,
        AuditAction::EmailConfirmed,
        AuditAction::ApiKeyCreated,
        AuditAction::ApiKeyRevoked,
        AuditAction::ApiKeyExpired,
        AuditAction::ModuleAdded,
        AuditAction::ModuleRemoved,
        AuditAction::CustomRoleCreated,
        AuditAction::CustomRoleEdited,
        AuditAction::CustomRoleDeleted,
        AuditAction::CustomRoleGranted,
        AuditAction::CustomRoleRevoked,
        AuditAction::InvitationLinkCopied,
        AuditAction::NameChanged,
        AuditAction::EmailChangeRequested,
        AuditAction::EmailChanged,
        AuditAction::SeatLimitChanged,
        AuditAction::SignedIn,
        AuditAction::SignInFailed,
        AuditAction::PasswordChanged,
        AuditAction::TwoFactorEnabled,
        AuditAction::TwoFactorDisabled,
        AuditAction::RecoveryCodeUsed,
        AuditAction::RecoveryCodesRenewed,
        AuditAction::SessionEnded,
        AuditAction::SignedOutEverywhere,
        AuditAction::MemberSignedOut,
        AuditAction::SecuritySettingsChanged,
    ];

    /// The name stored in `audit_events.action`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::OrganizationCreated => "organization.created",
            AuditAction::OrganizationDeleted => "organization.deleted",
            AuditAction::SettingsChanged => "settings.changed",
            AuditAction::AutoJoinChanged => "settings.auto_join_changed",
            AuditAction::AutoJoinDomainVerified => "settings.auto_join_domain_verified",
            AuditAction::InvitationSent => "invitation.sent",
            AuditAction::InvitationResent => "invitation.resent",
            AuditAction::InvitationCancelled => "invitation.revoked",
            AuditAction::InvitationAccepted => "invitation.accepted",
            AuditAction::InvitationRefused => "invitation.refused",
            AuditAction::MemberAutoJoined => "member.auto_joined",
            AuditAction::RoleChanged => "member.role_changed",
            AuditAction::MemberRemoved => "member.removed",
            AuditAction::MemberLeft => "member.left",
            AuditAction::OwnershipTransferred => "ownership.transferred",
            AuditAction::WorkspaceCreated => "workspace.created",
            AuditAction::WorkspaceRenamed => "workspace.renamed",
            AuditAction::WorkspaceMoved => "workspace.moved",
            AuditAction::WorkspaceDeleted => "workspace.deleted",
            AuditAction::WorkspaceOwnershipTransferred => "workspace.ownership_transferred",
            AuditAction::WorkspaceRoleGranted => "workspace.role_granted",
            AuditAction::WorkspaceRoleRemoved => "workspace.role_revoked",
            AuditAction::ProductCreated => "product.created",
            AuditAction::ProductEdited => "product.updated",
            AuditAction::ProductDeleted => "product.deleted",
            AuditAction::ProductOwnerChanged => "product.owner_changed",
            AuditAction::ProductAccessRestricted => "product_access.restricted",
            AuditAction::ProductAccessUnrestricted => "product_access.unrestricted",
            AuditAction::ProductAccessChanged => "product_access.changed",
            AuditAction::ProductAccessBulkGranted => "product_access.bulk_granted",
            AuditAction::PasswordReset => "account.password_reset",
            AuditAction::EmailConfirmed => "account.email_verified",
            AuditAction::ApiKeyCreated => "api_key.created",
            AuditAction::ApiKeyRevoked => "api_key.revoked",
            AuditAction::ApiKeyExpired => "api_key.expired",
            AuditAction::ModuleAdded => "module.added",
            AuditAction::ModuleRemoved => "module.removed",
            AuditAction::CustomRoleCreated => "custom_role.created",
            AuditAction::CustomRoleEdited => "custom_role.updated",
            AuditAction::CustomRoleDeleted => "custom_role.deleted",
            AuditAction::CustomRoleGranted => "custom_role.granted",
            AuditAction::CustomRoleRevoked => "custom_role.revoked",
            AuditAction::InvitationLinkCopied => "invitation.link_copied",
            AuditAction::NameChanged => "account.name_changed",
            AuditAction::EmailChangeRequested => "account.email_change_requested",
            AuditAction::EmailChanged => "account.email_changed",
            AuditAction::SeatLimitChanged => "settings.seat_limit_changed",
            AuditAction::SignedIn => "account.signed_in",
            AuditAction::SignInFailed => "account.sign_in_failed",
            AuditAction::PasswordChanged => "account.password_changed",
            AuditAction::TwoFactorEnabled => "account.two_factor_enabled",
            AuditAction::TwoFactorDisabled => "account.two_factor_disabled",
            AuditAction::RecoveryCodeUsed => "account.recovery_code_used",
            AuditAction::RecoveryCodesRenewed => "account.recovery_codes_renewed",
            AuditAction::SessionEnded => "account.session_ended",
            AuditAction::SignedOutEverywhere => "account.signed_out_everywhere",
            AuditAction::MemberSignedOut => "member.signed_out",
            AuditAction::SecuritySettingsChanged => "settings.security_changed",
        }
    }

    /// The words people read.
    pub fn label(self) -> &'static str {
        match self {
            AuditAction::OrganizationCreated => "Organization created",
            AuditAction::OrganizationDeleted => "Organization deleted",
            AuditAction::SettingsChanged => "Settings changed",
            AuditAction::AutoJoinChanged => "Auto-join changed",
            AuditAction::AutoJoinDomainVerified => "Auto-join domain verified",
            AuditAction::InvitationSent => "Invitation sent",
            AuditAction::InvitationResent => "Invitation resent",
            AuditAction::InvitationCancelled => "Invitation cancelled",
            AuditAction::InvitationAccepted => "Invitation accepted",
            AuditAction::InvitationRefused => "Invitation refused at acceptance",
            AuditAction::MemberAutoJoined => "Joined by domain",
            AuditAction::RoleChanged => "Role changed",
            AuditAction::MemberRemoved => "Member removed",
            AuditAction::MemberLeft => "Member left",
            AuditAction::OwnershipTransferred => "Ownership transferred",
            AuditAction::WorkspaceCreated => "Workspace created",
            AuditAction::WorkspaceRenamed => "Workspace renamed",
            AuditAction::WorkspaceMoved => "Workspace moved",
            AuditAction::WorkspaceDeleted => "Workspace deleted",
            AuditAction::WorkspaceOwnershipTransferred => "Workspace ownership transferred",
            AuditAction::WorkspaceRoleGranted => "Workspace role granted",
            AuditAction::WorkspaceRoleRemoved => "Workspace role removed",
            AuditAction::ProductCreated => "Product created",
            AuditAction::ProductEdited => "Product edited",
            AuditAction::ProductDeleted => "Product deleted",
            AuditAction::ProductOwnerChanged => "Product owner changed",
            AuditAction::ProductAccessRestricted => "Product access restricted",
            AuditAction::ProductAccessUnrestricted => "Product access unrestricted",
            AuditAction::ProductAccessChanged => "Product access changed",
            AuditAction::ProductAccessBulkGranted => "Product access granted in bulk",
            AuditAction::PasswordReset => "Password reset",
            AuditAction::EmailConfirmed => "Email confirmed",
            AuditAction::ApiKeyCreated => "API key created",
            AuditAction::ApiKeyRevoked => "API key revoked",
            AuditAction::ApiKeyExpired => "API key expired",
            AuditAction::ModuleAdded => "Module added",
            AuditAction::ModuleRemoved => "Module removed",
            AuditAction::CustomRoleCreated => "Custom role created",
            AuditAction::CustomRoleEdited => "Custom role edited",
            AuditAction::CustomRoleDeleted => "Custom role deleted",
            AuditAction::CustomRoleGranted => "Custom role granted",
            AuditAction::CustomRoleRevoked => "Custom role taken away",
            AuditAction::InvitationLinkCopied => "Invitation link copied",
            AuditAction::NameChanged => "Name changed",
            AuditAction::EmailChangeRequested => "Email change requested",
            AuditAction::EmailChanged => "Email address changed",
            AuditAction::SeatLimitChanged => "Seat limit changed",
            AuditAction::SignedIn => "Signed in",
            AuditAction::SignInFailed => "Sign-in failed",
            AuditAction::PasswordChanged => "Password changed",
            AuditAction::TwoFactorEnabled => "Two-factor turned on",
            AuditAction::TwoFactorDisabled => "Two-factor turned off",
            AuditAction::RecoveryCodeUsed => "Recovery code used",
            AuditAction::RecoveryCodesRenewed => "New recovery codes",
            AuditAction::SessionEnded => "Session ended",
            AuditAction::SignedOutEverywhere => "Signed out everywhere",
            AuditAction::MemberSignedOut => "Member signed out everywhere",
            AuditAction::SecuritySettingsChanged => "Security settings changed",
        }
    }

    /// The action stored as `name`, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// One change to record.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub org_id: Option<&'a str>,
    pub action: AuditAction,
    pub target_type: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub target_label: Option<&'a str>,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl<'a> Entry<'a> {
    /// An entry about `target_type` `label` (id `target_id`) that was
    /// created: the label is the after-value. [`Entry::as_deletion`] makes
    /// it the before-value instead.
    pub fn naming(
        org_id: &'a str,
        action: AuditAction,
        target_type: &'a str,
        target_id: &'a str,
        label: &'a str,
    ) -> Self {
        Entry {
            org_id: Some(org_id),
            action,
            target_type: Some(target_type),
            target_id: Some(target_id),
            target_label: Some(label),
            before: None,
            after: Some(label.to_string()),
        }
    }

    /// The same entry about something deleted: its label is what it was.
    pub fn as_deletion(self) -> Self {
        Entry {
            before: self.after.clone(),
            after: None,
            ..self
        }
    }
}

pub async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    entry: Entry<'_>,
    now: i64,
) -> anyhow::Result<()> {
    audit_event::ActiveModel {
        id: Set(super::new_id()),
        org_id: Set(entry.org_id.map(str::to_string)),
        actor_user_id: Set(actor.user_id.clone()),
        actor_label: Set(actor.label.clone()),
        action: Set(entry.action.as_str().to_string()),
        target_type: Set(entry.target_type.map(str::to_string)),
        target_id: Set(entry.target_id.map(str::to_string)),
        target_label: Set(entry.target_label.map(str::to_string)),
        before_value: Set(entry.before),
        after_value: Set(entry.after),
        address: Set(actor.address.clone()),
        created_at: Set(now),
    }
    .insert(conn)
    .await
    .with_context(|| {
        format!(
            "failed to write the audit row for {}",
            entry.action.as_str()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_has_its_own_stored_name_and_words() {
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
            let same_name = AuditAction::ALL
                .iter()
                .filter(|a| a.as_str() == action.as_str() || a.label() == action.label())
                .count();
            assert_eq!(same_name, 1, "{action:?}");
        }
        assert_eq!(AuditAction::parse("member.exploded"), None);
    }
}
