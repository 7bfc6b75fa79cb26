//! Password rules and argon2id hashing. Hashing and verifying are
//! CPU-heavy: callers run them on a blocking thread.
//!
//! A new password must be 8 to 256 characters and hard to guess, as
//! estimated by zxcvbn (its dictionaries hold some 30,000 common
//! passwords, names and words, well past the 3,000 most common that OWASP
//! ASVS 5 asks a service to refuse, and it sees keyboard patterns, dates,
//! repeats, l33t and the person's own name and address). It must score
//! at least 3 of 4: a guess count of 10^10 or more, which holds against
//! throttled online guessing by far and against offline guessing of a
//! stolen argon2id hash for a long time; 4 would refuse many decent
//! passphrases for little gain.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use zxcvbn::Score;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 256;

/// The least zxcvbn score a new password must reach (see the module doc).
const MIN_SCORE: Score = Score::Three;

/// A password that meets the rules for a new password.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    /// `about_the_person`: their name and email address, whatever of them
    /// is known here; a password made of them is easy to guess for anyone
    /// who knows the person.
    pub fn parse(input: &str, about_the_person: &[&str]) -> Result<Self, String> {
        let chars = input.chars().count();
        if chars < MIN_CHARS {
            return Err("Use at least 8 characters.".into());
        }
        if chars > MAX_CHARS {
            return Err("Use at most 256 characters.".into());
        }
        let words = personal_words(about_the_person);
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        // zxcvbn reads at most the first 100 characters, so a long
        // password costs no more than a 100-character one.
        let estimate = zxcvbn::zxcvbn(input, &words);
        if estimate.score() < MIN_SCORE {
            return Err(too_guessable(input, &words, estimate.feedback()));
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

/// The person's name and address whole and in pieces (words of the name,
/// the address's local part and its parts), which zxcvbn then treats as
/// a small dictionary of its own.
fn personal_words(about_the_person: &[&str]) -> Vec<String> {
    let mut words = Vec::new();
    for text in about_the_person {
        let text = text.trim().to_lowercase();
        if text.is_empty() {
            continue;
        }
        if let Some((local, _)) = text.split_once('@') {
            words.push(local.to_string());
        }
        words.extend(
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|piece| piece.chars().count() >= 3)
                .map(str::to_string),
        );
        words.push(text);
    }
    words.sort_unstable();
    words.dedup();
    words
}

/// Why the password was refused and what to do instead, from zxcvbn's
/// feedback.
fn too_guessable(
    input: &str,
    words: &[&str],
    feedback: Option<&zxcvbn::feedback::Feedback>,
) -> String {
    let lowered = input.to_lowercase();
    let personal = words
        .iter()
        .any(|word| word.chars().count() >= 4 && lowered.contains(word));
    let warning = if personal {
        "This password contains your name or email address, which others know.".to_string()
    } else {
        feedback
            .and_then(|f| f.warning())
            .map(|w| w.to_string())
            .unwrap_or_else(|| "This password would be easy to guess.".to_string())
    };
    let mut advice: Vec<String> = feedback
        .map(|f| f.suggestions().iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    if advice.is_empty() {
        advice.push("Add another word or two. Uncommon words are better.".to_string());
    }
    format!("{warning} {}", advice.join(" "))
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
            NewPassword::parse("short", &[]).unwrap_err(),
            "Use at least 8 characters."
        );
        assert!(NewPassword::parse("correct horse battery staple", &[]).is_ok());
        assert!(NewPassword::parse(&"x".repeat(257), &[]).is_err());
        // Eight characters counted as characters, not bytes.
        assert_eq!(
            NewPassword::parse("ééééééé", &[]).unwrap_err(),
            "Use at least 8 characters."
        );
    }

    #[test]
    fn guessable_passwords_are_refused_with_the_reason_and_what_to_do() {
        for weak in [
            "password",
            "Password1",
            "password123",
            "Summer2024!",
            "12345678",
            "QWERTYUIOP",
            "iloveyou",
            "qwertyuiop123",
            "P@ssw0rd!",
            &"x".repeat(128),
        ] {
            let message = NewPassword::parse(weak, &[]).unwrap_err();
            assert!(
                message.contains("Add another word or two"),
                "{weak}: {message}"
            );
        }
        assert_eq!(
            NewPassword::parse("password123", &[]).unwrap_err(),
            "This is a very common password. \
             Add another word or two. Uncommon words are better."
        );
    }

    #[test]
    fn the_persons_own_name_and_address_are_refused() {
        let about = ["Ada Lovelace", "ada.lovelace@analytical.test"];
        for weak in [
            "ada.lovelace@analytical.test",
            "Ada Lovelace",
            "adalovelace",
            "Ada Lovelace 1815",
        ] {
            let message = NewPassword::parse(weak, &about).unwrap_err();
            assert!(
                message.starts_with("This password contains your name or email address"),
                "{weak}: {message}"
            );
        }
    }

    #[test]
    fn strong_passphrases_pass() {
        for strong in [
            "correct horse battery staple",
            "violet kettle under the stairs",
            "Plum-Orbit-Kestrel-47",
        ] {
            assert!(
                NewPassword::parse(strong, &["Ada Lovelace", "ada@example.com"]).is_ok(),
                "{strong}"
            );
        }
    }

    #[test]
    fn the_longest_password_is_checked_quickly() {
        let long: String = "correct horse battery staple ".repeat(9)[..256].to_string();
        let started = std::time::Instant::now();
        let _ = NewPassword::parse(&long, &["Ada Lovelace", "ada@example.com"]);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
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
