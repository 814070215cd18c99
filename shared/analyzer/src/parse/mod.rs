//! Parsing: the three input formats (native builder JSON, simple export, account bundle) into the
//! one model, with limits checked first and JSON pointers on every error. This module holds the
//! entry points, the limits, the dispatch between the formats, and what a workflow of any format
//! shares (settings, triggers, the small readers); `native` reads the builder's JSON (with the
//! fast typed path for the common request body), `export` flattens the simple export, and
//! `bundle` reads bundles and their account lists.

mod bundle;
mod export;
mod native;

use serde_json::{Map, Value};

use super::error::{InputError, Limit};
use super::model::{Condition, Input, Json, Settings, SourceFormat, Trigger, Workflow};
use super::{
    MAX_CONDITIONS, MAX_CONDITION_VALUES, MAX_INPUT_BYTES, MAX_PATHS, MAX_STEPS, MAX_TRIGGERS,
};
use bundle::parse_bundle;
use export::export_steps;
use native::{fast_native, native_steps};

/// Parse a request body (or a file) into the model. Accepts `{"workflow": .., "triggers": [..]}`,
/// `{"bundle": {..}}`, a bare native workflow, a bare export, or a bare bundle.
pub fn parse(input: &[u8]) -> Result<Input<'_>, InputError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge {
            what: Limit::Bytes,
            limit: MAX_INPUT_BYTES,
            actual: input.len(),
        });
    }
    if let Some(parsed) = fast_native(input) {
        return parsed.and_then(checked);
    }
    let value: Value = serde_json::from_slice(input).map_err(|e| {
        let text = e.to_string();
        let message = match text.rfind(" at line ") {
            Some(i) => text[..i].to_owned(),
            None => text,
        };
        InputError::NotJson {
            line: e.line(),
            column: e.column(),
            message,
        }
    })?;
    parse_value(value)
}

/// Counts that nothing real comes near, checked once over the parsed model: each bounds the
/// fan-out of a pass (triggers per workflow, conditions per trigger, paths per step), so that a
/// small body cannot multiply the work of a rule.
fn within_limits(input: Input<'_>) -> Result<Input<'_>, InputError> {
    let over = |what, limit: usize, actual: usize| {
        (actual > limit).then_some(InputError::TooLarge {
            what,
            limit,
            actual,
        })
    };
    for w in input.workflows() {
        let triggers = w.triggers.as_deref().unwrap_or_default();
        let worst = [
            over(Limit::Triggers, MAX_TRIGGERS, triggers.len()),
            triggers
                .iter()
                .find_map(|t| over(Limit::Conditions, MAX_CONDITIONS, t.conditions.len())),
            triggers.iter().find_map(|t| {
                let values = t.conditions.iter().map(|c| match &c.value {
                    Value::Array(a) => a.len(),
                    _ => 1,
                });
                let values = values.max();
                over(
                    Limit::ConditionValues,
                    MAX_CONDITION_VALUES,
                    values.unwrap_or(0),
                )
            }),
            w.steps
                .iter()
                .find_map(|s| over(Limit::Paths, MAX_PATHS, s.next.ids().len())),
        ];
        if let Some(e) = worst.into_iter().flatten().next() {
            return Err(e);
        }
    }
    Ok(input)
}

/// Parse an already-decoded JSON value (the HTTP layer may have decoded the body itself).
pub fn parse_value(value: Value) -> Result<Input<'static>, InputError> {
    parse_any(value).and_then(checked)
}

