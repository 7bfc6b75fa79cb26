//! Password rules (length, not among the commonest) and argon2id hashing.
//! Hashing and verifying are CPU-heavy: callers run them on a blocking
//! thread.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 256;

const COMMON: &str = include_str!("common_passwords.txt");

/// A password that meets the rules for a new password.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let chars = input.chars().count();
        if chars < MIN_CHARS {
            return Err("Use at least 8 characters.");
        }
        if chars > MAX_CHARS {
            return Err("Use at most 256 characters.");
        }
        if is_common(input) {
            return Err("That password is one of the most common ones; choose another.");
        }
        Ok(Self(input.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword([redacted])")
    }
}

fn is_common(input: &str) -> bool {
    let lowered = input.to_lowercase();
    COMMON
        .lines()
        .filter(|line| !line.starts_with('#'))
        .any(|line| line.trim() == lowered)
}

/// argon2id v19 with the OWASP minimum: m = 19 MiB, t = 2, p = 1.
fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Hashes a password into a PHC string.
pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(hasher()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a stored PHC string; `None` verifies against
/// a dummy hash so an unknown account costs the same time as a known one.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let known = stored.is_some();
    let stored = stored.unwrap_or_else(|| dummy_hash());
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let matched = hasher()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matched && known
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    // Hashing cannot fail with these parameters and a generated salt.
    DUMMY.get_or_init(|| hash(&crate::domain::token::generate()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        assert_eq!(
            NewPassword::parse("short").unwrap_err(),
            "Use at least 8 characters."
        );
        assert!(NewPassword::parse("correct horse battery").is_ok());
        assert!(NewPassword::parse(&"x".repeat(128)).is_ok());
        assert!(NewPassword::parse(&"x".repeat(257)).is_err());
        // Eight characters counted as characters, not bytes.
        assert!(NewPassword::parse("ééééééé").is_err());
        assert!(NewPassword::parse("éééééééé").is_ok());
    }

    #[test]
    fn common_passwords_are_refused_whatever_the_case() {
        for common in [
            "password",
            "Password1",
            "12345678",
            "QWERTYUIOP",
            "iloveyou",
        ] {
            assert_eq!(
                NewPassword::parse(common).unwrap_err(),
                "That password is one of the most common ones; choose another."
            );
        }
    }

    #[test]
    fn hash_and_verify() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", Some(&stored)));
        assert!(!verify("wrong horse battery", Some(&stored)));
        assert!(!verify("anything", None));
        assert!(!verify("anything", Some("not a hash")));
    }
}
