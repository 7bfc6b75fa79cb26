//! Mail bodies: askama templates under `templates/emails/`, a text and an
//! HTML part for each message.

use askama::Template;

use super::outbox::NewMessage;

pub const INVITATION_KIND: &str = "invitation";
pub const RESET_KIND: &str = "password_reset";
pub const VERIFY_KIND: &str = "verify_email";
/// Someone tried to sign up with an address that has an account.
pub const SIGN_UP_ATTEMPT_KIND: &str = "sign_up_attempt";
pub const EMAIL_CHANGE_KIND: &str = "email_change";
pub const EMAIL_CHANGE_NOTICE_KIND: &str = "email_change_notice";

#[derive(Template)]
#[template(path = "emails/invitation.txt")]
struct InvitationText<'a> {
    org_name: &'a str,
    inviter: &'a str,
    role: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "emails/invitation.html")]
struct InvitationHtml<'a> {
    org_name: &'a str,
    inviter: &'a str,
    role: &'a str,
    link: &'a str,
    expires: &'a str,
}

/// What an invitation message says.
pub struct Invitation<'a> {
    pub org_id: &'a str,
    pub org_name: &'a str,
    pub inviter: &'a str,
    pub role: &'a str,
    pub recipient: &'a str,
    pub link: &'a str,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A Unix timestamp as `2026-11-30 14:05 UTC`.
pub fn date_time(ts: i64) -> String {
    use time::macros::format_description;
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

impl Invitation<'_> {
    pub fn subject(&self) -> String {
        format!(
            "{} invited you to {} on Roster",
            self.inviter, self.org_name
        )
    }

    /// The message, ready for the outbox.
    pub fn render<'s>(&'s self, subject: &'s str) -> anyhow::Result<NewMessage<'s>> {
        let expires = date_time(self.expires_at);
        let body_text = InvitationText {
            org_name: self.org_name,
            inviter: self.inviter,
            role: self.role,
            link: self.link,
            expires: &expires,
        }
        .render()?;
        let body_html = InvitationHtml {
            org_name: self.org_name,
            inviter: self.inviter,
            role: self.role,
            link: self.link,
            expires: &expires,
        }
        .render()?;
        Ok(NewMessage {
            kind: INVITATION_KIND,
            org_id: Some(self.org_id),
            recipient: self.recipient,
            subject,
            body_text,
            body_html,
        })
    }
}

#[derive(Template)]
#[template(path = "emails/reset_password.txt")]
struct ResetText<'a> {
    name: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "emails/reset_password.html")]
struct ResetHtml<'a> {
    name: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "emails/verify_email.txt")]
struct VerifyText<'a> {
    name: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "emails/verify_email.html")]
struct VerifyHtml<'a> {
    name: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "emails/sign_up_attempt.txt")]
struct SignUpAttemptText<'a> {
    name: &'a str,
    when: &'a str,
    sign_in_link: &'a str,
    reset_link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/sign_up_attempt.html")]
struct SignUpAttemptHtml<'a> {
    name: &'a str,
    when: &'a str,
    sign_in_link: &'a str,
    reset_link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/email_change.txt")]
struct EmailChangeText<'a> {
    name: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "emails/email_change.html")]
struct EmailChangeHtml<'a> {
    name: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "emails/email_change_notice.txt")]
struct EmailChangeNoticeText<'a> {
    name: &'a str,
    new_email: &'a str,
    account_link: &'a str,
}

#[derive(Template)]
#[template(path = "emails/email_change_notice.html")]
struct EmailChangeNoticeHtml<'a> {
    name: &'a str,
    new_email: &'a str,
    account_link: &'a str,
}

/// A message about the person's own account (reset, verification). It has
/// no organization, so no Mailbox page ever shows it.
pub struct AccountMessage {
    kind: &'static str,
    subject: &'static str,
    body_text: String,
    body_html: String,
}