/// What every format goes through last: the limits, then the shapes read the same whatever the
/// format (an internal notification's channel object, [`Attributes::lift_channel`]; a field
/// update's one-entry `fields` list, `Attributes::lift_single_field`; a draft's triggers, inactive
/// until it is published).
///
/// [`Attributes::lift_channel`]: crate::Attributes
fn checked(input: Input<'_>) -> Result<Input<'_>, InputError> {
    let mut input = within_limits(input)?;
    let workflows = match &mut input {
        Input::Single(w) => std::slice::from_mut(w),
        Input::Bundle(b) => b.workflows.as_mut_slice(),
    };
    for w in workflows.iter_mut() {
        // HighLevel keeps a draft's triggers inactive until it is published; the analysis judges
        // what the workflow does once published, so a draft's triggers count as switched on.
        // (The rules across workflows leave a draft's triggers out: it starts nothing yet.)
        if w.is_draft() {
            for t in w.triggers.iter_mut().flatten() {
                t.active = true;
            }
        }
    }
    for s in workflows.iter_mut().flat_map(|w| w.steps.iter_mut()) {
        match &*s.kind {
            "internal_notification" => s.attributes.lift_channel(),
            "update_contact_field" => s.attributes.lift_single_field(),
            _ => continue,
        }
        // A lifted key (say `transitions`) can change the role the parser derived.
        if s.known_role.is_some() {
            s.known_role = Some(s.derive_role());
        }
    }
    Ok(input)
}

fn parse_any(value: Value) -> Result<Input<'static>, InputError> {
    let Value::Object(mut top) = value else {
        return Err(InputError::not_workflow(
            "",
            format!("expected a JSON object, found {}", kind_of(&value)),
        ));
    };
    let mut budget = Budget { steps: 0 };
    if let Some(bundle) = top.remove("bundle") {
        return parse_bundle(bundle, "/bundle", &mut budget).map(Input::Bundle);
    }
    if top.contains_key("workflows") {
        return parse_bundle(Value::Object(top), "", &mut budget).map(Input::Bundle);
    }
    if let Some(workflow) = top.remove("workflow") {
        let triggers = top.remove("triggers").map(|t| (t, "/triggers".to_owned()));
        return parse_workflow(workflow, "/workflow", triggers, &mut budget).map(Input::Single);
    }
    parse_workflow(Value::Object(top), "", None, &mut budget).map(Input::Single)
}

struct Budget {
    steps: usize,
}

impl Budget {
    fn take(&mut self, n: usize) -> Result<(), InputError> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > MAX_STEPS {
            return Err(InputError::TooLarge {
                what: Limit::Steps,
                limit: MAX_STEPS,
                actual: self.steps,
            });
        }
        Ok(())
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string or number as a string; other values are absent.
fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn take_string(obj: &mut Map<String, Value>, key: &str) -> Option<String> {
    match obj.remove(key)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bool_of(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        _ => None,
    }
}

fn parse_workflow(
    value: Value,
    ptr: &str,
    outer_triggers: Option<(Value, String)>,
    budget: &mut Budget,
) -> Result<Workflow<'static>, InputError> {
    let Value::Object(mut obj) = value else {
        return Err(InputError::not_workflow(
            ptr,
            format!("a workflow must be an object, found {}", kind_of(&value)),
        ));
    };
    let mut w = Workflow {
        id: take_string(&mut obj, "_id")
            .or_else(|| take_string(&mut obj, "id"))
            .unwrap_or_default(),
        name: take_string(&mut obj, "name").unwrap_or_default(),
        status: take_string(&mut obj, "status"),
        version: obj.get("version").and_then(Value::as_i64),
        updated_at: take_string(&mut obj, "updatedAt"),
        created_at: take_string(&mut obj, "createdAt"),
        ..Workflow::default()
    };
    let nested = obj.get("settings").and_then(Value::as_object);
    w.settings = parse_settings(|key| obj.get(key).or_else(|| nested.and_then(|n| n.get(key))));

    if let Some(data) = obj.remove("workflowData") {
        let dptr = format!("{ptr}/workflowData");
        let Value::Object(mut data) = data else {
            return Err(InputError::not_workflow(
                &dptr,
                format!("`workflowData` must be an object, found {}", kind_of(&data)),
            ));
        };
        w.steps = native_steps(
            data.remove("templates"),
            &format!("{dptr}/templates"),
            budget,
        )?;
    } else if let Some(t) = obj.remove("templates") {
        w.steps = native_steps(Some(t), &format!("{ptr}/templates"), budget)?;
    } else if let Some(steps) = obj.remove("steps") {
        w.format = SourceFormat::Export;
        w.steps = export_steps(steps, &format!("{ptr}/steps"), budget)?;
    } else {
        return Err(InputError::not_workflow(
            ptr,
            "expected a workflow (`workflowData.templates` or `steps`), a `{workflow, triggers}` \
             body, or a bundle (`workflows`)",
        ));
    }

