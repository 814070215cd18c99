//! Parsing: the three input formats (native builder JSON, simple export, account bundle) into the
//! one model, with limits checked first and JSON pointers on every error.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::de::{Deserializer, IgnoredAny};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::attributes::CowStr;
use super::error::{InputError, Limit};
use super::model::{
    AccountLists, Attributes, Bundle, Condition, CustomFieldType, DomainAuth, Input, Json, Next,
    PhoneNumber, Settings, SourceFormat, Step, Trigger, Workflow,
};
use super::{
    MAX_CONDITIONS, MAX_CONDITION_VALUES, MAX_INPUT_BYTES, MAX_PATHS, MAX_STEPS, MAX_TRIGGERS,
    MAX_WORKFLOWS,
};

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
        return parsed.and_then(within_limits);
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
    parse_value(value).and_then(within_limits)
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
    parse_any(value).and_then(within_limits)
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

fn parse_bundle(
    value: Value,
    ptr: &str,
    budget: &mut Budget,
) -> Result<Bundle<'static>, InputError> {
    let Value::Object(mut obj) = value else {
        return Err(InputError::not_workflow(
            ptr,
            format!("a bundle must be an object, found {}", kind_of(&value)),
        ));
    };
    let wptr = format!("{ptr}/workflows");
    let list = match obj.remove("workflows") {
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(InputError::not_workflow(
                &wptr,
                format!("`workflows` must be an array, found {}", kind_of(&other)),
            ))
        }
        None => {
            return Err(InputError::not_workflow(
                ptr,
                "a bundle needs a `workflows` array",
            ))
        }
    };
    if list.len() > MAX_WORKFLOWS {
        return Err(InputError::TooLarge {
            what: Limit::Workflows,
            limit: MAX_WORKFLOWS,
            actual: list.len(),
        });
    }
    let mut workflows = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let iptr = format!("{wptr}/{i}");
        let workflow = match item {
            Value::Object(mut o) if o.get("workflow").is_some_and(Value::is_object) => {
                let triggers = o
                    .remove("triggers")
                    .map(|t| (t, format!("{iptr}/triggers")));
                let w = o.remove("workflow").unwrap_or(Value::Null);
                parse_workflow(w, &format!("{iptr}/workflow"), triggers, budget)?
            }
            other => parse_workflow(other, &iptr, None, budget)?,
        };
        workflows.push(workflow);
    }
    let account = parse_account(&mut obj, ptr)?;
    Ok(Bundle { workflows, account })
}

fn list<'a>(
    obj: &'a Map<String, Value>,
    ptr: &str,
    key: &str,
) -> Result<Option<&'a Vec<Value>>, InputError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(InputError::not_workflow(
            &format!("{ptr}/{key}"),
            format!("`{key}` must be an array, found {}", kind_of(other)),
        )),
    }
}

