//! Format B, the simple export (`steps[]` with `meta`), flattened iteratively into the model's
//! steps: list order when no step has `next`, `meta.branches[]` as branch nodes whose actions
//! continue to the step after the if/else.

use std::borrow::Cow;

use serde_json::Value;

use super::{bool_of, id_of, kind_of, step_object, take_string, Budget};
use crate::error::InputError;
use crate::model::{Attributes, Next, Step};

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
pub(super) fn export_steps(
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
            let ignores = ["comments", "notes"]
                .iter()
                .filter_map(|k| o.get(*k))
                .flat_map(super::audit_ignores)
                .collect();
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
                ignores,
                known_role: None,
            });
            out.extend(branch_steps);
        }
    }
    Ok(out)
}
