//! History: `GET /api/history` (newest first, filters, signed cursors), `GET /api/analysis/{id}`
//! in the caller's plan view, its HTML report (`/report`) and its diff against another analysis
//! (`/diff`), and `DELETE /api/analysis/{id}`. Another account's id answers 404, exactly as a
//! missing one.

use backend_core::auth::{require_session, LocationId};
use backend_core::clock::now_epoch;
use backend_core::comparison;
use backend_core::highlevel::WorkflowId;
use backend_core::http::request::{path_param, query};
use backend_core::http::{ApiError, Reply, Route};
use backend_core::plans::{self, Plan};
use backend_core::store::cursor;
use backend_core::store::results::{AnalysisId, HistoryFilter, StoredAnalysis};
use backend_core::App;
use lambda_http::http::header::CONTENT_DISPOSITION;
use lambda_http::Request;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use workflow_analyzer::{
    self as analysis, compare, html_report_view, AnalysisResult, Grade, Input, WorkflowMeta,
};

/// The function's routes, each bound to its handler.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/history", history),
        Route::get("/api/analysis/{id}", get),
        Route::delete("/api/analysis/{id}", delete),
        Route::get("/api/analysis/{id}/report", report),
        Route::get("/api/analysis/{id}/diff", diff),
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

/// One analysis of the caller's account (another account's is absent: 404) with its result.
async fn stored_analysis(
    app: &App,
    location: &LocationId,
    id: &AnalysisId,
    now: i64,
) -> Result<(StoredAnalysis, AnalysisResult), ApiError> {
    let mut stored = app
        .results()
        .get(location, id, now)
        .await?
        .ok_or_else(|| ApiError::NotFound("no such analysis".into()))?;
    let result = read_result(&mut stored)?;
    Ok((stored, result))
}

fn read_result(stored: &mut StoredAnalysis) -> Result<AnalysisResult, ApiError> {
    serde_json::from_value(stored.result.take())
        .map_err(|e| ApiError::Internal(format!("stored result unreadable: {e}")))
}

async fn get(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    let id = AnalysisId::parse(path_param(req, "id"))?;
    let now = now_epoch();
    let (stored, result) = stored_analysis(app, &session.location_id, &id, now).await?;
    let plan = app.accounts().plan(&session.location_id, now).await?;
    let mut body = json!({
        "analysisId": stored.summary.id,
        "createdAt": stored.summary.created_at,
        "workflowId": stored.summary.workflow_id,
        "workflowName": stored.summary.workflow_name,
        "result": plans::view(&result, plan),
    });
    if let Some(compared) = &stored.summary.compared {
        body["compared"] = json!(compared);
    }
    Reply::ok(&body)
}

/// The analysis as the self-contained HTML report the CLI writes (`workflow-audit --format
/// html`), in the caller's plan view: Pro sees every issue and, when the workflow was analyzed
/// before, each marked new or unchanged against the previous analysis with the fixed ones
/// listed; Free sees its top issues. Served under the report's own CSP (no script, no request).
async fn report(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    let location = &session.location_id;
    let id = AnalysisId::parse(path_param(req, "id"))?;
    let now = now_epoch();
    let (stored, result) = stored_analysis(app, location, &id, now).await?;
    let plan = app.accounts().plan(location, now).await?;
    let comparison = match plan {
        Plan::Pro => previous_of(app, location, &stored, &id, now)
            .await?
            .map(|(_, previous)| compare(&result, &comparison::baseline_for(&result, &previous))),
        Plan::Free => None,
    };
    let input = match &stored.definition {
        Some(definition) => analysis::parse(definition)
            .map_err(|e| ApiError::Internal(format!("stored definition no longer parses: {e}")))?,
        // A metadata-only analysis: the workflow without steps (nothing to draw).
        None => {
            let (workflow_id, name) = result
                .workflow
                .as_ref()
                .map(|w| (w.id.clone(), w.name.clone()))
                .unwrap_or_default();
            Input::Single(
                WorkflowMeta {
                    id: workflow_id,
                    name,
                    ..WorkflowMeta::default()
                }
                .to_workflow(),
            )
        }
    };
    let page = html_report_view(&result, &input, comparison.as_ref(), plan.detail());
    report_reply(page, &id)
}