fn ids(items: &[Value], keys: &[&str]) -> HashSet<String> {
    let mut out = HashSet::new();
    for item in items {
        match item {
            Value::String(s) => {
                out.insert(s.to_ascii_lowercase());
            }
            Value::Object(o) => {
                for k in keys {
                    if let Some(s) = id_of(o.get(*k)) {
                        out.insert(s.to_ascii_lowercase());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The bundle's reference lists. HighLevel's API answers arrays of objects; exporters and
/// auditors also write name -> value objects (`"customValues": {"booking_link": "https://..."}`):
/// both are read, an object entry becoming `{id, key, name: <its name>, value}` (an object value
/// keeps its own fields and gains the missing ones).
const ACCOUNT_LISTS: [&str; 9] = [
    "users",
    "calendars",
    "forms",
    "pipelines",
    "customFields",
    "customValues",
    "tags",
    "phoneNumbers",
    "emailDomains",
];

fn lists_as_arrays(obj: &mut Map<String, Value>) {
    for key in ACCOUNT_LISTS {
        let Some(Value::Object(entries)) = obj.get_mut(key) else {
            continue;
        };
        let items = std::mem::take(entries)
            .into_iter()
            .map(|(name, value)| {
                let mut item = match value {
                    Value::Object(o) => o,
                    other => {
                        let mut o = Map::new();
                        o.insert("value".into(), other);
                        o
                    }
                };
                for field in ["id", "key", "name"] {
                    item.entry(field)
                        .or_insert_with(|| Value::String(name.clone()));
                }
                Value::Object(item)
            })
            .collect();
        obj.insert(key.to_owned(), Value::Array(items));
    }
}

/// The location's settings that decide platform defaults (docs/ANALYZER.md, "Platform
/// defaults"): `locationSettings` (or `settings`) `{defaultUnsubscribeLink: bool}`.
fn unsubscribe_footer(obj: &Map<String, Value>) -> Option<bool> {
    let settings = obj
        .get("locationSettings")
        .or_else(|| obj.get("settings"))?;
    [
        "defaultUnsubscribeLink",
        "unsubscribeLink",
        "emailUnsubscribeFooter",
    ]
    .iter()
    .find_map(|k| bool_of(settings.get(*k)))
}

fn parse_account(obj: &mut Map<String, Value>, ptr: &str) -> Result<AccountLists, InputError> {
    let mut a = AccountLists::default();
    lists_as_arrays(obj);
    a.unsubscribe_footer = unsubscribe_footer(obj);
    if let Some(users) = list(obj, ptr, "users")? {
        let mut map = HashMap::new();
        for u in users {
            if let Some(id) = id_of(u.get("id")).or_else(|| id_of(u.get("_id"))) {
                let deleted = bool_of(u.get("deleted")).unwrap_or(false);
                let active = bool_of(u.get("active")).unwrap_or(true) && !deleted;
                map.insert(id.to_ascii_lowercase(), active);
            }
        }
        a.users = Some(map);
    }
    if let Some(c) = list(obj, ptr, "calendars")? {
        a.calendars = Some(ids(c, &["id", "_id"]));
    }
    if let Some(f) = list(obj, ptr, "forms")? {
        a.forms = Some(ids(f, &["id", "_id"]));
    }
    if let Some(p) = list(obj, ptr, "pipelines")? {
        let mut map = HashMap::new();
        for pipe in p {
            let Some(id) = id_of(pipe.get("id")).or_else(|| id_of(pipe.get("_id"))) else {
                continue;
            };
            let stages = pipe
                .get("stages")
                .and_then(Value::as_array)
                .map(|s| ids(s, &["id", "_id"]))
                .unwrap_or_default();
            map.insert(id.to_ascii_lowercase(), stages);
        }
        a.pipelines = Some(map);
    }
    if let Some(f) = list(obj, ptr, "customFields")? {
        let mut set = ids(f, &["id", "_id", "fieldKey", "key"]);
        let stripped: Vec<String> = set
            .iter()
            .filter_map(|k| k.strip_prefix("contact.").map(str::to_owned))
            .collect();
        set.extend(stripped);
        a.custom_fields = Some(set);
        let types = custom_field_types(f);
        a.custom_field_types = (!types.is_empty()).then(|| Box::new(types));
    }
    if let Some(v) = list(obj, ptr, "customValues")? {
        let mut set = ids(v, &["id", "_id", "fieldKey", "key", "name"]);
        let stripped: Vec<String> = set
            .iter()
            .filter_map(|k| {
                k.trim_start_matches("{{")
                    .trim_end_matches("}}")
                    .trim()
                    .strip_prefix("custom_values.")
                    .map(str::to_owned)
            })
            .collect();
        set.extend(stripped);
        a.custom_values = Some(set);
    }
    if let Some(t) = list(obj, ptr, "tags")? {
        a.tags = Some(ids(t, &["name", "id"]));
    }
    if let Some(p) = list(obj, ptr, "phoneNumbers")? {
        a.phone_numbers = Some(p.iter().map(phone_number).collect());
    }
    if let Some(d) = list(obj, ptr, "emailDomains")? {
        let mut map = HashMap::new();
        for item in d {
            let Some(name) = id_of(item.get("domain")).or_else(|| id_of(item.get("name"))) else {
                continue;
            };
            let status = |k: &str| match item.get(k) {
                Some(Value::Bool(b)) => Some(*b),
                Some(Value::String(s)) => {
                    let s = s.trim().to_ascii_lowercase();
                    if ["verified", "pass", "valid", "ok", "active", "true"].contains(&s.as_str()) {
                        Some(true)
                    } else if s.is_empty() {
                        None
                    } else {
                        Some(false)
                    }
                }
                Some(Value::Object(o)) => o.get("verified").and_then(Value::as_bool),
                _ => None,
            };
            map.insert(
                name.trim().to_ascii_lowercase(),
                DomainAuth {
                    spf: status("spf"),
                    dkim: status("dkim"),
                    dmarc: status("dmarc"),
                },
            );
        }
        a.email_domains = Some(map);
    }
    Ok(a)
}

/// The `dataType` (upper-cased) and listed options (`picklistOptions` or `options`: strings, or
/// objects with a `label`, `value`, `name` or `key`; lower-cased) of each `customFields` entry
/// that has a type, under its id and key (lower-cased, without a `contact.` prefix).
fn custom_field_types(fields: &[Value]) -> HashMap<String, CustomFieldType> {
    let mut types = HashMap::new();
    for field in fields {
        let Some(data_type) = field
            .get("dataType")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            continue;
        };
        let ty = CustomFieldType {
            data_type: data_type.to_ascii_uppercase(),
            options: ["picklistOptions", "options"]
                .iter()
                .filter_map(|k| field.get(*k).and_then(Value::as_array))
                .flatten()
                // An option object may be written by its label, value, name or key: keep each.
                .flat_map(|o| match o {
                    Value::Object(m) => ["label", "value", "name", "key"]
                        .iter()
                        .filter_map(|k| m.get(*k).and_then(Value::as_str))
                        .collect::<Vec<_>>(),
                    other => other.as_str().into_iter().collect(),
                })
                .map(|o| o.trim().to_lowercase())
                .filter(|o| !o.is_empty())
                .collect(),
        };
        for k in ["id", "_id", "fieldKey", "key"] {
            let Some(key) = id_of(field.get(k)) else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let key = key.strip_prefix("contact.").unwrap_or(&key);
            if !key.is_empty() {
                types.insert(key.to_owned(), ty.clone());
            }
        }
    }
    types
}

/// One `phoneNumbers` entry: a string, or `{number|phoneNumber, capabilities: {sms}, smsEnabled,
/// status}`.
fn phone_number(v: &Value) -> PhoneNumber {
    match v {
        Value::String(s) => PhoneNumber {
            number: s.clone(),
            can_sms: true,
        },
        Value::Object(o) => {
            let sms_off = o
                .get("capabilities")
                .and_then(|c| c.get("sms").or_else(|| c.get("SMS")))
                .and_then(Value::as_bool)
                == Some(false)
                || bool_of(o.get("smsEnabled")) == Some(false);
            let dead = o.get("status").and_then(Value::as_str).is_some_and(|s| {
                ["inactive", "released", "suspended", "pending"]
                    .contains(&s.trim().to_ascii_lowercase().as_str())
            });
            PhoneNumber {
                number: id_of(o.get("number"))
                    .or_else(|| id_of(o.get("phoneNumber")))
                    .unwrap_or_default(),
                can_sms: !sms_off && !dead,
            }
        }
        _ => PhoneNumber::default(),
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
        allow_multiple_opportunity: bool_of(get("allowMultipleOpportunity")).unwrap_or(false),
        stop_on_response: bool_of(get("stopOnResponse")),
        timezone: get("timezone").and_then(Value::as_str).map(str::to_owned),
        sending_window: get("sendingWindow")
            .or_else(|| get("window"))
            .filter(|v| !v.is_null())
            .map(Json::from),
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

fn parse_next(v: Option<Value>, ptr: &dyn Fn() -> String) -> Result<Next<'static>, InputError> {
    match v {
        None | Some(Value::Null) => Ok(Next::None),
        Some(Value::String(s)) if s.is_empty() => Ok(Next::None),
        Some(Value::String(s)) => Ok(Next::One(Cow::Owned(s))),
        Some(Value::Array(a)) => {
            let mut ids = Vec::with_capacity(a.len());
            for (i, item) in a.into_iter().enumerate() {
                match item {
                    Value::String(s) => ids.push(Cow::Owned(s)),
                    Value::Number(n) => ids.push(Cow::Owned(n.to_string())),
                    other => {
                        return Err(InputError::not_workflow(
                            &format!("{}/next/{i}", ptr()),
                            format!("`next` lists step ids, found {}", kind_of(&other)),
                        ))
                    }
                }
            }
            Ok(Next::Many(ids))
        }
        Some(Value::Number(n)) => Ok(Next::One(Cow::Owned(n.to_string()))),
        Some(other) => Err(InputError::not_workflow(
            &format!("{}/next", ptr()),
            format!(
                "`next` must be a step id or a list of step ids, found {}",
                kind_of(&other)
            ),
        )),
    }
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

fn native_steps(
    v: Option<Value>,
    ptr: &str,
    budget: &mut Budget,
) -> Result<Vec<Step<'static>>, InputError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(InputError::not_workflow(
                ptr,
                format!(
                    "`templates` must be an array of steps, found {}",
                    kind_of(&other)
                ),
            ))
        }
    };
    budget.take(list.len())?;
    let mut steps = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let sptr = || format!("{ptr}/{i}");
        let o = step_object(item, &sptr())?;
        let step = serde::de::DeserializeSeed::deserialize(StepSeed::new(&sptr), Value::Object(o))
            .map_err(|e| InputError::not_workflow(&sptr(), e.to_string()))??;
        steps.push(step);
    }
    Ok(steps)
}

/// The fields of a native step, as read by both the fast typed path (strings borrowed from the
/// input) and the `Value` path (owned), so both build exactly the same [`Step`].
#[derive(Default)]
struct RawStep<'a> {
    id: Loose<'a>,
    underscore_id: Loose<'a>,
    kind: Loose<'a>,
    name: Loose<'a>,
    order: Option<Value>,
    next: RawNext<'a>,
    parent_key: Loose<'a>,
    parent: Loose<'a>,
    cat: Loose<'a>,
    node_type: Loose<'a>,
    attributes: Option<Attributes<'a>>,
    canvas: Option<CanvasMeta>,
    disabled: Option<Value>,
}

