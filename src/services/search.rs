//! Searching text columns for a fragment the person typed, literally: the
//! LIKE wildcards in it match themselves.

use sea_orm::sea_query::LikeExpr;

/// `%fragment%` with `%`, `_` and `\` escaped.
pub(crate) fn escape_like(fragment: &str) -> String {
    let mut out = String::with_capacity(fragment.len() + 2);
    out.push('%');
    for c in fragment.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A LIKE pattern matching text that contains `fragment` literally.
pub fn contains(fragment: &str) -> LikeExpr {
    LikeExpr::new(escape_like(fragment)).escape('\\')
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(escape_like("ada"), "%ada%");
        assert_eq!(escape_like("50%_x\\"), "%50\\%\\_x\\\\%");
    }
}