    let triggers = match obj.remove("triggers") {
        Some(t) => Some((t, format!("{ptr}/triggers"))),
        None => outer_triggers,
    };
    if let Some((t, tptr)) = triggers {
        w.triggers = Some(parse_triggers(t, &tptr)?);
    }
    Ok(w)
}

/// Settings from a key lookup (top-level keys first, then a nested `settings` object).
fn parse_settings<'a>(get: impl Fn(&str) -> Option<&'a Value>) -> Settings {
    Settings {
        allow_multiple: bool_of(get("allowMultiple")).unwrap_or(false),
        allow_multiple_stated: bool_of(get("allowMultiple")).is_some(),
        allow_multiple_opportunity: bool_of(get("allowMultipleOpportunity")).unwrap_or(false),
        stop_on_response: bool_of(get("stopOnResponse")),
        timezone: get("timezone").and_then(Value::as_str).map(str::to_owned),
        sending_window: get("sendingWindow")
            .or_else(|| get("window"))
            .filter(|v| !v.is_null())
            .map(Json::from),
        event_start_date: get("eventStartDate").is_some_and(|v| match v {
            Value::String(s) => !s.trim().is_empty(),
            Value::Number(_) => true,
            // `{}` (or an object of blanks) sets no date.
            Value::Object(o) => o.values().any(|v| match v {
                Value::String(s) => !s.trim().is_empty(),
                Value::Number(_) => true,
                _ => false,
            }),
            _ => false,
        }),
    }
}