/// The part of a step's `advanceCanvasMeta` the analyzer reads; the rest (positions, sizes) is
/// skipped without building a value tree for every step. Anything but an object reads as empty,
/// as before.
#[derive(Default)]
struct CanvasMeta {
    is_disabled: Option<Value>,
}

impl<'de> Deserialize<'de> for CanvasMeta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = CanvasMeta;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the step's canvas metadata")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<CanvasMeta, A::Error> {
                let mut meta = CanvasMeta::default();
                while let Some(key) = map.next_key::<CowStr<'de>>()? {
                    if &*key.0 == "isDisabled" {
                        meta.is_disabled = Some(map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(meta)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<CanvasMeta, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(CanvasMeta::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<CanvasMeta, E> {
                Ok(CanvasMeta::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<CanvasMeta, E> {
                Ok(CanvasMeta::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<CanvasMeta, E> {
                Ok(CanvasMeta::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<CanvasMeta, E> {
                Ok(CanvasMeta::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<CanvasMeta, E> {
                Ok(CanvasMeta::default())
            }
            fn visit_unit<E>(self) -> Result<CanvasMeta, E> {
                Ok(CanvasMeta::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads one step object and builds the [`Step`] (or the pointered error) in place; the same
/// code serves both parse paths. A later duplicate key wins, as in a `serde_json::Map`.
struct StepSeed<'a, 'p> {
    ptr: &'p dyn Fn() -> String,
    _input: std::marker::PhantomData<&'a ()>,
}

impl<'a, 'p> StepSeed<'a, 'p> {
    fn new(ptr: &'p dyn Fn() -> String) -> Self {
        StepSeed {
            ptr,
            _input: std::marker::PhantomData,
        }
    }
}

impl<'de: 'a, 'a> serde::de::DeserializeSeed<'de> for StepSeed<'a, '_> {
    type Value = Result<Step<'a>, InputError>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> serde::de::Visitor<'de> for StepSeed<'a, '_> {
    type Value = Result<Step<'a>, InputError>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a step object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut raw = RawStep::default();
        while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
            match &*key {
                "id" => raw.id = map.next_value()?,
                "_id" => raw.underscore_id = map.next_value()?,
                "type" => raw.kind = map.next_value()?,
                "name" => raw.name = map.next_value()?,
                "order" => raw.order = map.next_value()?,
                "next" => raw.next = map.next_value()?,
                "parentKey" => raw.parent_key = map.next_value()?,
                "parent" => raw.parent = map.next_value()?,
                "cat" => raw.cat = map.next_value()?,
                "nodeType" => raw.node_type = map.next_value()?,
                "attributes" => raw.attributes = map.next_value()?,
                "advanceCanvasMeta" => raw.canvas = map.next_value()?,
                "disabled" => raw.disabled = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(build_step(raw, self.ptr))
    }
}

/// A string (borrowed when possible) or a number written as one; anything else is absent.
#[derive(Default)]
struct Loose<'a>(Option<Cow<'a, str>>);

/// A float as serde_json writes it (so both parse paths agree on float ids).
fn float_text(n: f64) -> Option<String> {
    serde_json::Number::from_f64(n).map(|n| n.to_string())
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Loose<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Loose<'a>, E> {
                Ok(Loose(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E>(self, s: &str) -> Result<Loose<'a>, E> {
                Ok(Loose(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E>(self, s: String) -> Result<Loose<'a>, E> {
                Ok(Loose(Some(Cow::Owned(s))))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Loose<'a>, E> {
                Ok(Loose(Some(Cow::Owned(n.to_string()))))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Loose<'a>, E> {
                Ok(Loose(Some(Cow::Owned(n.to_string()))))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Loose<'a>, E> {
                Ok(Loose(float_text(n).map(Cow::Owned)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Loose<'a>, E> {
                Ok(Loose(None))
            }
            fn visit_unit<E>(self) -> Result<Loose<'a>, E> {
                Ok(Loose(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Loose<'a>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Loose<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `next` as written: kept raw so that a wrong type becomes the same pointered error on both
/// parse paths.
#[derive(Default)]
enum RawNext<'a> {
    #[default]
    Absent,
    Ids(Next<'a>),
    Bad(&'static str),
    BadItem(usize, &'static str),
}

/// One item of a `next` list.
enum NextItem<'a> {
    Id(Cow<'a, str>),
    Bad(&'static str),
}

struct ItemVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for ItemVisitor<'a> {
    type Value = NextItem<'a>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a step id")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Id(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Id(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Id(Cow::Owned(s)))
    }
    fn visit_i64<E>(self, n: i64) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Id(Cow::Owned(n.to_string())))
    }
    fn visit_u64<E>(self, n: u64) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Id(Cow::Owned(n.to_string())))
    }
    fn visit_f64<E>(self, n: f64) -> Result<NextItem<'a>, E> {
        Ok(float_text(n).map_or(NextItem::Bad("a number"), |t| NextItem::Id(Cow::Owned(t))))
    }
    fn visit_bool<E>(self, _: bool) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Bad("a boolean"))
    }
    fn visit_unit<E>(self) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Bad("null"))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NextItem<'a>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(NextItem::Bad("an array"))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<NextItem<'a>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(NextItem::Bad("an object"))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for NextItem<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawNext<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = RawNext<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a step id or a list of step ids")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Ids(if s.is_empty() {
                    Next::None
                } else {
                    Next::One(Cow::Borrowed(s))
                }))
            }
            fn visit_str<E>(self, s: &str) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Ids(if s.is_empty() {
                    Next::None
                } else {
                    Next::One(Cow::Owned(s.to_owned()))
                }))
            }
            fn visit_string<E>(self, s: String) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Ids(if s.is_empty() {
                    Next::None
                } else {
                    Next::One(Cow::Owned(s))
                }))
            }
            fn visit_i64<E>(self, n: i64) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Ids(Next::One(Cow::Owned(n.to_string()))))
            }
            fn visit_u64<E>(self, n: u64) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Ids(Next::One(Cow::Owned(n.to_string()))))
            }
            fn visit_f64<E>(self, n: f64) -> Result<RawNext<'a>, E> {
                Ok(float_text(n).map_or(RawNext::Bad("a number"), |t| {
                    RawNext::Ids(Next::One(Cow::Owned(t)))
                }))
            }
            fn visit_bool<E>(self, _: bool) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Bad("a boolean"))
            }
            fn visit_unit<E>(self) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Ids(Next::None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawNext<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(RawNext::Bad("an object"))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawNext<'a>, A::Error> {
                let mut ids = Vec::new();
                let mut bad = None;
                while let Some(item) = seq.next_element::<NextItem<'a>>()? {
                    match item {
                        NextItem::Id(id) => ids.push(id),
                        NextItem::Bad(what) => {
                            bad.get_or_insert((ids.len(), what));
                        }
                    }
                }
                Ok(match bad {
                    Some((i, what)) => RawNext::BadItem(i, what),
                    None => RawNext::Ids(Next::Many(ids)),
                })
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

