//! Two-factor codes (RFC 6238: SHA-1, six digits, 30-second steps, one
//! step of clock drift either way) computed by `totp-rs`, the set-up URI
//! and QR code an authenticator app reads, and recovery codes.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use qrcode::QrCode;
use qrcode::render::svg;
use totp_rs::{Algorithm, Secret, TOTP};

use super::token;

/// Seconds per code.
pub const STEP_SECS: i64 = 30;
const DIGITS: usize = 6;
/// Steps of drift accepted on each side of the server's.
const SKEW_STEPS: i64 = 1;
/// Recovery codes issued at once.
pub const RECOVERY_CODES: usize = 10;
/// Recovery codes use letters and digits that cannot be mistaken for each
/// other when read aloud or copied by hand.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A fresh 160-bit secret (RFC 4226's recommended length), in base32.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    OsRng.fill_bytes(&mut bytes);
    match Secret::Raw(bytes.to_vec()).to_encoded() {
        Secret::Encoded(encoded) => encoded,
        Secret::Raw(_) => unreachable!("to_encoded always encodes"),
    }
}

fn totp(secret: &str) -> anyhow::Result<TOTP> {
    let bytes = Secret::Encoded(secret.to_string())
        .to_bytes()
        .map_err(|err| anyhow::anyhow!("a stored two-factor secret is not base32: {err:?}"))?;
    TOTP::new(Algorithm::SHA1, DIGITS, 0, STEP_SECS as u64, bytes)
        .map_err(|err| anyhow::anyhow!("a stored two-factor secret is unusable: {err}"))
}

/// The 30-second step `now` falls in.
pub fn step_of(now: i64) -> i64 {
    now.div_euclid(STEP_SECS)
}

/// The step whose code `code` is, among the steps around `now`, newest
/// first; `None` when it is none of them. Spaces are ignored, so a code
/// copied as "123 456" works.
pub fn matching_step(secret: &str, code: &str, now: i64) -> anyhow::Result<Option<i64>> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(secret)?;
    let current = step_of(now);
    for step in (current - SKEW_STEPS..=current + SKEW_STEPS).rev() {
        let Ok(at) = u64::try_from(step * STEP_SECS) else {
            continue;
        };
        if token::equal(&totp.generate(at), &code) {
            return Ok(Some(step));
        }
    }
    Ok(None)
}

/// The `otpauth://` URI authenticator apps read from the QR code.
pub fn setup_uri(secret: &str, account: &str) -> String {
    let issuer = "Roster";
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        account = percent_encode(account),
    )
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The QR code of `uri` as an SVG `data:` URI, for an `<img>` the
/// Content-Security-Policy (`img-src 'self' data:`) allows.
pub fn qr_data_uri(uri: &str) -> anyhow::Result<String> {
    let code = QrCode::new(uri.as_bytes())
        .map_err(|err| anyhow::anyhow!("failed to make the set-up QR code: {err}"))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        STANDARD.encode(image)
    ))
}

/// The secret in groups of four, easier to type into an app by hand.
pub fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Ten fresh recovery codes, as shown: `xxxxx-xxxxx` (about 49 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            OsRng.fill_bytes(&mut bytes);
            let chars: String = bytes
                .iter()
                .map(|b| RECOVERY_ALPHABET[usize::from(*b) % RECOVERY_ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A typed recovery code in the form it is hashed in: lowercase, without
/// the hyphen and spaces; `None` when it cannot be one.
pub fn normalize_recovery_code(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    (code.len() == 10 && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b))).then_some(code)
}

/// The stored form of a recovery code.
pub fn recovery_hash(code: &str) -> Option<String> {
    normalize_recovery_code(code).map(|normal| token::hash(&normal))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 test vectors, truncated to six digits.
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let secret = match Secret::Raw(b"12345678901234567890".to_vec()).to_encoded() {
            Secret::Encoded(s) => s,
            Secret::Raw(_) => unreachable!(),
        };
        assert_eq!(matching_step(&secret, "287082", 59).unwrap(), Some(1));
        assert_eq!(
            matching_step(&secret, "081804", 1_111_111_109).unwrap(),
            Some(37_037_036)
        );
        assert_eq!(
            matching_step(&secret, "050471", 1_111_111_111).unwrap(),
            Some(37_037_037)
        );
        assert_eq!(matching_step(&secret, "000000", 59).unwrap(), None);
        assert_eq!(matching_step(&secret, "28708", 59).unwrap(), None);
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code_at = |t: i64| totp(&secret).unwrap().generate(t as u64);
        assert!(
            matching_step(&secret, &code_at(now - 30), now)
                .unwrap()
                .is_some()
        );
        assert!(
            matching_step(&secret, &code_at(now + 30), now)
                .unwrap()
                .is_some()
        );
        assert_eq!(
            matching_step(&secret, &code_at(now - 90), now).unwrap(),
            None
        );
        let spaced = format!("{} {}", &code_at(now)[..3], &code_at(now)[3..]);
        assert_eq!(
            matching_step(&secret, &spaced, now).unwrap(),
            Some(step_of(now))
        );
    }

    #[test]
    fn secrets_are_160_bits_of_base32() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32);
        assert_ne!(secret, new_secret());
    }

    #[test]
    fn recovery_codes_are_typed_forgivingly() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let code = &codes[0];
        assert_eq!(code.len(), 11);
        let hash = recovery_hash(code).unwrap();
        assert_eq!(recovery_hash(&code.to_uppercase()), Some(hash.clone()));
        assert_eq!(recovery_hash(&code.replace('-', "")), Some(hash));
        assert_eq!(recovery_hash("12345"), None);
        assert_eq!(recovery_hash("abcde-fghi1"), None);
    }

    #[test]
    fn the_setup_uri_names_roster_and_the_account() {
        let uri = setup_uri("JBSWY3DPEHPK3PXP", "ann+x@example.com");
        assert!(
            uri.starts_with("otpauth://totp/Roster:ann%2Bx%40example.com?secret=JBSWY3DPEHPK3PXP")
        );
        assert!(
            qr_data_uri(&uri)
                .unwrap()
                .starts_with("data:image/svg+xml;base64,")
        );
    }
}
