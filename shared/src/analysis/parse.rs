//! Parsing: the three input formats (native builder JSON, simple export, account bundle) into the
//! one model, with limits checked first and JSON pointers on every error.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::error::{InputError, Limit};
use super::model::{
    AccountLists, Bundle, Condition, Input, Next, Settings, SourceFormat, Step, Trigger, Workflow,
};
use super::{MAX_INPUT_BYTES, MAX_STEPS, MAX_WORKFLOWS};

/// Parse a request body (or a file) into the model. Accepts `{"workflow": .., "triggers": [..]}`,
/// `{"bundle": {..}}`, a bare native workflow, a bare export, or a bare bundle.
pub fn parse(input: &[u8]) -> Result<Input, InputError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge {
            what: Limit::Bytes,
            limit: MAX_INPUT_BYTES,
            actual: input.len(),
        });
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

/// Parse an already-decoded JSON value (the HTTP layer may have decoded the body itself).
pub fn parse_value(value: Value) -> Result<Input, InputError> {
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

fn parse_bundle(value: Value, ptr: &str, budget: &mut Budget) -> Result<Bundle, InputError> {
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
                let triggers = o.remove("triggers").map(|t| (t, format!("{iptr}/triggers")));
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

fn parse_account(obj: &mut Map<String, Value>, ptr: &str) -> Result<AccountLists, InputError> {
    let mut a = AccountLists::default();
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
    Ok(a)
}

fn parse_workflow(
    value: Value,
    ptr: &str,
    outer_triggers: Option<(Value, String)>,
    budget: &mut Budget,
) -> Result<Workflow, InputError> {
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
    w.settings = parse_settings(&obj);

    if let Some(data) = obj.remove("workflowData") {
        let dptr = format!("{ptr}/workflowData");
        let Value::Object(mut data) = data else {
            return Err(InputError::not_workflow(
                &dptr,
                format!("`workflowData` must be an object, found {}", kind_of(&data)),
            ));
        };
        w.steps = native_steps(data.remove("templates"), &format!("{dptr}/templates"), budget)?;
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

fn parse_settings(obj: &Map<String, Value>) -> Settings {
    let nested = obj.get("settings").and_then(Value::as_object);
    let get = |key: &str| obj.get(key).or_else(|| nested.and_then(|n| n.get(key)));
    Settings {
        allow_multiple: bool_of(get("allowMultiple")).unwrap_or(false),
        allow_multiple_opportunity: bool_of(get("allowMultipleOpportunity")).unwrap_or(false),
        stop_on_response: bool_of(get("stopOnResponse")),
        timezone: get("timezone").and_then(Value::as_str).map(str::to_owned),
        sending_window: get("sendingWindow")
            .or_else(|| get("window"))
            .filter(|v| !v.is_null())
            .cloned(),
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

fn parse_next(v: Option<Value>, ptr: &str) -> Result<Next, InputError> {
    match v {
        None | Some(Value::Null) => Ok(Next::None),
        Some(Value::String(s)) if s.is_empty() => Ok(Next::None),
        Some(Value::String(s)) => Ok(Next::One(s)),
        Some(Value::Array(a)) => {
            let mut ids = Vec::with_capacity(a.len());
            for (i, item) in a.into_iter().enumerate() {
                match item {
                    Value::String(s) => ids.push(s),
                    Value::Number(n) => ids.push(n.to_string()),
                    other => {
                        return Err(InputError::not_workflow(
                            &format!("{ptr}/next/{i}"),
                            format!("`next` lists step ids, found {}", kind_of(&other)),
                        ))
                    }
                }
            }
            Ok(Next::Many(ids))
        }
        Some(Value::Number(n)) => Ok(Next::One(n.to_string())),
        Some(other) => Err(InputError::not_workflow(
            &format!("{ptr}/next"),
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

fn native_steps(v: Option<Value>, ptr: &str, budget: &mut Budget) -> Result<Vec<Step>, InputError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(InputError::not_workflow(
                ptr,
                format!("`templates` must be an array of steps, found {}", kind_of(&other)),
            ))
        }
    };
    budget.take(list.len())?;
    let mut steps = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let sptr = format!("{ptr}/{i}");
        let mut o = step_object(item, &sptr)?;
        let disabled = o
            .get("advanceCanvasMeta")
            .and_then(|m| bool_of(m.get("isDisabled")))
            .or_else(|| bool_of(o.get("disabled")))
            .unwrap_or(false);
        let next = parse_next(o.remove("next"), &sptr)?;
        steps.push(Step {
            id: take_string(&mut o, "id")
                .or_else(|| take_string(&mut o, "_id"))
                .unwrap_or_else(|| sptr.clone()),
            kind: take_string(&mut o, "type").unwrap_or_default(),
            name: take_string(&mut o, "name").unwrap_or_default(),
            order: o.get("order").and_then(Value::as_i64),
            next,
            parent_key: take_string(&mut o, "parentKey").filter(|s| !s.is_empty()),
            parent: take_string(&mut o, "parent").filter(|s| !s.is_empty()),
            cat: take_string(&mut o, "cat"),
            node_type: take_string(&mut o, "nodeType"),
            attributes: o.remove("attributes").unwrap_or(Value::Null),
            disabled,
        });
    }
    Ok(steps)
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
fn export_steps(v: Value, ptr: &str, budget: &mut Budget) -> Result<Vec<Step>, InputError> {
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
            let mut next = parse_next(o.remove("next"), &sptr)?;
            let parent_key = take_string(&mut o, "parentKey")
                .or_else(|| if i == 0 { seq.first_parent_key.clone() } else { ids.get(i.wrapping_sub(1)).cloned() });
            let kind = take_string(&mut o, "type").unwrap_or_default();
            let disabled = bool_of(o.get("disabled")).unwrap_or(false);
            let name = take_string(&mut o, "name").unwrap_or_default();
            let mut node_type = None;
            let mut cat = None;
            if let Some(branches) = branches {
                budget.take(branches.len())?;
                let count = branches.len();
                let mut branch_ids = Vec::with_capacity(count);
                let mut branch_steps = Vec::with_capacity(count);
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
                        Some(f) => Next::One(f),
                        None => follower.clone().map_or(Next::None, Next::One),
                    };
                    branch_steps.push(Step {
                        id: bid.clone(),
                        kind: "branch".to_owned(),
                        name: bname,
                        next: bnext,
                        parent_key: Some(id.clone()),
                        parent: Some(id.clone()),
                        node_type: Some(if is_none { "branch-no" } else { "branch-yes" }.to_owned()),
                        attributes: bo.remove("conditions").unwrap_or(Value::Null),
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
                    branch_ids.push(bid);
                }
                next = Next::Many(branch_ids);
                node_type = Some("condition-node".to_owned());
                cat = Some("conditions".to_owned());
                out.push(Step {
                    id,
                    kind,
                    name,
                    order: None,
                    next,
                    parent_key,
                    parent: seq.parent.clone(),
                    cat,
                    node_type,
                    attributes: meta,
                    disabled,
                });
                out.extend(branch_steps);
                continue;
            }
            if chained && matches!(next, Next::None) {
                if let Some(f) = follower {
                    next = Next::One(f);
                }
            }
            if let Some(c) = take_string(&mut o, "cat") {
                cat = Some(c);
            }
            if let Some(n) = take_string(&mut o, "nodeType") {
                node_type = Some(n);
            }
            out.push(Step {
                id,
                kind,
                name,
                order: None,
                next,
                parent_key,
                parent: seq.parent.clone(),
                cat,
                node_type,
                attributes: meta,
                disabled,
            });
        }
    }
    Ok(out)
}
