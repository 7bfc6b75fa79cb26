//! CSRF protection: every request that is not GET/HEAD/OPTIONS must carry
//! the session's token, either in the `X-CSRF-Token` header (htmx sends it
//! from `hx-headers`) or in the `csrf_token` field of a urlencoded form.
//! The form body is read here (within the configured size cap) and put back
//! for the handler.

use actix_session::SessionExt;
use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::web::Bytes;

use super::errors::AppError;
use super::session;
use crate::domain::token;

pub const HEADER: &str = "X-CSRF-Token";
pub const FIELD: &str = "csrf_token";

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    // The API reads no cookie (only its Bearer key), so a forged
    // cross-site request carries nothing that authenticates it.
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || crate::web::api::is_api_path(req.path())
    {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let Some(expected) = session::stored_csrf_token(&req.get_session()) else {
        return Ok(req.error_response(AppError::Csrf).map_into_right_body());
    };
    let from_header = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|sent| token::equal(sent, &expected));
    let valid = if from_header {
        true
    } else {
        match peek_form(&mut req).await {
            Ok(Some(body)) => form_token(&body).is_some_and(|sent| token::equal(&sent, &expected)),
            Ok(None) => false,
            Err(err) => return Ok(req.error_response(err).map_into_right_body()),
        }
    };
    if !valid {
        return Ok(req.error_response(AppError::Csrf).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// A urlencoded body, read within the size cap and put back for the next
/// reader (the handler's form extractor); `None` for any other body.
pub(super) async fn peek_form(req: &mut ServiceRequest) -> Result<Option<Bytes>, Error> {
    if !is_urlencoded(req) {
        return Ok(None);
    }
    let body = req.extract::<Bytes>().await?;
    req.set_payload(bytes_to_payload(body.clone()));
    Ok(Some(body))
}

/// Any body, read within the size cap and put back for the next reader.
pub(super) async fn peek_body(req: &mut ServiceRequest) -> Result<Bytes, Error> {
    let body = req.extract::<Bytes>().await?;
    req.set_payload(bytes_to_payload(body.clone()));
    Ok(body)
}

fn is_urlencoded(req: &ServiceRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// The first `csrf_token` field of a urlencoded body.
fn form_token(body: &[u8]) -> Option<String> {
    form_urlencoded_pairs(body)
        .into_iter()
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v)
}

fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body).unwrap_or_default()
}

fn bytes_to_payload(body: Bytes) -> Payload {
    let (_, mut payload) = actix_http::h1::Payload::create(true);
    payload.unread_data(body);
    Payload::from(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_among_fields() {
        assert_eq!(
            form_token(b"name=Ada&csrf_token=abc%2B1&x=2").as_deref(),
            Some("abc+1")
        );
        assert_eq!(form_token(b"name=Ada"), None);
        assert_eq!(form_token(b"\xff\xfe"), None);
    }
}
