//! Free and disposable email providers, which auto-join refuses: nobody's
//! organization controls gmail.com, so nobody may offer to welcome every
//! address there. The list ships with Roster (`free_mail_domains.txt`,
//! whose header names its source, version and licence).

use std::collections::HashSet;
use std::sync::OnceLock;

const LIST: &str = include_str!("free_mail_domains.txt");

/// Entries of the list that are registry suffixes where anyone may register
/// a name of their own (`acme.net.ua`): only the suffix itself is refused,
/// not the organizations' domains beneath it.
const REGISTRY_SUFFIXES: &[&str] = &["net.ua"];

fn providers() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        LIST.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect()
    })
}

/// Whether `domain` (lower-case, as parsed) is a free email provider's, or
/// lies beneath one (`mail.gmail.com`, `x.yahoo.com`): the provider runs
/// its subdomains too.
pub fn is_free_mail(domain: &str) -> bool {
    let providers = providers();
    if providers.contains(domain) {
        return true;
    }
    let mut rest = domain;
    while let Some((_, parent)) = rest.split_once('.') {
        if providers.contains(parent) && !REGISTRY_SUFFIXES.contains(&parent) {
            return true;
        }
        rest = parent;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_big_providers_are_refused() {
        for domain in [
            "gmail.com",
            "googlemail.com",
            "outlook.com",
            "hotmail.com",
            "yahoo.com",
            "icloud.com",
            "protonmail.com",
            "gmx.de",
            "mail.ru",
            "yandex.ru",
        ] {
            assert!(is_free_mail(domain), "{domain}");
        }
    }

    #[test]
    fn their_subdomains_are_refused_too() {
        assert!(is_free_mail("mail.gmail.com"));
        assert!(is_free_mail("a.b.yahoo.com"));
    }

    #[test]
    fn organizations_domains_pass() {
        for domain in [
            "acme.test",
            "example.com",
            "gmail.com.acme.test",
            "notgmail.com",
            "acme.net.ua",
        ] {
            assert!(!is_free_mail(domain), "{domain}");
        }
        assert!(is_free_mail("net.ua"), "the suffix itself is no one's");
    }

    #[test]
    fn the_list_is_loaded_whole_and_without_its_header() {
        assert!(providers().len() > 10_000);
        assert!(
            providers()
                .iter()
                .all(|d| !d.starts_with('#') && d.contains('.'))
        );
    }
}
