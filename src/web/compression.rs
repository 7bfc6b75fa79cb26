//! Compressed responses: pages, the stylesheet and htmx go out brotli- or
//! gzip-encoded as the client's `Accept-Encoding` allows (actix-web's
//! `Compress`, which already leaves images other than SVG alone). Two small
//! steps sit around it:
//! - [`keep_small`] (inside) leaves bodies under [`MIN_BYTES`] as they are:
//!   compressing a few bytes makes them longer and costs a little work;
//! - [`vary`] (outside) says `Vary: Accept-Encoding` on every response.
//!   `Compress` says it only on the responses it encodes, but a cache must
//!   also know that an uncompressed answer depended on the request's
//!   `Accept-Encoding` (a 304 and a file sent to a client that asked for
//!   none included).

use actix_web::Error;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{Compress, Next};

/// Bodies shorter than this are sent as they are.
pub const MIN_BYTES: u64 = 512;

/// `Compress` passes over a response that already names its encoding; a
/// small body is marked so, and [`vary`] takes the mark off again.
const KEEP: HeaderValue = HeaderValue::from_static("identity");

/// The compressing middleware (brotli and gzip are the features built in).
pub fn compress() -> Compress {
    Compress::default()
}

/// Marks a small body (or none) so `Compress` leaves it alone.
pub async fn keep_small(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut response = next.call(req).await?;
    let small = match response.response().body().size() {
        BodySize::None => true,
        BodySize::Sized(len) => len < MIN_BYTES,
        BodySize::Stream => false,
    };
    let headers = response.headers_mut();
    if small && !headers.contains_key(header::CONTENT_ENCODING) {
        headers.insert(header::CONTENT_ENCODING, KEEP);
    }
    Ok(response)
}

/// Takes off [`keep_small`]'s mark and says `Vary: Accept-Encoding` once.
pub async fn vary(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    if headers.get(header::CONTENT_ENCODING) == Some(&KEEP) {
        headers.remove(header::CONTENT_ENCODING);
    }
    let said = headers.get_all(header::VARY).any(|value| {
        value.to_str().is_ok_and(|list| {
            list.split(',')
                .any(|name| name.trim().eq_ignore_ascii_case("accept-encoding"))
        })
    });
    if !said {
        headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    Ok(response)
}