fn build_step<'a>(raw: RawStep<'a>, ptr: &dyn Fn() -> String) -> Result<Step<'a>, InputError> {
    let disabled = raw
        .canvas
        .as_ref()
        .and_then(|m| bool_of(m.is_disabled.as_ref()))
        .or_else(|| bool_of(raw.disabled.as_ref()))
        .unwrap_or(false);
    let next = match raw.next {
        RawNext::Absent => Next::None,
        RawNext::Ids(n) => n,
        RawNext::Bad(what) => {
            return Err(InputError::not_workflow(
                &format!("{}/next", ptr()),
                format!("`next` must be a step id or a list of step ids, found {what}"),
            ))
        }
        RawNext::BadItem(i, what) => {
            return Err(InputError::not_workflow(
                &format!("{}/next/{i}", ptr()),
                format!("`next` lists step ids, found {what}"),
            ))
        }
    };
    let non_empty = |l: Loose<'a>| l.0.filter(|s| !s.is_empty());
    Ok(Step {
        id: raw
            .id
            .0
            .or(raw.underscore_id.0)
            .unwrap_or_else(|| Cow::Owned(ptr())),
        kind: raw.kind.0.unwrap_or_default(),
        name: raw.name.0.unwrap_or_default(),
        order: raw.order.as_ref().and_then(Value::as_i64),
        next,
        parent_key: non_empty(raw.parent_key),
        parent: non_empty(raw.parent),
        cat: raw.cat.0,
        node_type: raw.node_type.0,
        attributes: raw.attributes.unwrap_or_default(),
        disabled,
    })
}

