//! History: `GET /api/history` (newest first, filters, signed cursors), `GET /api/analysis/{id}`
//! in the caller's plan view, and `DELETE /api/analysis/{id}`. Another account's id answers 404,
//! exactly as a missing one.

use backend_core::auth::require_session;
use backend_core::clock::now_epoch;
use backend_core::highlevel::WorkflowId;
use backend_core::http::request::{path_param, query};
use backend_core::http::{ApiError, Reply, Route};
use backend_core::plans;
use backend_core::store::cursor;
use backend_core::store::results::{AnalysisId, HistoryFilter};
use backend_core::App;
use lambda_http::Request;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use workflow_analyzer::{AnalysisResult, Grade};

/// The function's routes, each bound to its handler.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/history", history),
        Route::get("/api/analysis/{id}", get),
        Route::delete("/api/analysis/{id}", delete),
    ]
}

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

fn invalid(param: &str, message: &str) -> ApiError {
    ApiError::Validation {
        message: format!("{param}: {message}"),
        details: vec![json!({ "parameter": param })],
    }
}

/// `from`/`to` as RFC 3339 times or `YYYY-MM-DD` dates (UTC), in milliseconds.
fn time_param(req: &Request, name: &str, end_of_day: bool) -> Result<Option<i64>, ApiError> {
    let Some(raw) = query(req, name) else {
        return Ok(None);
    };
    let parsed = OffsetDateTime::parse(&raw, &Rfc3339).ok().or_else(|| {
        let date = time::Date::parse(
            &raw,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .ok()?;
        let time = if end_of_day {
            time::Time::from_hms_milli(23, 59, 59, 999).ok()?
        } else {
            time::Time::MIDNIGHT
        };
        Some(date.with_time(time).assume_utc())
    });
    // Ids hold 13-digit milliseconds: clamp so a far-future bound keeps the key order.
    parsed
        .map(|t| Some(((t.unix_timestamp_nanos() / 1_000_000) as i64).clamp(0, 9_999_999_999_999)))
        .ok_or_else(|| invalid(name, "must be an RFC 3339 time or a YYYY-MM-DD date"))
}

fn filter_of(req: &Request) -> Result<HistoryFilter, ApiError> {
    let workflow_id = query(req, "workflowId")
        .map(|id| WorkflowId::parse(&id).map_err(|err| invalid("workflowId", &err.to_string())))
        .transpose()?;
    let grade = query(req, "grade")
        .map(|g| {
            serde_json::from_value::<Grade>(json!(g))
                .map(|_| g)
                .map_err(|_| {
                    invalid(
                        "grade",
                        "must be one of Excellent, Good, Fair, Poor, Critical",
                    )
                })
        })
        .transpose()?;
    let from_ms = time_param(req, "from", false)?;
    let to_ms = time_param(req, "to", true)?;
    if let (Some(from), Some(to)) = (from_ms, to_ms) {
        if from > to {
            return Err(invalid("from", "must not be after to"));
        }
    }
    Ok(HistoryFilter {
        workflow_id,
        grade,
        from_ms,
        to_ms,
    })
}

/// The filters in one canonical string: a cursor is valid only under the filters it came from.
fn scope(filter: &HistoryFilter) -> String {
    serde_json::to_string(filter).unwrap_or_default()
}

async fn history(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    let location = &session.location_id;
    let limit = match query(req, "limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                invalid(
                    "limit",
                    &format!("must be an integer from 1 to {MAX_LIMIT}"),
                )
            })?,
    };
    let filter = filter_of(req)?;
    let scope = scope(&filter);
    let key = app.secrets.token_key().await?;
    let key = &*key;
    let start = query(req, "cursor")
        .map(|c| {
            cursor::decode(key, location, &scope, &c)
                .ok_or_else(|| invalid("cursor", "is not valid for this account and these filters"))
        })
        .transpose()?;
    let (items, next) = app
        .results()
        .list(location, &filter, limit, start, now_epoch())
        .await?;
    let next_cursor = next.map(|page| cursor::encode(key, location, &scope, page));
    Reply::ok(&json!({ "items": items, "nextCursor": next_cursor, "limit": limit }))
}

async fn get(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    let id = AnalysisId::parse(path_param(req, "id"))?;
    let now = now_epoch();
    let stored = app
        .results()
        .get(&session.location_id, &id, now)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such analysis".into()))?;
    let result: AnalysisResult = serde_json::from_value(stored.result)
        .map_err(|e| ApiError::Internal(format!("stored result unreadable: {e}")))?;
    let plan = app.accounts().plan(&session.location_id, now).await?;
    Reply::ok(&json!({
        "analysisId": stored.summary.id,
        "createdAt": stored.summary.created_at,
        "workflowId": stored.summary.workflow_id,
        "workflowName": stored.summary.workflow_name,
        "result": plans::view(&result, plan),
    }))
}

async fn delete(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    let id = AnalysisId::parse(path_param(req, "id"))?;
    if app
        .results()
        .delete(&session.location_id, &id, now_epoch())
        .await?
    {
        Ok(Reply::no_content())
    } else {
        Err(ApiError::NotFound("no such analysis".into()))
    }
}
