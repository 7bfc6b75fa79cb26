//! `Idempotency-Key` for the API's creating POSTs: the first answer to a
//! key is kept in the database, so a retry with the same key (on any
//! instance) gets that answer again and does nothing twice. A key reused
//! with a different request is refused; one whose first request is still
//! running answers 409. A request that fails keeps nothing, so it can be
//! retried.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth::ApiCtx;
use super::problem::ApiError;
use crate::entities::api_idempotency as kept;

pub const HEADER: &str = "Idempotency-Key";
const MAX_KEY_CHARS: usize = 255;
/// How long a kept answer is replayed.
const KEEP_SECS: i64 = 24 * 60 * 60;

/// Runs `handler` on the JSON body once per `Idempotency-Key`.
pub async fn once<T, R>(
    ctx: &ApiCtx,
    req: &HttpRequest,
    body: &[u8],
    handler: impl AsyncFnOnce(T) -> Result<(StatusCode, R), ApiError>,
) -> Result<HttpResponse, ApiError>
where
    T: DeserializeOwned,
    R: Serialize,
{
    let input = parse_json::<T>(req, body)?;
    let Some(idem) = req.headers().get(HEADER) else {
        let (status, answer) = handler(input).await?;
        return Ok(json(
            status,
            &serde_json::to_string(&answer).unwrap_or_default(),
        ));
    };
    let idem = idem
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_CHARS)
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{HEADER} must be 1 to {MAX_KEY_CHARS} visible ASCII characters."
            ))
        })?
        .to_string();
    let db = &ctx.state.db;
    let now = ctx.state.clock.now();
    let request_hash = crate::domain::token::hash(&format!(
        "{} {}\n{}",
        req.method(),
        req.path(),
        String::from_utf8_lossy(body)
    ));
    let tenant = ctx.acting.tenant();
    let txn = db.begin_in(tenant).await?;
    kept::Entity::delete_many()
        .filter(kept::Column::KeyId.eq(ctx.key.id.as_str()))
        .filter(kept::Column::CreatedAt.lt(now - KEEP_SECS))
        .exec(&txn)
        .await?;
    let claimed = kept::ActiveModel {
        key_id: Set(ctx.key.id.clone()),
        idempotency_key: Set(idem.clone()),
        request_hash: Set(request_hash.clone()),
        status: Set(None),
        body: Set(None),
        created_at: Set(now),
    }
    .insert(&txn)
    .await;
    match claimed {
        Ok(_) => txn.commit().await?,
        Err(err) if crate::services::is_unique_violation(&err) => {
            drop(txn);
            return replay(ctx, &idem, &request_hash).await;
        }
        Err(err) => return Err(err.into()),
    }
    let forget = async || {
        let txn = db.begin_in(tenant).await?;
        kept::Entity::delete_many()
            .filter(kept::Column::KeyId.eq(ctx.key.id.as_str()))
            .filter(kept::Column::IdempotencyKey.eq(idem.as_str()))
            .exec(&txn)
            .await?;
        txn.commit().await
    };
    match handler(input).await {
        Ok((status, answer)) => {
            let text = serde_json::to_string(&answer).unwrap_or_default();
            let txn = db.begin_in(tenant).await?;
            kept::Entity::update_many()
                .col_expr(
                    kept::Column::Status,
                    Expr::value(i32::from(status.as_u16())),
                )
                .col_expr(kept::Column::Body, Expr::value(text.clone()))
                .filter(kept::Column::KeyId.eq(ctx.key.id.as_str()))
                .filter(kept::Column::IdempotencyKey.eq(idem.as_str()))
                .exec(&txn)
                .await?;
            txn.commit().await?;
            Ok(json(status, &text))
        }
        Err(err) => {
            forget().await?;
            Err(err)
        }
    }
}

async fn replay(ctx: &ApiCtx, idem: &str, request_hash: &str) -> Result<HttpResponse, ApiError> {
    let found = kept::Entity::find_by_id((ctx.key.id.clone(), idem.to_string()))
        .one(&ctx.state.db.read_in(ctx.acting.tenant()).await?)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(
                "The first request with this Idempotency-Key is still running.".into(),
            )
        })?;
    if found.request_hash != request_hash {
        return Err(ApiError::field(
            HEADER,
            "This Idempotency-Key was used with a different request; use a new key.",
        ));
    }
    let (Some(status), Some(body)) = (found.status, found.body) else {
        return Err(ApiError::Conflict(
            "The first request with this Idempotency-Key is still running; retry shortly.".into(),
        ));
    };
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut res = json(status, &body);
    res.headers_mut().insert(
        header::HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
    );
    Ok(res)
}

fn json(status: StatusCode, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .body(body.to_string())
}

/// The body as `T`, with the refusals the JSON extractor would give.
fn parse_json<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime_guess::mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == "application"
                && (m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"))
        });
    if !is_json {
        return Err(ApiError::BadRequest(
            "Send the body as JSON, with Content-Type: application/json.".into(),
        ));
    }
    serde_json::from_slice(body).map_err(|err| ApiError::field("body", err.to_string()))
}
