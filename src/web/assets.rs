//! Static files (CSS, vendored htmx, the icon) embedded in the binary.
//! URLs carry a content hash, so responses can be cached for a year; the
//! ETag answers revalidation with 304. `/favicon.ico`, the one address
//! browsers ask for by name, has no hash and is cached for a week.
//!
//! The ETag is weak (`W/"…"`): the compression middleware sends the same
//! file gzip- or brotli-encoded as the client accepts, and a strong tag
//! would claim those bytes are identical. `If-None-Match` compares weakly,
//! so a revalidation answers 304 whichever encoding the cache holds.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::Embed;

use super::errors::AppError;

#[derive(Embed)]
#[folder = "$CARGO_MANIFEST_DIR/static"]
struct Assets;

/// Versioned URLs never change content.
const CACHE_VERSIONED: &str = "public, max-age=31536000, immutable";
/// `/favicon.ico` keeps its address when the icon changes.
const CACHE_FAVICON: &str = "public, max-age=604800";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cache-busting URL of an embedded file.
pub fn url(path: &str) -> String {
    static URLS: OnceLock<HashMap<String, String>> = OnceLock::new();
    let urls = URLS.get_or_init(|| {
        Assets::iter()
            .filter_map(|p| {
                let file = Assets::get(&p)?;
                let hash = hex(&file.metadata.sha256_hash());
                Some((p.to_string(), format!("/static/{p}?v={}", &hash[..12])))
            })
            .collect()
    });
    urls.get(path)
        .cloned()
        .unwrap_or_else(|| format!("/static/{path}"))
}

pub async fn serve(req: HttpRequest, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    respond(&req, &path.into_inner(), CACHE_VERSIONED)
}

/// `/favicon.ico`: browsers ask for it whatever the page links to.
pub async fn favicon(req: HttpRequest) -> Result<HttpResponse, AppError> {
    respond(&req, "favicon.ico", CACHE_FAVICON)
}

fn respond(
    req: &HttpRequest,
    path: &str,
    cache_control: &'static str,
) -> Result<HttpResponse, AppError> {
    let file = Assets::get(path).ok_or(AppError::NotFound)?;
    let opaque = format!("\"{}\"", hex(&file.metadata.sha256_hash()));
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches_weakly(v, &opaque));
    let mut response = if not_modified {
        HttpResponse::NotModified().finish()
    } else {
        let mime = mime_guess::from_path(path).first_or_octet_stream();
        HttpResponse::Ok()
            .content_type(mime.as_ref())
            .body(file.data.into_owned())
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("W/{opaque}")) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    Ok(response)
}

/// Whether an `If-None-Match` list names `opaque` (a quoted tag), weak or
/// strong, or is `*`.
fn matches_weakly(if_none_match: &str, opaque: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == opaque)
}

#[cfg(test)]
mod tests {
    use super::matches_weakly;

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(matches_weakly("W/\"ab\"", "\"ab\""));
        assert!(matches_weakly("\"ab\"", "\"ab\""));
        assert!(matches_weakly("\"x\", W/\"ab\"", "\"ab\""));
        assert!(matches_weakly("*", "\"ab\""));
        assert!(!matches_weakly("W/\"abc\"", "\"ab\""));
        assert!(!matches_weakly("", "\"ab\""));
    }
}
