//! A validated email address. Once parsed it is known good and shown as
//! stored: trimmed, at most 254 characters, one `@`, no invisible
//! character anywhere, a plain-ASCII local part and a domain in its
//! UTS-46 (IDNA) ASCII form.
//!
//! Why so strict: an address is how colleagues recognise a person, so two
//! addresses that look the same must be the same address.
//! - Invisible characters (zero-width spaces and joiners, direction
//!   overrides, …) are refused with a message that names them, rather
//!   than silently dropped, so what a person pasted is never quietly
//!   changed.
//! - The local part is RFC 5322 `atext` in ASCII. Roster does not offer
//!   SMTPUTF8 addresses: every mail server takes ASCII local parts, and
//!   Unicode ones bring look-alikes (the Kelvin sign `K`, Cyrillic `а`)
//!   with no standard normalization to tell them apart.
//! - The domain goes through UTS-46 processing (the `idna` crate, as
//!   browsers and mail software do): mapped characters such as the Kelvin
//!   sign or full-width letters become what they stand for, and a Unicode
//!   domain is stored and shown as its punycode `xn--` form, so a
//!   homograph never reaches a page looking like the real domain.

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

const INVALID: &str = "Enter an email address like name@example.com.";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress {
    display: String,
    normalized: String,
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, String> {
        let email = input.trim();
        if email.is_empty() {
            return Err("Enter an email address.".into());
        }
        if email.chars().count() > 254 {
            return Err("That email address is too long.".into());
        }
        if let Some(c) = email.chars().find(|c| is_invisible(*c)) {
            return Err(format!(
                "This address contains an invisible or look-alike character ({}). \
                 Type the address again rather than pasting it.",
                code_point(c)
            ));
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(INVALID.into());
        };
        if let Some(c) = local.chars().find(|c| !c.is_ascii()) {
            return Err(format!(
                "This address contains an invisible or look-alike character ({}) before \
                 the @. Use only plain letters a–z, digits and . _ - + there.",
                code_point(c)
            ));
        }
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(is_atext_or_dot);
        if !local_ok {
            return Err(INVALID.into());
        }
        let domain = ascii_domain(domain).ok_or(INVALID)?;
        let display = format!("{local}@{domain}");
        if display.len() > 254 {
            return Err("That email address is too long.".into());
        }
        Ok(Self {
            normalized: display.to_ascii_lowercase(),
            display,
        })
    }

    /// As stored and shown: the local part as typed, the domain in its
    /// lower-case ASCII (punycode) form.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The form stored for uniqueness and look-ups: lower-cased.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The part after the `@`, lower-cased ASCII.
    pub fn domain(&self) -> &str {
        self.normalized
            .rsplit_once('@')
            .map(|(_, domain)| domain)
            .unwrap_or_default()
    }
}

/// The normalized form of a string that may not be a valid address, for
/// look-ups (sign-in, rate-limit buckets) that must not reveal validity:
/// a valid address finds its account whatever form of its domain was
/// typed; anything else is only trimmed and lower-cased (and matches no
/// account, since every stored address is valid).
pub fn normalize_lookup(input: &str) -> String {
    match EmailAddress::parse(input) {
        Ok(email) => email.normalized,
        Err(_) => input.trim().to_lowercase(),
    }
}

