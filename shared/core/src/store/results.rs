//! The results table: analyses per account, newest first. The key is (locationId, analysisId)
//! with time-ordered ids, so history is one Query; the `byWorkflowSummary` index (summary
//! attributes only) serves a workflow's history and finds its latest definition. Results and
//! definitions are stored deflated to keep items under DynamoDB's 400 KB limit; an analysis
//! that still does not fit is refused whole.

use std::collections::HashMap;
use std::future::Future;
use std::io::{Read, Write};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use serde::Serialize;

use super::{conditional, is_conditional_failure, StoreError};
use crate::auth::LocationId;
use crate::comparison::Compared;
use crate::highlevel::WorkflowId;

/// Largest item we write: DynamoDB's limit is 400 KB including attribute names.
pub const MAX_ITEM_BYTES: usize = 380 * 1024;
/// Largest definition we keep once inflated (guards the structure view against deflate bombs).
const MAX_INFLATED_BYTES: u64 = 8 * 1024 * 1024;

/// An analysis id: creation time in milliseconds (13 digits) and 32 random bits, so ids sort by
/// time and the table's range key gives newest-first for free.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AnalysisId(String);

/// Why an analysis id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("analysis id is malformed")]
pub struct InvalidAnalysisId;

impl AnalysisId {
    pub fn generate(now_ms: i64) -> Self {
        Self(format!(
            "{:013}-{}",
            now_ms.max(0),
            hex::encode(rand::random::<[u8; 4]>())
        ))
    }

    pub fn parse(raw: &str) -> Result<Self, InvalidAnalysisId> {
        let ok = raw.len() == 22
            && raw.as_bytes()[13] == b'-'
            && raw[..13].bytes().all(|b| b.is_ascii_digit())
            && raw[14..]
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidAnalysisId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The smallest id at or after `ms` (for date-range queries).
    fn floor(ms: i64) -> String {
        format!("{:013}-", ms.max(0))
    }

    /// The largest id at or before `ms`.
    fn ceiling(ms: i64) -> String {
        format!("{:013}-g", ms.max(0))
    }
}

/// What history lists per analysis.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisSummary {
    pub id: String,
    pub workflow_id: Option<String>,
    pub workflow_name: Option<String>,
    pub health_score: u8,
    pub grade: String,
    pub confidence: String,
    pub summary: serde_json::Value,
    pub created_at: String,
    /// Against the previous analysis of the same workflow, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compared: Option<Compared>,
}

/// A new analysis to store.
pub struct NewAnalysis<'a> {
    pub location: &'a LocationId,
    pub id: &'a AnalysisId,
    pub workflow_id: Option<&'a WorkflowId>,
    pub workflow_name: Option<&'a str>,
    pub health_score: u8,
    pub grade: &'a str,
    pub confidence: &'a str,
    pub summary: &'a serde_json::Value,
    pub created_at_ms: i64,
    /// Epoch seconds after which the analysis is gone (free plan retention); `None` keeps it.
    pub expires_at: Option<i64>,
    /// The full result (every plan's view is derived from it when read).
    pub result: &'a serde_json::Value,
    /// The analyzed definition, for the structure view.
    pub definition: Option<&'a [u8]>,
    /// Against the previous analysis of the same workflow, when there was one.
    pub compared: Option<&'a Compared>,
}

/// A stored analysis, read back whole.
pub struct StoredAnalysis {
    pub summary: AnalysisSummary,
    pub result: serde_json::Value,
    pub definition: Option<Vec<u8>>,
}

/// Filters of a history listing.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HistoryFilter {
    pub workflow_id: Option<WorkflowId>,
    pub grade: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

