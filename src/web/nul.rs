//! Refuses any request that carries a NUL character — in the path, the
//! query or a urlencoded form — with 400 before a handler sees it. No
//! address, name or id Roster accepts can contain NUL, PostgreSQL text
//! cannot store it (a query with one fails), and browsers never send it:
//! checking here keeps every route, present and future, from answering 500
//! to it.

use actix_web::Error;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use super::api::problem::ApiError;
use super::csrf::{peek_body, peek_form};
use super::errors::AppError;

const MESSAGE: &str = "The request contains a NUL character, which Roster does not accept. \
     Go back, check what you entered and try again.";
const API_MESSAGE: &str = "The request contains a NUL character, which Roster does not accept.";

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let api = super::api::is_api_path(req.path());
    let refuse = |req: ServiceRequest| {
        if api {
            req.error_response(ApiError::BadRequest(API_MESSAGE.into()))
        } else {
            req.error_response(AppError::bad_request(MESSAGE))
        }
    };
    let uri = req.uri();
    if has_nul(uri.path().as_bytes()) || uri.query().is_some_and(|q| has_nul(q.as_bytes())) {
        return Ok(refuse(req).map_into_right_body());
    }
    if api {
        // JSON spells NUL `\u0000`.
        match peek_body(&mut req).await {
            Ok(body) if body.contains(&0) || has_json_nul(&body) => {
                return Ok(refuse(req).map_into_right_body());
            }
            Ok(_) => {}
            Err(_) => {
                let too_large =
                    ApiError::BadRequest("The body is larger than Roster reads (64 KiB).".into());
                return Ok(req.error_response(too_large).map_into_right_body());
            }
        }
    } else {
        match peek_form(&mut req).await {
            Ok(Some(body)) if has_nul(&body) => {
                return Ok(refuse(req).map_into_right_body());
            }
            Ok(_) => {}
            Err(err) => return Ok(req.error_response(err).map_into_right_body()),
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Whether a JSON text holds the escape of a NUL character.
fn has_json_nul(body: &[u8]) -> bool {
    body.windows(6)
        .any(|w| w[0] == b'\\' && w[1] == b'u' && w[2..].eq_ignore_ascii_case(b"0000"))
}

/// Whether percent-decoding `raw` (a path, a query or a form body) yields
/// a NUL: a raw zero byte or `%00`.
fn has_nul(raw: &[u8]) -> bool {
    raw.contains(&0) || raw.windows(3).any(|w| w == b"%00")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nul_raw_or_encoded_only() {
        assert!(has_nul(b"email=a%00b"));
        assert!(has_nul(b"email=a\0b"));
        assert!(has_nul(b"/orgs/%00/members"));
        assert!(!has_nul(b"email=a%2500b&n=100"));
        assert!(!has_nul(b"q=%0A%20"));
        assert!(!has_nul(b""));
    }
}