/// A string or a number as a string.
fn string_of(v: Option<Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Deserialize a field whose mere presence matters (even as `null`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

/// Deserialize a field to `Some(value)` even when it is `null`.
fn some_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The common request body `{"workflow": {native}, "triggers": [...]}`, read with typed serde
/// (no intermediate `Value` tree). Anything unusual makes it give up, and the `Value` path —
/// which produces the pointered errors — reads the input instead.
#[derive(Deserialize)]
struct FastBody<'a> {
    #[serde(default, borrow)]
    workflow: Option<FastWorkflow<'a>>,
    #[serde(default, deserialize_with = "some_value")]
    triggers: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    bundle: bool,
    #[serde(default, deserialize_with = "present")]
    workflows: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FastWorkflow<'a> {
    #[serde(default, rename = "_id")]
    underscore_id: Option<Value>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    version: Option<Value>,
    #[serde(default)]
    updated_at: Option<Value>,
    #[serde(default)]
    created_at: Option<Value>,
    #[serde(default, borrow)]
    workflow_data: Option<FastData<'a>>,
    #[serde(default, deserialize_with = "some_value")]
    triggers: Option<Value>,
    #[serde(default)]
    allow_multiple: Option<Value>,
    #[serde(default)]
    allow_multiple_opportunity: Option<Value>,
    #[serde(default)]
    stop_on_response: Option<Value>,
    #[serde(default)]
    timezone: Option<Value>,
    #[serde(default)]
    sending_window: Option<Value>,
    #[serde(default)]
    window: Option<Value>,
    #[serde(default)]
    settings: Option<Value>,
}

#[derive(Deserialize)]
struct FastData<'a> {
    #[serde(default, borrow)]
    templates: Option<Templates<'a>>,
}

