//! Mail bodies: askama templates under `templates/emails/`, a text and an
//! HTML part for each message.

use askama::Template;

use super::outbox::NewMessage;

pub const INVITATION_KIND: &str = "invitation";

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