/// DynamoDB's position in a listing (all our key attributes are strings).
pub type PageKey = HashMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum PutError {
    #[error("the analysis is too large to store ({0} bytes compressed)")]
    TooLarge(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Results {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// A workflow's analyses, newest first, summary attributes only (template.yaml).
const BY_WORKFLOW: &str = "byWorkflowSummary";

/// What a history line reads; the `byWorkflowSummary` index must project each (a test checks).
pub const SUMMARY_ATTRIBUTES: &str =
    "locationId, analysisId, workflowKey, workflowId, workflowName, healthScore, grade, confidence, summary, createdAt, expiresAt, compared";

/// How many of a workflow's newest analyses are looked at to find a live one (a free result
/// may have expired after a pro period).
const WORKFLOW_LOOKBACK: i32 = 25;

fn deflate(bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|_| encoder.finish())
        .map_err(|e| StoreError::Failed(format!("deflate: {e}")))
}

fn inflate(bytes: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    DeflateDecoder::new(bytes)
        .take(MAX_INFLATED_BYTES)
        .read_to_end(&mut out)
        .map_err(|e| StoreError::Failed(format!("inflate: {e}")))?;
    Ok(out)
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn workflow_key(location: &LocationId, workflow_id: &WorkflowId) -> String {
    format!("{}#{}", location.as_str(), workflow_id.as_str())
}

impl Results {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Writes one analysis in a single PutItem (all or nothing).
    #[tracing::instrument(skip_all, fields(location = %a.location, id = a.id.as_str()))]
    pub async fn put(&self, a: &NewAnalysis<'_>) -> Result<(), PutError> {
        let (result, definition) = compress(a)?;
        let mut item = HashMap::from([
            ("locationId".to_owned(), s(a.location.as_str())),
            ("analysisId".to_owned(), s(a.id.as_str())),
            (
                "healthScore".to_owned(),
                AttributeValue::N(a.health_score.to_string()),
            ),
            ("grade".to_owned(), s(a.grade)),
            ("confidence".to_owned(), s(a.confidence)),
            ("summary".to_owned(), s(&a.summary.to_string())),
            (
                "createdAt".to_owned(),
                AttributeValue::N(a.created_at_ms.to_string()),
            ),
            ("result".to_owned(), AttributeValue::B(Blob::new(result))),
        ]);
        if let Some(workflow_id) = a.workflow_id {
            item.insert("workflowId".into(), s(workflow_id.as_str()));
            item.insert(
                "workflowKey".into(),
                s(&workflow_key(a.location, workflow_id)),
            );
        }
        if let Some(name) = a.workflow_name {
            item.insert("workflowName".into(), s(name));
        }
        if let Some(compared) = a.compared {
            let json = serde_json::to_string(compared)
                .map_err(|e| StoreError::Failed(format!("compared: {e}")))?;
            item.insert("compared".into(), s(&json));
        }
        if let Some(expires) = a.expires_at {
            item.insert("expiresAt".into(), AttributeValue::N(expires.to_string()));
        }
        if let Some(definition) = definition {
            item.insert(
                "definition".into(),
                AttributeValue::B(Blob::new(definition)),
            );
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(analysisId)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The id is fresh per request: an existing item is this very write, landed by an
            // attempt whose answer was lost (timeout) before the SDK retried it.
            Err(err) if is_conditional_failure(&err) => Ok(()),
            Err(err) => Err(StoreError::from_sdk(err).into()),
        }
    }

    /// One page of the account's analyses, newest first, expired ones excluded.
    pub async fn list(
        &self,
        location: &LocationId,
        filter: &HistoryFilter,
        limit: usize,
        start: Option<PageKey>,
        now: i64,
    ) -> Result<(Vec<AnalysisSummary>, Option<PageKey>), StoreError> {
        let mut items = Vec::new();
        let mut start = start;
        // A filter can leave a page short: keep reading until the page is full or the end.
        for _ in 0..20 {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .scan_index_forward(false)
                .limit((limit - items.len()) as i32)
                .projection_expression(SUMMARY_ATTRIBUTES)
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()));
            let mut conditions =
                vec!["attribute_not_exists(expiresAt) OR expiresAt > :now".to_owned()];
            let (partition_attr, partition_value) = match &filter.workflow_id {
                Some(wf) => ("workflowKey", workflow_key(location, wf)),
                None => ("locationId", location.as_str().to_owned()),
            };
            if filter.workflow_id.is_some() {
                query = query.index_name(BY_WORKFLOW);
            }
            let range = match (filter.from_ms, filter.to_ms) {
                (Some(from), Some(to)) => {
                    query = query
                        .expression_attribute_values(":from", s(&AnalysisId::floor(from)))
                        .expression_attribute_values(":to", s(&AnalysisId::ceiling(to)));
                    " AND analysisId BETWEEN :from AND :to"
                }
                (Some(from), None) => {
                    query = query.expression_attribute_values(":from", s(&AnalysisId::floor(from)));
                    " AND analysisId >= :from"
                }
                (None, Some(to)) => {
                    query = query.expression_attribute_values(":to", s(&AnalysisId::ceiling(to)));
                    " AND analysisId <= :to"
                }
                (None, None) => "",
            };
            query = query
                .key_condition_expression(format!("{partition_attr} = :pk{range}"))
                .expression_attribute_values(":pk", s(&partition_value));
            if let Some(grade) = &filter.grade {
                conditions.push("grade = :grade".into());
                query = query.expression_attribute_values(":grade", s(grade));
            }
            let filter_expression = conditions
                .iter()
                .map(|c| format!("({c})"))
                .collect::<Vec<_>>()
                .join(" AND ");
            query = query.filter_expression(filter_expression);
            if let Some(key) = start.take() {
                query = query.set_exclusive_start_key(Some(
                    key.into_iter()
                        .map(|(k, v)| (k, AttributeValue::S(v)))
                        .collect(),
                ));
            }
            let output = query.send().await.map_err(StoreError::from_sdk)?;
            for item in output.items.unwrap_or_default() {
                items.push(summary_of(&item)?);
            }
            start = output.last_evaluated_key.map(|key| {
                key.into_iter()
                    .filter_map(|(k, v)| v.as_s().ok().map(|v| (k, v.clone())))
                    .collect()
            });
            if items.len() >= limit || start.is_none() {
                break;
            }
        }
        Ok((items, start))
    }

    /// One analysis of this account; another account's id is simply absent.
    pub async fn get(
        &self,
        location: &LocationId,
        id: &AnalysisId,
        now: i64,
    ) -> Result<Option<StoredAnalysis>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("locationId", s(location.as_str()))
            .key("analysisId", s(id.as_str()))
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        output
            .item
            .map(|item| stored_of(&item, now))
            .transpose()
            .map(Option::flatten)
    }

    /// Deletes one analysis of this account; `false` when there was none (or it had expired).
    pub async fn delete(
        &self,
        location: &LocationId,
        id: &AnalysisId,
        now: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("locationId", s(location.as_str()))
            .key("analysisId", s(id.as_str()))
            .condition_expression(
                "attribute_exists(analysisId) AND (attribute_not_exists(expiresAt) OR expiresAt > :now)",
            )
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }

    /// Erases the analyses of `location` created at or before `up_to` (epoch seconds: an
    /// uninstall's time), page by page: ids start with their creation time in milliseconds, so
    /// the key condition itself selects them and an analysis of a later reinstallation is never
    /// read. `expire_at` `None` deletes them (retention 0); `Some(at)` makes each expire at
    /// `at` at the latest (retention N days: readers stop seeing them then and TTL deletes
    /// them; an earlier expiry, the free plan's, is kept). Returns how many were deleted or
    /// given the expiry; running it again changes nothing more.
    #[tracing::instrument(skip(self), fields(location = %location))]
    pub async fn erase_created_up_to(
        &self,
        location: &LocationId,
        up_to: i64,
        expire_at: Option<i64>,
    ) -> Result<u32, StoreError> {
        let below = AnalysisId::floor(up_to.saturating_add(1).saturating_mul(1000));
        let mut changed = 0;
        let mut start = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("locationId = :pk AND analysisId < :below")
                .expression_attribute_values(":pk", s(location.as_str()))
                .expression_attribute_values(":below", s(&below))
                .projection_expression("locationId, analysisId")
                .limit(super::PAGE)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(StoreError::from_sdk)?;
            let keys = output.items.unwrap_or_default();
            changed += match expire_at {
                None => super::batch_delete(&self.client, &self.table, keys).await?,
                Some(at) => self.expire(keys, at).await?,
            };
            start = output.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                return Ok(changed);
            }
        }
    }

    /// Gives each of `keys` the expiry `at` unless it expires earlier; returns how many changed.
    async fn expire(
        &self,
        keys: Vec<HashMap<String, AttributeValue>>,
        at: i64,
    ) -> Result<u32, StoreError> {
        let mut changed = 0;
        for key in keys {
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .update_expression("SET expiresAt = :exp")
                .condition_expression(
                    "attribute_exists(analysisId) AND (attribute_not_exists(expiresAt) OR expiresAt > :exp)",
                )
                .expression_attribute_values(":exp", AttributeValue::N(at.to_string()))
                .send()
                .await;
            if conditional(result)?.is_some() {
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// The newest live analysis of one workflow (its definition feeds the structure view): the
    /// `byWorkflowSummary` index holds only summary attributes, so the newest live entry is
    /// found there and its whole item read by key (one `GetItem`).
    pub async fn latest_for_workflow(
        &self,
        location: &LocationId,
        workflow_id: &WorkflowId,
        now: i64,
    ) -> Result<Option<StoredAnalysis>, StoreError> {
        self.newest_of_workflow(location, workflow_id, None, now)
            .await
    }

    /// The newest live analysis of one workflow made before `before` (the one an analysis is
    /// compared with).
    pub async fn previous_for_workflow(
        &self,
        location: &LocationId,
        workflow_id: &WorkflowId,
        before: &AnalysisId,
        now: i64,
    ) -> Result<Option<StoredAnalysis>, StoreError> {
        self.newest_of_workflow(location, workflow_id, Some(before), now)
            .await
    }

    /// The `byWorkflowSummary` index gives the workflow's newest analysis ids (and their expiry);
    /// each live one is then read whole from the table by key, newest first, until one is found.
    async fn newest_of_workflow(
        &self,
        location: &LocationId,
        workflow_id: &WorkflowId,
        before: Option<&AnalysisId>,
        now: i64,
    ) -> Result<Option<StoredAnalysis>, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_WORKFLOW)
            .expression_attribute_values(":pk", s(&workflow_key(location, workflow_id)))
            .projection_expression("analysisId, expiresAt")
            .scan_index_forward(false)
            .limit(WORKFLOW_LOOKBACK);
        query = match before {
            Some(id) => query
                .key_condition_expression("workflowKey = :pk AND analysisId < :before")
                .expression_attribute_values(":before", s(id.as_str())),
            None => query.key_condition_expression("workflowKey = :pk"),
        };
        let output = query.send().await.map_err(StoreError::from_sdk)?;
        for item in output.items.unwrap_or_default() {
            if number(&item, "expiresAt").is_some_and(|expires| expires <= now) {
                continue;
            }
            let Some(id) = text(&item, "analysisId").and_then(|id| AnalysisId::parse(&id).ok())
            else {
                continue;
            };
            // Deleted or expired between the index read and this one: the next is the newest.
            if let Some(stored) = self.get(location, &id, now).await? {
                return Ok(Some(stored));
            }
        }
        Ok(None)
    }
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
}