thread_local! {
    /// How many steps the fast path expects, from the input's size: JSON gives no length for
    /// arrays, and growing a 10,000-step vector by doubling copied megabytes.
    static STEPS_HINT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Bytes per native step assumed by [`STEPS_HINT`] (real steps are larger, so this over-reserves).
const BYTES_PER_STEP_HINT: usize = 96;

/// The native steps, built one by one while reading (no intermediate list of raw steps).
struct Templates<'a>(Vec<Step<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Templates<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Templates<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of steps")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Templates<'a>, A::Error> {
                use serde::de::Error;
                let hint = STEPS_HINT.with(std::cell::Cell::get);
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(hint).min(MAX_STEPS));
                loop {
                    if out.len() >= MAX_STEPS {
                        // The `Value` path reports the limit properly.
                        return Err(A::Error::custom("too many steps"));
                    }
                    let i = out.len();
                    let ptr = || format!("/workflow/workflowData/templates/{i}");
                    match seq.next_element_seed(StepSeed::new(&ptr))? {
                        Some(Ok(step)) => out.push(step),
                        Some(Err(e)) => return Err(A::Error::custom(e)),
                        None => break,
                    }
                }
                Ok(Templates(out))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

fn fast_native(input: &[u8]) -> Option<Result<Input<'_>, InputError>> {
    STEPS_HINT.with(|h| h.set(input.len() / BYTES_PER_STEP_HINT));
    // Validate UTF-8 once (vectorised) so the reader does not re-check every string it borrows;
    // invalid UTF-8 falls through to the slow path, which reports where.
    let text = std::str::from_utf8(input).ok()?;
    let body: FastBody<'_> = serde_json::from_str(text).ok()?;
    if body.bundle || body.workflows {
        return None;
    }
    let mut fw = body.workflow?;
    let templates = fw
        .workflow_data
        .take()?
        .templates
        .map_or_else(Vec::new, |t| t.0);
    Some(fast_workflow(fw, templates, body.triggers))
}