fn parse_triggers(value: Value, ptr: &str) -> Result<Vec<Trigger>, InputError> {
    let list = match value {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => {
            return Err(InputError::not_workflow(
                ptr,
                format!("`triggers` must be an array, found {}", kind_of(&other)),
            ))
        }
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, t) in list.into_iter().enumerate() {
        let Value::Object(mut t) = t else {
            return Err(InputError::not_workflow(
                &format!("{ptr}/{i}"),
                format!("a trigger must be an object, found {}", kind_of(&t)),
            ));
        };
        let conditions = match t.remove("conditions").or_else(|| t.remove("filters")) {
            Some(Value::Array(c)) => c
                .into_iter()
                .filter_map(|c| match c {
                    Value::Object(mut c) => Some(Condition {
                        field: take_string(&mut c, "field").unwrap_or_default(),
                        operator: take_string(&mut c, "operator").unwrap_or_default(),
                        value: c.remove("value").unwrap_or(Value::Null),
                    }),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let conditions = match t.get("data") {
            Some(Value::Object(data)) if conditions.is_empty() => data_conditions(data),
            _ => conditions,
        };
        out.push(Trigger {
            id: take_string(&mut t, "id")
                .or_else(|| take_string(&mut t, "_id"))
                .unwrap_or_else(|| format!("{ptr}/{i}")),
            name: take_string(&mut t, "name").unwrap_or_default(),
            kind: take_string(&mut t, "type")
                .or_else(|| take_string(&mut t, "key"))
                .unwrap_or_default(),
            active: bool_of(t.get("active")).unwrap_or(true),
            conditions,
        });
    }
    Ok(out)
}

/// The keys of a trigger's `data` form that are not filters: the trigger's own bookkeeping
/// (its type, the step it starts, the tag event that says which tag field `tagName` is on) and
/// the ids, names and dates every HighLevel document carries. Every other filled key is a filter
/// on that field: the three a catalogue of live workflows records (`tagName`, `formId`,
/// `appointmentStatus`; docs/ANALYZER.md, "Real shapes"), the ids of the builder's own trigger
/// filters in the same spelling (`calendarId`, `pipelineId`, `pipelineStageId`, `surveyId`), an
/// opportunity's `status`, a changed contact's `field`, and keys not met yet (an unknown key
/// counting as a filter can hide an unfiltered trigger, never invent one; it also keeps two
/// triggers that differ only in it apart for `duplicate-trigger`).
const DATA_NOT_FILTER_KEYS: &[&str] = &[
    "type",
    "targetActionId",
    "tagEvent",
    "locationId",
    "location_id",
    "companyId",
    "company_id",
    "workflowId",
    "workflow_id",
    "id",
    "_id",
    "name",
    "title",
    "active",
    "deleted",
    "version",
    "createdAt",
    "updatedAt",
    "dateAdded",
    "dateUpdated",
];

/// The filters of a trigger written in the `data` form (`{"data": {"type", "targetActionId",
/// "tagName", "tagEvent", "formId", "appointmentStatus"}}`, as a catalogue of live workflows and
/// builder tooling record it beside the `conditions` list; docs/ANALYZER.md, "Real shapes"):
/// every filled key but [`DATA_NOT_FILTER_KEYS`] is a condition on that field, and a tag is
/// `tagsAdded` or `tagsRemoved` as `tagEvent` says.
fn data_conditions(data: &Map<String, Value>) -> Vec<Condition> {
    let removed = data
        .get("tagEvent")
        .and_then(Value::as_str)
        .is_some_and(|e| e.eq_ignore_ascii_case("removed"));
    data.iter()
        .filter(|(k, v)| {
            !DATA_NOT_FILTER_KEYS.contains(&k.as_str())
                && !matches!(v, Value::Null | Value::Bool(false))
                && v.as_str().is_none_or(|s| !s.trim().is_empty())
        })
        .map(|(k, v)| Condition {
            field: match k.as_str() {
                "tagName" if removed => "tagsRemoved".to_owned(),
                "tagName" => "tagsAdded".to_owned(),
                _ => k.clone(),
            },
            operator: "==".to_owned(),
            value: v.clone(),
        })
        .take(MAX_CONDITIONS + 1)
        .collect()
}

fn step_object(v: Value, ptr: &str) -> Result<Map<String, Value>, InputError> {
    match v {
        Value::Object(o) => Ok(o),
        other => Err(InputError::not_workflow(
            ptr,
            format!("a step must be an object, found {}", kind_of(&other)),
        )),
    }
}

/// Most notes of one step read for `audit-ignore:` directives, and most directives kept.
const MAX_NOTE_STRINGS: usize = 64;

/// The `audit-ignore: <rule-id> <reason>` directives of a step's notes. The notes are whatever
/// the builder keeps under `comments`: a string, a list of strings, or objects whose string
/// fields hold the text (`text`, `body`, `comment`, ...); every string up to two levels deep is
/// read, one directive per line.
pub(crate) fn audit_ignores(notes: &Value) -> Vec<crate::model::InlineIgnore> {
    const MARK: &str = "audit-ignore:";
    let mut texts: Vec<&str> = Vec::new();
    let mut stack: Vec<(&Value, u8)> = vec![(notes, 0)];
    while let Some((v, depth)) = stack.pop() {
        if texts.len() >= MAX_NOTE_STRINGS {
            break;
        }
        match v {
            Value::String(s) => texts.push(s),
            Value::Array(a) if depth < 3 => stack.extend(a.iter().rev().map(|c| (c, depth + 1))),
            Value::Object(o) if depth < 3 => {
                stack.extend(o.values().rev().map(|c| (c, depth + 1)));
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for line in texts.iter().flat_map(|t| t.lines()) {
        let lower = line.to_ascii_lowercase();
        let Some(at) = lower.find(MARK) else { continue };
        let rest = line[at + MARK.len()..].trim();
        let (rule, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        if rule.is_empty() || out.len() >= MAX_NOTE_STRINGS {
            continue;
        }
        out.push(crate::model::InlineIgnore {
            rule: rule.to_ascii_lowercase(),
            reason: reason.trim().to_owned(),
        });
    }
    out
}
