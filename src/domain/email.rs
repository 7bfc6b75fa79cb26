//! A validated email address. Once parsed it is known good: trimmed,
//! at most 254 characters, one `@`, a plausible domain.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress {
    display: String,
    normalized: String,
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let email = input.trim();
        if email.is_empty() {
            return Err("Enter an email address.");
        }
        if email.chars().count() > 254 {
            return Err("That email address is too long.");
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err("Enter an email address like name@example.com.");
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| !c.is_control() && !c.is_whitespace() && !"@<>()[]\\,;:\"".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err("Enter an email address like name@example.com.");
        }
        Ok(Self {
            display: email.to_string(),
            normalized: email.to_lowercase(),
        })
    }

    /// As the person typed it (trimmed).
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The form stored for uniqueness and look-ups: lower-cased.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The part after the `@`, lower-cased.
    pub fn domain(&self) -> &str {
        self.normalized
            .rsplit_once('@')
            .map(|(_, domain)| domain)
            .unwrap_or_default()
    }
}

/// The normalized form of a string that may not be a valid address, for
/// look-ups (sign-in, rate-limit buckets) that must not reveal validity.
pub fn normalize_lookup(input: &str) -> String {
    input.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_normalizes_case() {
        let email = EmailAddress::parse("  Ada.Lovelace+roster@Example.ORG ").unwrap();
        assert_eq!(email.as_str(), "Ada.Lovelace+roster@Example.ORG");
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
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }
}