/// `input` with every invisible character spelled out as `[U+200B]`, to
/// show a refused address as it really is.
pub fn reveal(input: &str) -> String {
    input
        .chars()
        .map(|c| {
            if is_invisible(c) {
                format!("[{}]", code_point(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The domain in UTS-46 ASCII form, if it is a valid DNS name of at least
/// two labels made of letters, digits and inner hyphens.
fn ascii_domain(domain: &str) -> Option<String> {
    let ascii = Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Verify,
        )
        .ok()?;
    let labels: Vec<&str> = ascii.split('.').collect();
    let valid = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    valid.then(|| ascii.into_owned())
}

/// RFC 5322 `atext` (ASCII letters, digits and these symbols) or a dot.
fn is_atext_or_dot(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)
}

/// Characters that show nothing or change how the text around them is
/// shown: controls, Unicode's Default_Ignorable_Code_Point set (zero-width
/// spaces and joiners, bidirectional marks and overrides, variation
/// selectors, Hangul fillers, tags), other format characters and blanks
/// that are not whitespace.
fn is_invisible(c: char) -> bool {
    c.is_control()
        || (c.is_whitespace() && c != ' ')
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_normalizes_case() {
        let email = EmailAddress::parse("  Ada.Lovelace+roster@Example.ORG ").unwrap();
        assert_eq!(email.as_str(), "Ada.Lovelace+roster@example.org");
        assert_eq!(email.normalized(), "ada.lovelace+roster@example.org");
        assert_eq!(email.domain(), "example.org");
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "   ",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a b@example.com",
            "a@exa mple.com",
            "a@-example.com",
            "a@example..com",
            ".a@example.com",
            "a<script>@example.com",
            "a\u{0}@example.com",
            "a@exa_mple.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn invisible_and_look_alike_characters_are_refused_or_shown_as_stored() {
        // (input, Err(the code point named) or Ok(what is stored and shown))
        let table: [(&str, Result<&str, &str>); 12] = [
            ("b\u{200B}ob@acme.test", Err("U+200B")),
            ("bob@ac\u{200B}me.test", Err("U+200B")),
            ("b\u{200D}ob@acme.test", Err("U+200D")),
            ("bob@acme\u{200C}.test", Err("U+200C")),
            ("\u{202E}tset.emca@bob", Err("U+202E")),
            ("bob@acme.test\u{2066}", Err("U+2066")),
            ("bob\u{FEFF}@acme.test", Err("U+FEFF")),
            ("bob@acme.te\u{00AD}st", Err("U+00AD")),
            ("\u{212A}im@acme.test", Err("U+212A")),
            ("b\u{043E}b@acme.test", Err("U+043E")),
            // In the domain, UTS-46 maps the Kelvin sign to `k`.
            ("kim@\u{212A}ite.test", Ok("kim@kite.test")),
            // Cyrillic `а` in the domain: stored and shown as punycode.
            ("bob@\u{0430}cme.test", Ok("bob@xn--cme-5cd.test")),
        ];
        for (input, expected) in table {
            match (EmailAddress::parse(input), expected) {
                (Err(message), Err(code_point)) => {
                    assert!(
                        message.contains("invisible or look-alike character")
                            && message.contains(code_point),
                        "{input:?}: {message}"
                    );
                }
                (Ok(email), Ok(shown)) => {
                    assert_eq!(email.as_str(), shown, "{input:?}");
                    assert_eq!(email.normalized(), shown, "{input:?}");
                    assert!(email.as_str().is_ascii());
                    // The stored form parses to itself: shown equals stored.
                    assert_eq!(EmailAddress::parse(shown).unwrap(), email);
                }
                (got, expected) => panic!("{input:?}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn refused_input_is_revealed() {
        assert_eq!(reveal("b\u{200B}ob@acme.test"), "b[U+200B]ob@acme.test");
        assert_eq!(reveal("bob@acme.test"), "bob@acme.test");
    }

    #[test]
    fn look_ups_find_the_stored_form() {
        assert_eq!(normalize_lookup(" Bob@Acme.TEST "), "bob@acme.test");
        assert_eq!(normalize_lookup("kim@\u{212A}ite.test"), "kim@kite.test");
        assert_eq!(
            normalize_lookup("bob@\u{0430}cme.test"),
            "bob@xn--cme-5cd.test"
        );
        // Not an address: trimmed and lower-cased, matching no account.
        assert_eq!(
            normalize_lookup("b\u{200B}ob@acme.test"),
            "b\u{200B}ob@acme.test"
        );
    }
}
