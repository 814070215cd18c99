//! Workflows and analyses: `GET /api/workflows` (the account's workflows from HighLevel),
//! `POST /api/analyze` (run the analyzer under the account's plan and rule settings, attach the
//! fixes, compare with the workflow's previous analysis and keep the result),
//! `GET /api/workflows/{id}/structure` (the React Flow view of the latest analyzed definition)
//! and `GET`/`PUT /api/settings/rules` (the account's rule settings, which analyses apply).
//! In the dev stage only, `/test/...` routes (module `dev`) analyze the bundled samples and open
//! demo sessions.

mod dev;

use std::time::Instant;

use backend_core::auth::{require_session, LocationId};
use backend_core::clock::{format_epoch, now_epoch, now_epoch_ms};
use backend_core::comparison::Compared;
use backend_core::highlevel::WorkflowId;
use backend_core::http::request::{json_bytes, path_param};
use backend_core::http::{ApiError, Reply, Route};
use backend_core::plans::{self, Plan};
use backend_core::settings;
use backend_core::store::results::{AnalysisId, NewAnalysis};
use backend_core::telemetry::metrics::{self, Unit};
use backend_core::App;
use lambda_http::Request;
use serde_json::{json, Value};
use workflow_analyzer::{
    self as analysis, AnalysisResult, AnalyzeOptions, InputError, RuleConfig, WorkflowMeta,
};

/// The function's routes, each bound to its handler; the dev-only ones come from `dev`.
pub fn routes() -> Vec<Route> {
    let mut routes = vec![
        Route::post("/api/analyze", analyze),
        Route::get("/api/workflows", workflows),
        Route::get("/api/workflows/{id}/structure", structure),
        Route::get("/api/settings/rules", get_rule_settings),
        Route::put("/api/settings/rules", put_rule_settings),
    ];
    routes.extend(dev::routes());
    routes
}

/// Largest analyze body: enough for thousands of steps, and the stored (deflated) definition
/// still fits a DynamoDB item.
pub const MAX_ANALYZE_BODY: usize = 2 * 1024 * 1024;

async fn workflows(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    let list = app.highlevel().list_workflows(&session.location_id).await?;
    Reply::ok(&json!({ "workflows": list, "count": list.len() }))
}

/// The analyzer's input errors as API errors: 413 for too large, 400 pointing at the problem.
pub fn input_error(err: InputError) -> ApiError {
    match &err {
        InputError::TooLarge { .. } => ApiError::PayloadTooLarge {
            limit: MAX_ANALYZE_BODY,
        },
        InputError::NotJson { line, column, .. } => ApiError::Validation {
            message: err.to_string(),
            details: vec![json!({ "code": err.code(), "line": line, "column": column })],
        },
        InputError::NotAWorkflow { pointer, .. } => ApiError::Validation {
            message: err.to_string(),
            details: vec![json!({ "code": err.code(), "pointer": pointer })],
        },
    }
}

/// The analysis of one request body, before anything is stored.
pub struct Analysis {
    pub result: AnalysisResult,
    /// The definition to keep for the structure view (absent for metadata-only analyses).
    pub definition: Option<Vec<u8>>,
}

#[tracing::instrument(skip_all)]
async fn analyze(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    let location = session.location_id;
    let now_ms = now_epoch_ms();
    let now = now_ms / 1000;
    app.rate_limits()
        .hit(app.config.rate_limits.analyze, location.as_str(), now)
        .await?;
    let body = json_bytes(req, MAX_ANALYZE_BODY)?;
    // The plan and its quota come first: a free account over its quota is refused before the
    // analyzer runs, and a counted analysis that then fails is given back.
    let account = app
        .accounts()
        .get(&location)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let plan = account.effective_plan(now);
    let opts = AnalyzeOptions {
        now_unix: now,
        rules: settings::rules_for(&account, plan)?,
    };
    let id = AnalysisId::generate(now_ms);
    let accounts = app.accounts();
    let counted = plans::count_analysis(&accounts, &location, plan, id.as_str(), now).await?;
    let analysis = match run_analysis(app, &location, body, &opts).await {
        Ok(analysis) => analysis,
        Err(err) => {
            plans::give_back(&accounts, &location, &counted).await;
            return Err(err);
        }
    };
    let saved = save(app, &location, analysis, plan, &id, &counted, now_ms).await?;
    Reply::created(&saved)
}