fn summary_of(item: &HashMap<String, AttributeValue>) -> Result<AnalysisSummary, StoreError> {
    let created_ms = number(item, "createdAt").unwrap_or(0);
    let created = time::OffsetDateTime::from_unix_timestamp(created_ms / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Ok(AnalysisSummary {
        id: text(item, "analysisId")
            .ok_or_else(|| StoreError::Failed("item without analysisId".into()))?,
        workflow_id: text(item, "workflowId"),
        workflow_name: text(item, "workflowName"),
        health_score: number(item, "healthScore").unwrap_or(0).clamp(0, 100) as u8,
        grade: text(item, "grade").unwrap_or_default(),
        confidence: text(item, "confidence").unwrap_or_default(),
        summary: text(item, "summary")
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null),
        created_at: crate::clock::format_rfc3339(created),
        compared: text(item, "compared").and_then(|json| serde_json::from_str(&json).ok()),
    })
}

fn stored_of(
    item: &HashMap<String, AttributeValue>,
    now: i64,
) -> Result<Option<StoredAnalysis>, StoreError> {
    if number(item, "expiresAt").is_some_and(|expires| expires <= now) {
        return Ok(None); // TTL deletes late; expired is gone for readers
    }
    let blob = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_b().ok())
            .map(|b| b.as_ref().to_vec())
    };
    let result = blob("result")
        .map(|b| inflate(&b))
        .transpose()?
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| StoreError::Failed("stored result is unreadable".into()))?;
    let definition = blob("definition").map(|b| inflate(&b)).transpose()?;
    Ok(Some(StoredAnalysis {
        summary: summary_of(item)?,
        result,
        definition,
    }))
}

