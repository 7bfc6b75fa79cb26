//! Static files (CSS, vendored htmx) embedded in the binary. URLs carry a
//! content hash, so responses can be cached for a year; the ETag answers
//! revalidation with 304.

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::Embed;

use super::errors::AppError;

#[derive(Embed)]
#[folder = "$CARGO_MANIFEST_DIR/static"]
struct Assets;

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
    let path = path.into_inner();
    let file = Assets::get(&path).ok_or(AppError::NotFound)?;
    let etag = format!("\"{}\"", hex(&file.metadata.sha256_hash()));
    let not_modified = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if not_modified {
        HttpResponse::NotModified().finish()
    } else {
        let mime = mime_guess::from_path(&path).first_or_octet_stream();
        HttpResponse::Ok()
            .content_type(mime.as_ref())
            .body(file.data.into_owned())
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}