/// The analysis a request body asks for: a full definition (with the fixes that apply to it),
/// or `{"workflowId"}` (metadata).
async fn run_analysis(
    app: &App,
    location: &LocationId,
    body: &[u8],
    opts: &AnalyzeOptions,
) -> Result<Analysis, ApiError> {
    Ok(match metadata_request(body)? {
        Some(id) => metadata_analysis(app, location, &WorkflowId::parse(&id)?, opts).await?,
        None => {
            let started = Instant::now();
            let mut result = analysis::analyze(body, opts).map_err(input_error)?;
            // Patches point into the body as it was sent, read again as a JSON value only when
            // an issue has a fix. The analyzer parsed it already, so it reads; if it ever did
            // not, the analysis stands without fixes.
            if analysis::offers_fixes(&result) {
                match serde_json::from_slice::<Value>(body) {
                    Ok(doc) => analysis::attach_fixes(&mut result, &doc),
                    Err(err) => tracing::warn!(
                        error = %err,
                        "no fixes: the body does not read as a JSON value"
                    ),
                }
            }
            result.analysis_time_ms = started.elapsed().as_millis() as u64;
            Analysis {
                result,
                definition: Some(body.to_vec()),
            }
        }
    })
}

/// The top-level keys that tell a metadata-only request (`{"workflowId": ...}`) from a
/// definition. Deserializing into this skims the body without building a tree.
#[derive(serde::Deserialize)]
struct Probe {
    #[serde(rename = "workflowId", default)]
    workflow_id: Option<Value>,
    #[serde(default)]
    workflow: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    bundle: Option<serde::de::IgnoredAny>,
}

/// `Some(id)` for a metadata-only request; `None` for a definition (the analyzer parses it
/// and reports its own errors with JSON pointers).
fn metadata_request(body: &[u8]) -> Result<Option<String>, ApiError> {
    let Ok(probe) = serde_json::from_slice::<Probe>(body) else {
        return Ok(None); // not an object, or not JSON: the analyzer says precisely what is wrong
    };
    match probe.workflow_id {
        Some(id) if probe.workflow.is_none() && probe.bundle.is_none() => id
            .as_str()
            .map(|id| Some(id.to_owned()))
            .ok_or_else(|| ApiError::validation("workflowId must be a string")),
        _ => Ok(None),
    }
}

/// What HighLevel's public API lets us check: the metadata rules, confidence low.
async fn metadata_analysis(
    app: &App,
    location: &LocationId,
    id: &WorkflowId,
    opts: &AnalyzeOptions,
) -> Result<Analysis, ApiError> {
    let started = Instant::now();
    let list = app.highlevel().list_workflows(location).await?;
    let found = list
        .into_iter()
        .find(|w| w.id == id.as_str())
        .ok_or_else(|| ApiError::NotFound(format!("no workflow {id} in this account")))?;
    let meta = WorkflowMeta {
        id: found.id,
        name: found.name,
        status: found.status.unwrap_or_default(),
        version: found.version,
        created_at: found.created_at,
        updated_at: found.updated_at,
        location_id: found.location_id,
    };
    let mut result = analysis::metadata(&meta, opts);
    result.analysis_time_ms = started.elapsed().as_millis() as u64;
    Ok(Analysis {
        result,
        definition: None,
    })
}