/// The result and the definition deflated, once the item is known to fit DynamoDB's 400 KB
/// (`PutError::TooLarge` otherwise, before anything is written).
fn compress(a: &NewAnalysis<'_>) -> Result<(Vec<u8>, Option<Vec<u8>>), PutError> {
    let result = deflate(a.result.to_string().as_bytes())?;
    let definition = a.definition.map(deflate).transpose()?;
    let size = result.len()
        + definition.as_ref().map_or(0, Vec::len)
        + a.workflow_id.map_or(0, |id| id.as_str().len()) * 2
        + a.workflow_name.map_or(0, str::len)
        + a.summary.to_string().len()
        + a.compared.map_or(0, |_| 256)
        + 2048;
    if size > MAX_ITEM_BYTES {
        return Err(PutError::TooLarge(size));
    }
    Ok((result, definition))
}

/// The results write the quota rule (`plans::keep_analysis`) makes: the DynamoDB table
/// ([`Results`]) in the functions, [`MemoryResults`] in unit tests.
pub trait ResultWrites: Sync {
    /// Writes one analysis, all or nothing.
    fn put(&self, a: &NewAnalysis<'_>) -> impl Future<Output = Result<(), PutError>> + Send;
}

impl ResultWrites for Results {
    async fn put(&self, a: &NewAnalysis<'_>) -> Result<(), PutError> {
        Results::put(self, a).await
    }
}

/// Stored analysis ids in memory, refusing what the table would refuse (too large), so the
/// quota rule gets fast unit tests; the integration suite proves the table itself.
#[derive(Debug, Default)]
pub struct MemoryResults(std::sync::Mutex<Vec<(LocationId, String)>>);

impl MemoryResults {
    /// How many analyses `location` has stored.
    pub fn count(&self, location: &LocationId) -> usize {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(l, _)| l == location)
            .count()
    }
}

impl ResultWrites for MemoryResults {
    async fn put(&self, a: &NewAnalysis<'_>) -> Result<(), PutError> {
        compress(a)?;
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((a.location.clone(), a.id.as_str().to_owned()));
        Ok(())
    }
}
