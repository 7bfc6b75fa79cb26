//! API key secrets and the rules of a key's name and lifetime.
//!
//! A secret reads `roster_`, then 40 base62 characters of randomness (238
//! bits), then 6 base62 characters of the CRC-32 of those 40. The prefix
//! lets secret scanners find a leaked key; the checksum lets Roster refuse
//! a mistyped or truncated key before it reads the database. Only the
//! SHA-256 of the whole secret is stored: the secret has far more entropy
//! than a password, so a fast hash is the right one and verifying a key
//! costs one hash and one indexed read, not an argon2 computation.

use argon2::password_hash::rand_core::{OsRng, RngCore};

pub const PREFIX: &str = "roster_";
const RANDOM_CHARS: usize = 40;
const CHECKSUM_CHARS: usize = 6;
/// The length of every secret.
pub const SECRET_LEN: usize = PREFIX.len() + RANDOM_CHARS + CHECKSUM_CHARS;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The longest key name.
pub const MAX_NAME_CHARS: usize = 80;
/// The longest a key may live.
pub const MAX_LIFETIME_DAYS: i64 = 365;
/// The lifetimes the form offers.
pub const LIFETIME_CHOICES: [i64; 3] = [30, 90, 365];
const DAY_SECS: i64 = 24 * 60 * 60;

/// A new secret, to be shown once.
pub fn generate() -> String {
    let mut random = String::with_capacity(RANDOM_CHARS);
    let mut byte = [0u8; 1];
    while random.len() < RANDOM_CHARS {
        OsRng.fill_bytes(&mut byte);
        // 248 = 4 × 62: rejecting the rest keeps every character equally likely.
        if byte[0] < 248 {
            random.push(char::from(BASE62[usize::from(byte[0] % 62)]));
        }
    }
    let checksum = checksum(&random);
    format!("{PREFIX}{random}{checksum}")
}

fn checksum(random: &str) -> String {
    let mut value = u64::from(crc32fast::hash(random.as_bytes()));
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[usize::try_from(value % 62).unwrap_or(0)];
        value /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a presented secret is not even a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// It does not start with `roster_` or has the wrong length or characters.
    Shape,
    /// Its checksum does not match: mistyped or truncated.
    Checksum,
}

/// Checks a presented secret's shape and checksum, with no database read.
pub fn check(secret: &str) -> Result<(), Malformed> {
    let body = secret.strip_prefix(PREFIX).ok_or(Malformed::Shape)?;
    if secret.len() != SECRET_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Malformed::Shape);
    }
    let (random, sum) = body.split_at(RANDOM_CHARS);
    if super::token::equal(&checksum(random), sum) {
        Ok(())
    } else {
        Err(Malformed::Checksum)
    }
}

/// The stored form of a secret.
pub fn hash(secret: &str) -> String {
    super::token::hash(secret)
}

/// The last four characters, which lists show.
pub fn last4(secret: &str) -> String {
    secret
        .get(secret.len().saturating_sub(4)..)
        .unwrap_or_default()
        .to_string()
}

/// A key's name: trimmed, 1 to 80 characters, no control characters.
pub fn parse_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    if name.is_empty() {
        return Err("Give the key a name, such as the script that will use it.".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("Use at most {MAX_NAME_CHARS} characters."));
    }
    if name.chars().any(char::is_control) {
        return Err("Use letters, digits, spaces and punctuation only.".into());
    }
    Ok(name.to_string())
}

/// When a key made at `now` expires: in `days` (1 to 365), or at the end
/// of a date no further than a year away, given as Unix seconds at that
/// date's start (UTC).
pub fn expiry(now: i64, days: Option<i64>, date_start: Option<i64>) -> Result<i64, String> {
    let latest = now + MAX_LIFETIME_DAYS * DAY_SECS;
    let expires = match (days, date_start) {
        (Some(days), None) if (1..=MAX_LIFETIME_DAYS).contains(&days) => now + days * DAY_SECS,
        (Some(_), None) => {
            return Err(format!(
                "Choose a lifetime of 1 to {MAX_LIFETIME_DAYS} days."
            ));
        }
        (None, Some(start)) => start + DAY_SECS,
        (Some(_), Some(_)) => return Err("Choose a lifetime or a date, not both.".into()),
        (None, None) => return Err("Choose when the key expires: every key must.".into()),
    };
    if expires <= now {
        return Err("Choose a date after today.".into());
    }
    if expires > latest + DAY_SECS {
        return Err("A key lives at most one year: choose a date within a year from today.".into());
    }
    Ok(expires.min(latest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_secret_has_the_prefix_the_length_and_a_valid_checksum() {
        let secret = generate();
        assert!(secret.starts_with("roster_"));
        assert_eq!(secret.len(), SECRET_LEN);
        assert_eq!(check(&secret), Ok(()));
        assert_ne!(generate(), secret);
    }

    #[test]
    fn a_mistyped_or_truncated_secret_is_refused_without_a_lookup() {
        let secret = generate();
        let mut chars: Vec<char> = secret.chars().collect();
        let i = PREFIX.len() + 3;
        chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(check(&typo), Err(Malformed::Checksum));
        assert_eq!(check(&secret[..secret.len() - 1]), Err(Malformed::Shape));
        assert_eq!(check("ghp_0123"), Err(Malformed::Shape));
        assert_eq!(
            check(&secret.replace("roster_", "roster-")),
            Err(Malformed::Shape)
        );
    }

    #[test]
    fn lifetimes_must_be_set_and_at_most_a_year() {
        let now = 1_000_000;
        assert_eq!(expiry(now, Some(30), None), Ok(now + 30 * DAY_SECS));
        assert!(expiry(now, None, None).is_err());
        assert!(expiry(now, Some(366), None).is_err());
        assert!(expiry(now, Some(0), None).is_err());
        assert!(expiry(now, None, Some(now + 400 * DAY_SECS)).is_err());
        assert!(expiry(now, None, Some(now - 2 * DAY_SECS)).is_err());
        assert!(expiry(now, None, Some(now + 10 * DAY_SECS)).is_ok());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(parse_name("  HR sync "), Ok("HR sync".to_string()));
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"x".repeat(81)).is_err());
        assert!(parse_name("a\u{7}b").is_err());
    }
}