/// Stores an analysis counted against `plan` whole, and answers in the plan's view. A result
/// that cannot be stored gives its count back.
pub async fn save(
    app: &App,
    location: &LocationId,
    analysis: Analysis,
    plan: Plan,
    id: &AnalysisId,
    counted: &plans::Counted,
    now_ms: i64,
) -> Result<Value, ApiError> {
    let now = now_ms / 1000;
    let result = &analysis.result;
    let accounts = app.accounts();
    let full = match serde_json::to_value(result) {
        Ok(full) => full,
        Err(err) => {
            plans::give_back(&accounts, location, counted).await;
            return Err(ApiError::internal(err));
        }
    };
    // The id indexes the structure view (and is a GSI key): only ids of HighLevel's shape; the
    // name is display text, bounded so it cannot blow the item size.
    let workflow_id = result
        .workflow
        .as_ref()
        .and_then(|w| WorkflowId::parse(&w.id).ok());
    let workflow_name = result
        .workflow
        .as_ref()
        .map(|w| truncate(&w.name, MAX_STORED_NAME_CHARS));
    let summary = serde_json::to_value(result.summary).unwrap_or_default();
    let compared =
        match compared_with_previous(app, location, workflow_id.as_ref(), id, &analysis, now).await
        {
            Ok(compared) => compared,
            Err(err) => {
                plans::give_back(&accounts, location, counted).await;
                return Err(err);
            }
        };
    let new = NewAnalysis {
        location,
        id,
        workflow_id: workflow_id.as_ref(),
        workflow_name: workflow_name.as_deref(),
        health_score: result.health_score,
        grade: &json_str(&result.grade),
        confidence: &json_str(&result.confidence),
        summary: &summary,
        created_at_ms: now_ms,
        expires_at: plans::retention_until(plan, now),
        result: &full,
        definition: analysis.definition.as_deref(),
        compared: compared.as_ref(),
    };
    let quota = plans::store_counted(&accounts, &app.results(), counted, &new).await?;
    let summary = result.summary;
    metrics::emit(
        &[
            (
                "AnalysisDuration",
                result.analysis_time_ms as f64,
                Unit::Milliseconds,
            ),
            ("HealthScore", f64::from(result.health_score), Unit::None),
            ("IssuesCritical", f64::from(summary.critical), Unit::Count),
            ("IssuesHigh", f64::from(summary.high), Unit::Count),
            ("IssuesMedium", f64::from(summary.medium), Unit::Count),
            ("IssuesLow", f64::from(summary.low), Unit::Count),
            ("IssuesInfo", f64::from(summary.info), Unit::Count),
        ],
        &[("Plan", plan.as_str())],
    );
    tracing::info!(
        location = %location,
        score = result.health_score,
        issues = result.issues.len(),
        duration_ms = result.analysis_time_ms,
        "analysis saved"
    );
    let mut body = json!({
        "analysisId": id,
        "createdAt": format_epoch(now),
        "result": plans::view(result, plan),
    });
    if let Some(used) = quota {
        body["quota"] = plans::quota_json(used, now);
    }
    if let Some(compared) = &compared {
        body["compared"] = json!(compared);
    }
    Ok(body)
}

/// The analysis compared with the previous live analysis of the same workflow in the account,
/// if there is one and it analyzed the same kind of input (a definition, or metadata only: a
/// metadata-only analysis runs a handful of rules, so against a full one every other issue would
/// read as new or fixed). A previous result that no longer reads as a result is not compared
/// with (logged), rather than failing the new analysis.
async fn compared_with_previous(
    app: &App,
    location: &LocationId,
    workflow_id: Option<&WorkflowId>,
    id: &AnalysisId,
    analysis: &Analysis,
    now: i64,
) -> Result<Option<Compared>, ApiError> {
    let Some(workflow_id) = workflow_id else {
        return Ok(None);
    };
    let Some(previous) = app
        .results()
        .previous_for_workflow(location, workflow_id, id, now)
        .await?
    else {
        return Ok(None);
    };
    if previous.definition.is_some() != analysis.definition.is_some() {
        return Ok(None);
    }
    match serde_json::from_value::<AnalysisResult>(previous.result) {
        Ok(before) => Ok(Some(Compared::of(
            &analysis.result,
            &previous.summary.id,
            &before,
        ))),
        Err(err) => {
            tracing::warn!(previous = %previous.summary.id, error = %err, "previous result unreadable: not compared");
            Ok(None)
        }
    }
}