fn fast_workflow<'a>(
    fw: FastWorkflow<'a>,
    steps: Vec<Step<'a>>,
    outer_triggers: Option<Value>,
) -> Result<Input<'a>, InputError> {
    let nested = fw.settings.as_ref().and_then(Value::as_object);
    let settings = parse_settings(|key| {
        let own = match key {
            "allowMultiple" => fw.allow_multiple.as_ref(),
            "allowMultipleOpportunity" => fw.allow_multiple_opportunity.as_ref(),
            "stopOnResponse" => fw.stop_on_response.as_ref(),
            "timezone" => fw.timezone.as_ref(),
            "sendingWindow" => fw.sending_window.as_ref(),
            "window" => fw.window.as_ref(),
            _ => None,
        };
        own.or_else(|| nested.and_then(|n| n.get(key)))
    });
    let triggers = match (fw.triggers, outer_triggers) {
        (Some(t), _) => Some(parse_triggers(t, "/workflow/triggers")?),
        (None, Some(t)) => Some(parse_triggers(t, "/triggers")?),
        (None, None) => None,
    };
    Ok(Input::Single(Workflow {
        id: string_of(fw.underscore_id)
            .or_else(|| string_of(fw.id))
            .unwrap_or_default(),
        name: string_of(fw.name).unwrap_or_default(),
        status: string_of(fw.status),
        version: fw.version.as_ref().and_then(Value::as_i64),
        updated_at: string_of(fw.updated_at),
        created_at: string_of(fw.created_at),
        settings,
        steps,
        triggers,
        format: SourceFormat::Native,
    }))
}

/// One list of export steps still to flatten: its items, where it sits, and where control goes
/// after its last step (the step after the enclosing if/else, if any).
struct Sequence {
    items: Vec<Value>,
    ptr: String,
    after: Option<String>,
    parent: Option<String>,
    first_parent_key: Option<String>,
}

