//! Compressed responses: pages, the stylesheet and htmx go out gzip- or
//! brotli-encoded as the client's `Accept-Encoding` allows (actix-web's
//! `Compress`, which already leaves images other than SVG alone). Three
//! small steps sit around it:
//! - [`prefer_gzip`] (outside) answers a client that takes gzip with gzip,
//!   even when it takes brotli too (as every browser does). `Compress`
//!   encodes brotli at quality 3 with a 4 MiB window, per response: the
//!   members page (84 KB) cost about 2 ms of CPU and several megabytes
//!   of memory that way, so 32 browsers at once served 800 pages a second
//!   with a p99 of half a second and a peak RSS of 614 MB, against 1,988
//!   pages a second, 22 ms and 93 MB with gzip (bench/README.md); brotli
//!   saved 1.5 KB a page. A client that takes brotli alone still gets it.
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

/// Rewrites a request's `Accept-Encoding` to `gzip` when it accepts gzip,
/// so that `Compress` never picks brotli over it (see the module's notes).
pub async fn prefer_gzip(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let takes_gzip = req
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|value| value.to_str().ok())
        .any(accepts_gzip);
    if takes_gzip {
        req.headers_mut()
            .insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
    }
    next.call(req).await
}

/// Whether an `Accept-Encoding` list accepts gzip (named, with no `q=0`).
fn accepts_gzip(list: &str) -> bool {
    list.split(',').any(|item| {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let refused = parts.any(|param| {
            param
                .trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip")) && !refused
    })
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

#[cfg(test)]
mod tests {
    use super::accepts_gzip;

    #[test]
    fn gzip_is_taken_when_named_and_not_refused() {
        assert!(accepts_gzip("gzip, deflate, br, zstd"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.8"));
        assert!(accepts_gzip("x-gzip"));
        assert!(!accepts_gzip("br"));
        assert!(!accepts_gzip("br, gzip;q=0"));
        assert!(!accepts_gzip("identity"));
        assert!(!accepts_gzip("gzipped"));
    }
}
