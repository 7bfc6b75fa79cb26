//! Formatting for display.

use time::OffsetDateTime;
use time::macros::format_description;

/// A Unix timestamp as `2026-11-22` (UTC).
pub fn date(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(format_description!("[year]-[month]-[day]")).ok())
        .unwrap_or_default()
}

/// A Unix timestamp as `2026-11-22 14:03 UTC`.
pub fn date_time(ts: i64) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// A person's product access in one phrase, for lists and exports:
/// "All products", "Their workspaces' products", "Restricted: 3 products".
pub fn product_access(
    role: crate::domain::role::OrgRole,
    summary: crate::services::product_access::Summary,
) -> String {
    use crate::domain::role::OrgRole;
    if !crate::services::product_access::restrictable(role) {
        return "All products (cannot be restricted)".into();
    }
    if !summary.restricted {
        return if role == OrgRole::None {
            "Products of their workspaces".into()
        } else {
            "All products".into()
        };
    }
    match summary.grants {
        0 => "Restricted: no products".into(),
        1 => "Restricted: 1 product".into(),
        n => format!("Restricted: {n} products"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_dates() {
        assert_eq!(super::date(1_795_348_800), "2026-11-22");
    }
}