/// The account's rule settings (the catalogue's defaults when none are stored) and whether its
/// analyses apply them (on Pro only).
async fn get_rule_settings(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    let account = app
        .accounts()
        .get(&session.location_id)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let plan = account.effective_plan(now_epoch());
    Reply::ok(&settings_body(
        &account.rule_settings()?.unwrap_or_default(),
        plan,
        account.rule_settings_updated_at,
    ))
}

/// Replaces the account's rule settings (Pro only): the whole configuration, validated whole
/// (every problem named in one 400), applied from the next analysis on.
async fn put_rule_settings(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    let location = &session.location_id;
    let body = json_bytes(req, settings::MAX_SETTINGS_BYTES)?;
    let now = now_epoch();
    let plan = app.accounts().plan(location, now).await?;
    plans::require_pro(plan, "rule settings")?;
    let rules = settings::parse_rule_settings(body)?;
    if !app
        .accounts()
        .put_rule_settings(location, &rules, now)
        .await?
    {
        return Err(ApiError::Unauthenticated);
    }
    tracing::info!(location = %location, "rule settings replaced");
    Reply::ok(&settings_body(&rules, plan, Some(now)))
}

fn settings_body(rules: &RuleConfig, plan: Plan, updated_at: Option<i64>) -> Value {
    json!({
        "rules": rules,
        "plan": plan,
        "applied": plan == Plan::Pro,
        "updatedAt": updated_at.map(format_epoch),
    })
}

/// Longest workflow name kept in the history (in characters).
const MAX_STORED_NAME_CHARS: usize = 200;

fn truncate(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// A unit enum's serde name (`"Excellent"`, `"high"`).
fn json_str<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The structure view serves what was stored: the stored definition is parsed for the layout
/// only, and the nodes carry the stored result's issues (the rules are not run again, so a
/// view costs no analysis). The free plan's view shows only its top issues.
async fn structure(app: &App, req: &Request) -> Result<Reply, ApiError> {
    let session = require_session(app, req).await?;
    let id = WorkflowId::parse(path_param(req, "id"))?;
    let now = now_epoch();
    let stored = app
        .results()
        .latest_for_workflow(&session.location_id, &id, now)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no analyzed definition of workflow {id}")))?;
    let definition = stored
        .definition
        .ok_or_else(|| ApiError::NotFound(format!("no analyzed definition of workflow {id}")))?;
    let mut result: AnalysisResult = serde_json::from_value(stored.result)
        .map_err(|e| ApiError::Internal(format!("stored result no longer reads: {e}")))?;
    let plan = app.accounts().plan(&session.location_id, now).await?;
    if plan == Plan::Free {
        // The free plan sees its top issues only, on the graph too.
        result.issues.truncate(plans::FREE_TOP_ISSUES);
    }
    let unreadable =
        |e: InputError| ApiError::Internal(format!("stored definition no longer parses: {e}"));
    let parsed = analysis::parse(&definition).map_err(unreadable)?;
    let workflows = parsed.workflows();
    // A single workflow sent without its id still answers for the id it was stored under.
    let workflow = workflows
        .iter()
        .find(|w| w.id == id.as_str())
        .or(match workflows {
            [only] if only.id.is_empty() => Some(only),
            _ => None,
        })
        .ok_or_else(|| ApiError::NotFound(format!("no analyzed definition of workflow {id}")))?;
    Reply::ok(&analysis::structure_of(workflow, &result))
}