/// Largest report page sent. Lambda answers at most 6 MB synchronously, the page travelling as
/// an escaped JSON string with its headers; the report is linear in the analysis but a huge
/// bundle could pass that.
pub const MAX_REPORT_BYTES: usize = 5 * 1024 * 1024;

fn report_reply(page: String, id: &AnalysisId) -> Result<Reply, ApiError> {
    if page.len() > MAX_REPORT_BYTES {
        return Err(ApiError::Conflict(format!(
            "the report of this analysis is {} bytes, more than the {MAX_REPORT_BYTES} the API sends; write it with `workflow-audit FILE --format html` from the definition",
            page.len()
        )));
    }
    Reply::html(page).header(
        CONTENT_DISPOSITION,
        &format!("inline; filename=\"workflow-audit-{}.html\"", id.as_str()),
    )
}

/// The previous live analysis of the stored analysis's workflow (made before `id`), read whole,
/// when it analyzed the same kind of input: a metadata-only analysis runs a handful of rules, so
/// against a full one every other issue would read as new or fixed.
async fn previous_of(
    app: &App,
    location: &LocationId,
    stored: &StoredAnalysis,
    id: &AnalysisId,
    now: i64,
) -> Result<Option<(StoredAnalysis, AnalysisResult)>, ApiError> {
    let Some(workflow_id) = stored
        .summary
        .workflow_id
        .as_deref()
        .and_then(|w| WorkflowId::parse(w).ok())
    else {
        return Ok(None);
    };
    let Some(mut previous) = app
        .results()
        .previous_for_workflow(location, &workflow_id, id, now)
        .await?
    else {
        return Ok(None);
    };
    if previous.definition.is_some() != stored.definition.is_some() {
        return Ok(None);
    }
    let result = read_result(&mut previous)?;
    Ok(Some((previous, result)))
}

/// The analysis's issues as new, unchanged or fixed against another analysis of the account
/// (`against`; by default the previous analysis of the same workflow), by the analyzer's
/// fingerprints. The free plan sees at most its top issues in each list.
async fn diff(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    let location = &session.location_id;
    let id = AnalysisId::parse(path_param(req, "id"))?;
    let now = now_epoch();
    let (stored, result) = stored_analysis(app, location, &id, now).await?;
    let (other, other_result) = match query(req, "against") {
        Some(raw) => {
            let against =
                AnalysisId::parse(&raw).map_err(|_| invalid("against", "is not an analysis id"))?;
            let mut other = app
                .results()
                .get(location, &against, now)
                .await?
                .ok_or_else(|| ApiError::NotFound("no such analysis to compare against".into()))?;
            let other_result = read_result(&mut other)?;
            (other, other_result)
        }
        None => previous_of(app, location, &stored, &id, now)
            .await?
            .ok_or_else(|| {
                ApiError::Conflict(match &stored.summary.workflow_id {
                    Some(workflow) => format!(
                        "analysis {} has no earlier analysis of workflow {workflow} of the same kind (a definition, or metadata only) to compare it with; name one with ?against=",
                        id.as_str()
                    ),
                    None => format!(
                        "analysis {} is not of one identified workflow: name the analysis to compare it with (?against=)",
                        id.as_str()
                    ),
                })
            })?,
    };
    let plan = app.accounts().plan(location, now).await?;
    let mut body = json!(comparison::diff(&result, &other_result, plan));
    body["analysisId"] = json!(stored.summary.id);
    body["against"] = json!({
        "analysisId": other.summary.id,
        "createdAt": other.summary.created_at,
        "workflowId": other.summary.workflow_id,
        "healthScore": other.summary.health_score,
    });
    body["healthScore"] = json!(result.health_score);
    body["plan"] = json!(plan);
    Reply::ok(&body)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_too_large_for_a_lambda_response_is_refused_in_the_envelope() {
        let id = AnalysisId::generate(1_795_471_200_000);
        let fits = report_reply("x".repeat(MAX_REPORT_BYTES), &id);
        assert!(fits.is_ok());
        let refused = report_reply("x".repeat(MAX_REPORT_BYTES + 1), &id);
        assert!(matches!(refused, Err(ApiError::Conflict(_))));
    }
}