impl AccountMessage {
    pub fn reset(name: &str, link: &str, expires_at: i64) -> Self {
        let expires = date_time(expires_at);
        let (text, html) = (
            ResetText {
                name,
                link,
                expires: &expires,
            }
            .render(),
            ResetHtml {
                name,
                link,
                expires: &expires,
            }
            .render(),
        );
        Self::of(RESET_KIND, "Reset your Roster password", text, html)
    }

    pub fn verify(name: &str, link: &str, expires_at: i64) -> Self {
        let expires = date_time(expires_at);
        let (text, html) = (
            VerifyText {
                name,
                link,
                expires: &expires,
            }
            .render(),
            VerifyHtml {
                name,
                link,
                expires: &expires,
            }
            .render(),
        );
        Self::of(
            VERIFY_KIND,
            "Confirm your email address for Roster",
            text,
            html,
        )
    }

    /// Tells an account's owner that someone tried to sign up with their
    /// address (the sign-up page answers as if it were new). The links are
    /// the sign-in and forgot-password pages, not one-time links: anyone
    /// can make Roster send this, so it must not replace a reset link the
    /// owner asked for.
    pub fn sign_up_attempt(name: &str, base_url: &str, at: i64) -> Self {
        let when = date_time(at);
        let sign_in_link = format!("{base_url}/signin");
        let reset_link = format!("{base_url}/password/forgot");
        let (text, html) = (
            SignUpAttemptText {
                name,
                when: &when,
                sign_in_link: &sign_in_link,
                reset_link: &reset_link,
            }
            .render(),
            SignUpAttemptHtml {
                name,
                when: &when,
                sign_in_link: &sign_in_link,
                reset_link: &reset_link,
            }
            .render(),
        );
        Self::of(
            SIGN_UP_ATTEMPT_KIND,
            "Someone tried to sign up to Roster with your address",
            text,
            html,
        )
    }

    /// The link that confirms a new address, sent to that address.
    pub fn email_change(name: &str, link: &str, expires_at: i64) -> Self {
        let expires = date_time(expires_at);
        let (text, html) = (
            EmailChangeText {
                name,
                link,
                expires: &expires,
            }
            .render(),
            EmailChangeHtml {
                name,
                link,
                expires: &expires,
            }
            .render(),
        );
        Self::of(
            EMAIL_CHANGE_KIND,
            "Confirm your new email address for Roster",
            text,
            html,
        )
    }

    /// Tells the current address that a change to `new_email` waits for
    /// confirmation.
    pub fn email_change_notice(name: &str, new_email: &str, base_url: &str) -> Self {
        let account_link = format!("{base_url}/account");
        let (text, html) = (
            EmailChangeNoticeText {
                name,
                new_email,
                account_link: &account_link,
            }
            .render(),
            EmailChangeNoticeHtml {
                name,
                new_email,
                account_link: &account_link,
            }
            .render(),
        );
        Self::of(
            EMAIL_CHANGE_NOTICE_KIND,
            "Your Roster email address may change",
            text,
            html,
        )
    }

    fn of(
        kind: &'static str,
        subject: &'static str,
        text: askama::Result<String>,
        html: askama::Result<String>,
    ) -> Self {
        // A template that fails to render leaves an empty part; `render`
        // refuses to queue it.
        AccountMessage {
            kind,
            subject,
            body_text: text.unwrap_or_default(),
            body_html: html.unwrap_or_default(),
        }
    }

    /// The message for `recipient`, ready for the outbox.
    pub fn render<'a>(&'a self, recipient: &'a str) -> anyhow::Result<NewMessage<'a>> {
        if self.body_text.is_empty() || self.body_html.is_empty() {
            anyhow::bail!("the {} message did not render", self.kind);
        }
        Ok(NewMessage {
            kind: self.kind,
            org_id: None,
            recipient,
            subject: self.subject,
            body_text: self.body_text.clone(),
            body_html: self.body_html.clone(),
        })
    }
}