/// Flatten the export format iteratively (an explicit stack, never recursion): steps without
/// `next` run in list order; `meta.branches[]` become branch nodes whose actions continue to the
/// step after the if/else.
fn export_steps(
    v: Value,
    ptr: &str,
    budget: &mut Budget,
) -> Result<Vec<Step<'static>>, InputError> {
    let items = match v {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => {
            return Err(InputError::not_workflow(
                ptr,
                format!("`steps` must be an array, found {}", kind_of(&other)),
            ))
        }
    };
    let mut out = Vec::new();
    let mut stack = vec![Sequence {
        items,
        ptr: ptr.to_owned(),
        after: None,
        parent: None,
        first_parent_key: None,
    }];
    while let Some(seq) = stack.pop() {
        budget.take(seq.items.len())?;
        let ids: Vec<String> = seq
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| id_of(it.get("id")).unwrap_or_else(|| format!("{}/{i}", seq.ptr)))
            .collect();
        let chained = !seq.items.iter().any(|it| it.get("next").is_some());
        for (i, item) in seq.items.into_iter().enumerate() {
            let sptr = format!("{}/{i}", seq.ptr);
            let mut o = step_object(item, &sptr)?;
            let id = ids[i].clone();
            let follower = ids.get(i + 1).cloned().or_else(|| seq.after.clone());
            let mut meta = o.remove("meta").unwrap_or(Value::Null);
            let branches = meta
                .as_object_mut()
                .and_then(|m| m.remove("branches"))
                .and_then(|b| match b {
                    Value::Array(a) => Some(a),
                    _ => None,
                });
            let mut next = parse_next(o.remove("next"), &|| sptr.clone())?;
            let parent_key = take_string(&mut o, "parentKey").or_else(|| {
                if i == 0 {
                    seq.first_parent_key.clone()
                } else {
                    ids.get(i.wrapping_sub(1)).cloned()
                }
            });
            let kind = take_string(&mut o, "type").unwrap_or_default();
            let disabled = bool_of(o.get("disabled")).unwrap_or(false);
            let name = take_string(&mut o, "name").unwrap_or_default();
            let mut node_type = None;
            let mut cat = None;
            // An if/else's branch nodes, pushed right after it.
            let mut branch_steps = Vec::new();
            if let Some(branches) = branches {
                budget.take(branches.len())?;
                let count = branches.len();
                let mut branch_ids = Vec::with_capacity(count);
                branch_steps.reserve(count);
                for (b, branch) in branches.into_iter().enumerate() {
                    let bptr = format!("{sptr}/meta/branches/{b}");
                    let mut bo = step_object(branch, &bptr)?;
                    let bid = id_of(bo.get("id")).unwrap_or_else(|| bptr.clone());
                    let bname = take_string(&mut bo, "name").unwrap_or_default();
                    let lname = bname.trim().to_ascii_lowercase();
                    let is_none = matches!(lname.as_str(), "none" | "else" | "no")
                        || (b + 1 == count && count > 1 && lname.is_empty());
                    let actions = match bo.remove("actions").or_else(|| bo.remove("steps")) {
                        Some(Value::Array(a)) => a,
                        _ => Vec::new(),
                    };
                    let first = actions
                        .first()
                        .map(|a| id_of(a.get("id")).unwrap_or_else(|| format!("{bptr}/actions/0")));
                    let bnext = match first.clone() {
                        Some(f) => Next::One(Cow::Owned(f)),
                        None => follower
                            .clone()
                            .map_or(Next::None, |f| Next::One(Cow::Owned(f))),
                    };
                    bo.remove("id");
                    branch_steps.push(Step {
                        id: Cow::Owned(bid.clone()),
                        kind: Cow::Borrowed("branch"),
                        name: Cow::Owned(bname),
                        next: bnext,
                        parent_key: Some(Cow::Owned(id.clone())),
                        parent: Some(Cow::Owned(id.clone())),
                        node_type: Some(Cow::Borrowed(if is_none {
                            "branch-no"
                        } else {
                            "branch-yes"
                        })),
                        // What is left of the branch object: its conditions, as on a native branch.
                        attributes: Attributes::from_value(Value::Object(bo)),
                        ..Step::default()
                    });
                    if !actions.is_empty() {
                        stack.push(Sequence {
                            items: actions,
                            ptr: format!("{bptr}/actions"),
                            after: follower.clone(),
                            parent: Some(bid.clone()),
                            first_parent_key: Some(bid.clone()),
                        });
                    }
                    branch_ids.push(Cow::Owned(bid));
                }
                next = Next::Many(branch_ids);
                node_type = Some(Cow::Borrowed("condition-node"));
                cat = Some(Cow::Borrowed("conditions"));
            } else {
                if chained && matches!(next, Next::None) {
                    if let Some(f) = follower {
                        next = Next::One(Cow::Owned(f));
                    }
                }
                if let Some(c) = take_string(&mut o, "cat") {
                    cat = Some(Cow::Owned(c));
                }
                if let Some(n) = take_string(&mut o, "nodeType") {
                    node_type = Some(Cow::Owned(n));
                }
            }
            out.push(Step {
                id: Cow::Owned(id),
                kind: Cow::Owned(kind),
                name: Cow::Owned(name),
                order: None,
                next,
                parent_key: parent_key.map(Cow::Owned),
                parent: seq.parent.clone().map(Cow::Owned),
                cat,
                node_type,
                attributes: Attributes::from_value(meta),
                disabled,
            });
            out.extend(branch_steps);
        }
    }
    Ok(out)
}
