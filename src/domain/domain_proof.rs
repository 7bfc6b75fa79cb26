//! What proves that an organization controls an auto-join domain: a TXT
//! record at `_roster-verification.<domain>` whose text is
//! `roster-verification=<token>`, the token being the organization's own
//! random value for that domain. A name of its own (rather than the
//! domain's apex) keeps the record out of the way of SPF and other TXT
//! records there, and lets a DNS admin delegate just that name.

use super::token;

/// The label under which the record is published.
pub const RECORD_LABEL: &str = "_roster-verification";
/// What the record's text starts with.
pub const VALUE_PREFIX: &str = "roster-verification=";

/// The name to publish the TXT record at, e.g.
/// `_roster-verification.acme.example`.
pub fn record_name(domain: &str) -> String {
    format!("{RECORD_LABEL}.{domain}")
}

/// The text the record must hold.
pub fn record_value(token: &str) -> String {
    format!("{VALUE_PREFIX}{token}")
}

/// Whether one of the TXT texts found is the expected value. Surrounding
/// blanks and the prefix's case are forgiven (DNS consoles differ); the
/// token must match exactly. An empty token never matches.
pub fn proves(texts: &[String], expected_token: &str) -> bool {
    if expected_token.is_empty() {
        return false;
    }
    texts.iter().any(|text| {
        let text = text.trim().trim_matches('"').trim();
        text.len() > VALUE_PREFIX.len()
            && text.is_char_boundary(VALUE_PREFIX.len())
            && text[..VALUE_PREFIX.len()].eq_ignore_ascii_case(VALUE_PREFIX)
            && token::equal(text[VALUE_PREFIX.len()..].trim(), expected_token)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_is_named_under_its_own_label() {
        assert_eq!(
            record_name("acme.example"),
            "_roster-verification.acme.example"
        );
        assert_eq!(record_value("abc"), "roster-verification=abc");
    }

    #[test]
    fn only_the_exact_token_proves() {
        let found = |t: &str| vec!["v=spf1 -all".to_string(), t.to_string()];
        assert!(proves(&found("roster-verification=abc"), "abc"));
        assert!(proves(&found(" Roster-Verification=abc "), "abc"));
        assert!(proves(&found("\"roster-verification=abc\""), "abc"));
        assert!(!proves(&found("roster-verification=abd"), "abc"));
        assert!(!proves(&found("roster-verification=ABC"), "abc"));
        assert!(!proves(&found("roster-verification=abcd"), "abc"));
        assert!(!proves(&found("abc"), "abc"));
        assert!(!proves(&found("roster-verification="), ""));
        assert!(!proves(&[], "abc"));
        assert!(!proves(&found("é"), "abc"), "no panic on a multi-byte text");
    }
}
