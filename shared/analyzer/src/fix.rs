//! Fixes that apply themselves: for the rules with a safe, mechanical fix, an RFC 6902 JSON
//! Patch against the document that was analyzed (pointers as [`crate::sarif`] locates steps),
//! with a one-line description and a confidence; and a small RFC 6902 `apply` (add, replace,
//! remove, test) over `serde_json::Value`.
//!
//! Every fix is proven by `tests/fixes.rs`: applied to each fixture that raises it, the finding
//! is gone, no other finding appears and the result parses as the same format.

use serde_json::{json, Map, Value};

use super::pointers::StepPointers;
use super::result::{AnalysisResult, Fix, FixConfidence, Issue};
use super::sarif::escape;

/// The message keys a rule reads on a step (the graph's text keys), in the order fixes look.
const TEXT_KEYS: [&str; 6] = ["body", "message", "subject", "html", "text", "content"];
/// What `sms-without-opt-out`'s fix appends.
pub const OPT_OUT_TEXT: &str = "Reply STOP to opt out.";
/// The fallback `risky-merge-field`'s fix gives a greeting's merge field.
pub const GREETING_FALLBACK: &str = "there";
/// Greetings `risky-merge-field` judges (its own list).
const GREETINGS: [&str; 7] = [
    "hi",
    "hello",
    "hey",
    "dear",
    "good morning",
    "good afternoon",
    "good evening",
];
/// Where in a message a greeting's merge field is judged (characters from the start).
const GREETING_SPAN: usize = 40;

/// Why a patch did not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// An operation is not an object with a known `op` and the members it needs.
    #[error("operation {0} is malformed: {1}")]
    Malformed(usize, String),
    /// A pointer names nothing (or its parent is missing).
    #[error("operation {0}: no value at {1}")]
    Missing(usize, String),
    /// A `test` found another value.
    #[error("operation {0}: test failed at {1}")]
    TestFailed(usize, String),
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The parent of `path` and the last token (unescaped).
fn split(path: &str) -> Option<(&str, String)> {
    let at = path.rfind('/')?;
    Some((&path[..at], unescape(&path[at + 1..])))
}

/// Apply RFC 6902 operations (`add`, `replace`, `remove`, `test`) to `doc`, all or nothing.
pub fn apply_patch(doc: &mut Value, patch: &[Value]) -> Result<(), PatchError> {
    let mut work = doc.clone();
    for (n, op) in patch.iter().enumerate() {
        let bad = |why: &str| PatchError::Malformed(n, why.to_owned());
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no op"))?;
        let path = op
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no path"))?;
        let missing = || PatchError::Missing(n, path.to_owned());
        let value = || op.get("value").cloned().ok_or_else(|| bad("no value"));
        match kind {
            "test" => {
                if work.pointer(path) != Some(&value()?) {
                    return Err(PatchError::TestFailed(n, path.to_owned()));
                }
            }
            "replace" => {
                let v = value()?;
                *work.pointer_mut(path).ok_or_else(missing)? = v;
            }
            "add" => {
                let v = value()?;
                if path.is_empty() {
                    work = v;
                    continue;
                }
                let (parent, key) = split(path).ok_or_else(|| bad("path must start with /"))?;
                match work.pointer_mut(parent).ok_or_else(missing)? {
                    Value::Object(o) => {
                        o.insert(key, v);
                    }
                    Value::Array(a) => {
                        let at = if key == "-" {
                            a.len()
                        } else {
                            key.parse::<usize>()
                                .ok()
                                .filter(|&i| i <= a.len())
                                .ok_or_else(missing)?
                        };
                        a.insert(at, v);
                    }
                    _ => return Err(missing()),
                }
            }
            "remove" => {
                let (parent, key) = split(path).ok_or_else(|| bad("path must start with /"))?;
                match work.pointer_mut(parent).ok_or_else(missing)? {
                    Value::Object(o) => {
                        o.remove(&key).ok_or_else(missing)?;
                    }
                    Value::Array(a) => {
                        let at = key
                            .parse::<usize>()
                            .ok()
                            .filter(|&i| i < a.len())
                            .ok_or_else(missing)?;
                        a.remove(at);
                    }
                    _ => return Err(missing()),
                }
            }
            other => return Err(bad(&format!("op \"{other}\" is not supported"))),
        }
    }
    *doc = work;
    Ok(())
}

/// Where an issue's workflow and steps are in the document.
struct Places<'a> {
    doc: &'a Value,
    pointers: StepPointers,
}

impl<'a> Places<'a> {
    fn new(doc: &'a Value) -> Self {
        Places {
            doc,
            pointers: StepPointers::from_value(doc),
        }
    }

    fn workflow_index(&self, result: &AnalysisResult, issue: &Issue) -> Option<usize> {
        match (&issue.workflow_id, self.pointers.bundle_root()) {
            (Some(id), Some(_)) => result.workflows.iter().position(|w| &w.id == id),
            _ => None,
        }
    }

    /// Whether the issue's workflow is HighLevel's native builder JSON (`workflowData`), whose
    /// keys a patch must use (the simple export has its own).
    fn native(&self, wf: Option<usize>) -> bool {
        self.workflow(wf)
            .and_then(|p| self.doc.pointer(&p))
            .is_some_and(|w| w.get("workflowData").is_some())
    }

    /// The pointer of the issue's workflow object.
    fn workflow(&self, wf: Option<usize>) -> Option<String> {
        let p = match (wf, self.pointers.bundle_root()) {
            (Some(i), Some(root)) => format!("{root}/{i}"),
            (None, Some(_)) => return None,
            _ => self.pointers.single_root().to_owned(),
        };
        self.doc
            .pointer(&p)
            .is_some_and(Value::is_object)
            .then_some(p)
    }

    /// The pointer of a step's attribute object (`attributes`, or `meta` in the export format)
    /// and that object.
    fn attributes(
        &self,
        wf: Option<usize>,
        step: &str,
    ) -> Option<(String, &'a Map<String, Value>)> {
        let ptr = self
            .pointers
            .step(wf, step)
            .map(str::to_owned)
            .or_else(|| {
                (step.starts_with('/') && self.doc.pointer(step).is_some()).then(|| step.to_owned())
            })?;
        let s = self.doc.pointer(&ptr)?.as_object()?;
        ["attributes", "meta"].iter().find_map(|k| {
            s.get(*k)
                .and_then(Value::as_object)
                .map(|o| (format!("{ptr}/{k}"), o))
        })
    }
}

/// A rule's fix maker.
type Fixer = fn(&Issue, Option<usize>, &Places<'_>) -> Option<Fix>;

/// The fix maker of the rules that have one.
fn fixer(rule_id: &str) -> Option<Fixer> {
    Some(match rule_id {
        "sms-without-opt-out" => opt_out,
        "risky-merge-field" => greeting_fallback,
        "no-stop-on-response" => |_, wf, places| stop_on_response(wf, places),
        "send-without-window" => sending_window,
        "wait-without-timeout" => wait_timeout,
        "wait-misconfigured" => wait_unit,
        _ => return None,
    })
}

/// Whether any of the result's issues is of a rule with a fix: callers parse the document for
/// [`attach_fixes`] only then (most results have none, and the document can be large).
pub fn offers_fixes(result: &AnalysisResult) -> bool {
    result.issues.iter().any(|i| fixer(&i.rule_id).is_some())
}

/// Attach every applicable fix to the result's issues. `doc` is the document that was analyzed.
pub fn attach_fixes(result: &mut AnalysisResult, doc: &Value) {
    if !offers_fixes(result) {
        return;
    }
    let places = Places::new(doc);
    let fixes: Vec<Option<Fix>> = result
        .issues
        .iter()
        .map(|issue| {
            fixer(&issue.rule_id)
                .and_then(|make| make(issue, places.workflow_index(result, issue), &places))
        })
        .collect();
    for (issue, fix) in result.issues.iter_mut().zip(fixes) {
        issue.fixes = fix.into_iter().collect();
    }
}

/// The first message text of a step's attributes: (key, text).
fn message(attrs: &Map<String, Value>) -> Option<(&'static str, &str)> {
    TEXT_KEYS
        .iter()
        .find_map(|&k| attrs.get(k).and_then(Value::as_str).map(|t| (k, t)))
}

/// Replace one text attribute, guarded by a `test` of the text it was.
fn replace_text(ptr: &str, key: &str, old: &str, new: String) -> Vec<Value> {
    let path = format!("{ptr}/{}", escape(key));
    vec![
        json!({"op": "test", "path": path, "value": old}),
        json!({"op": "replace", "path": path, "value": new}),
    ]
}

fn opt_out(issue: &Issue, wf: Option<usize>, places: &Places<'_>) -> Option<Fix> {
    let step = issue.step_id.as_deref()?;
    let (ptr, attrs) = places.attributes(wf, step)?;
    let (key, text) = message(attrs)?;
    let trimmed = text.trim_end();
    let sep = if trimmed.is_empty() { "" } else { " " };
    Some(Fix {
        description: format!("Append \"{OPT_OUT_TEXT}\" to the first SMS."),
        confidence: FixConfidence::High,
        patch: replace_text(&ptr, key, text, format!("{trimmed}{sep}{OPT_OUT_TEXT}")),
    })
}

/// A text with its greeting's merge field given a fallback, when `risky-merge-field` judges it
/// by that field (the same test as the rule's).
fn with_greeting_fallback(text: &str) -> Option<String> {
    let open = text.find("{{")?;
    let after = &text[open + 2..];
    let close = after.find("}}")?;
    if after[..close].contains("{{") || open >= GREETING_SPAN {
        return None;
    }
    let inner = after[..close].trim();
    if inner.is_empty() || inner.contains('|') || inner.contains(char::is_whitespace) {
        return None;
    }
    let head = text[..open].trim_start().to_ascii_lowercase();
    let greeting = GREETINGS.iter().any(|g| head.starts_with(g));
    if !greeting || !(inner.starts_with("contact.") || inner.starts_with("contact_")) {
        return None;
    }
    Some(format!(
        "{}{{{{{inner} | default: \"{GREETING_FALLBACK}\"}}}}{}",
        &text[..open],
        &after[close + 2..]
    ))
}

fn greeting_fallback(issue: &Issue, wf: Option<usize>, places: &Places<'_>) -> Option<Fix> {
    let mut patch = Vec::new();
    for step in issue.step_ids() {
        let (ptr, attrs) = places.attributes(wf, step)?;
        // Every step of the issue must be the greeting case, or the fix would leave findings.
        let (key, old, new) = TEXT_KEYS.iter().find_map(|&k| {
            let t = attrs.get(k).and_then(Value::as_str)?;
            with_greeting_fallback(t).map(|n| (k, t, n))
        })?;
        patch.extend(replace_text(&ptr, key, old, new));
    }
    (!patch.is_empty()).then(|| Fix {
        description: format!(
            "Give the greeting's merge field a fallback: {{{{contact.first_name | default: \"{GREETING_FALLBACK}\"}}}}."
        ),
        confidence: FixConfidence::Medium,
        patch,
    })
}

/// The workflow-level settings object holding `key` (the workflow itself or its `settings`),
/// and the pointer to write it at.
fn setting_path(workflow: &str, doc: &Value, keys: &[&str]) -> (String, Option<Value>) {
    let w = doc.pointer(workflow);
    for k in keys {
        if let Some(v) = w.and_then(|w| w.get(*k)) {
            return (format!("{workflow}/{}", escape(k)), Some(v.clone()));
        }
        if let Some(v) = w.and_then(|w| w.get("settings")).and_then(|s| s.get(*k)) {
            return (
                format!("{workflow}/settings/{}", escape(k)),
                Some(v.clone()),
            );
        }
    }
    (format!("{workflow}/{}", escape(keys[0])), None)
}

fn set(path: String, old: Option<Value>, value: Value) -> Vec<Value> {
    match old {
        Some(old) => vec![
            json!({"op": "test", "path": path, "value": old}),
            json!({"op": "replace", "path": path, "value": value}),
        ],
        None => vec![json!({"op": "add", "path": path, "value": value})],
    }
}

fn stop_on_response(wf: Option<usize>, places: &Places<'_>) -> Option<Fix> {
    let w = places.workflow(wf)?;
    let (path, old) = setting_path(&w, places.doc, &["stopOnResponse"]);
    Some(Fix {
        description: "Turn on stop-on-response: the workflow ends when the contact replies."
            .to_owned(),
        confidence: FixConfidence::Medium,
        patch: set(path, old, Value::Bool(true)),
    })
}

/// The window `send-without-window`'s fix sets: 9:00 to 20:00, inside the rule's 8:00-21:00.
/// The sending window a fix gives a workflow: the builder's own shape (`window: {condition:
/// "when", start, end, days}`, every day) for native JSON, the export's `sendingWindow` otherwise.
fn default_window(native: bool) -> Value {
    if native {
        json!({"condition": "when", "start": "09:00", "end": "20:00", "days": [0, 1, 2, 3, 4, 5, 6]})
    } else {
        json!({"enabled": true, "start": "09:00", "end": "20:00"})
    }
}

fn sending_window(issue: &Issue, wf: Option<usize>, places: &Places<'_>) -> Option<Fix> {
    // Only the "no window at all" case: every step a wait without its own window, and no
    // workflow-wide window (a window outside the hours is a choice to review, not to patch).
    issue.step_id.as_ref()?;
    for step in issue.step_ids() {
        let (_, attrs) = places.attributes(wf, step)?;
        if ["window", "sendingWindow", "advanceWindow"]
            .iter()
            .any(|k| attrs.get(*k).is_some_and(|v| !v.is_null()))
        {
            return None;
        }
    }
    let w = places.workflow(wf)?;
    let native = places.native(wf);
    // The builder keeps the workflow's window in `window`; the export in `sendingWindow`.
    let keys: &[&str] = if native {
        &["window", "sendingWindow"]
    } else {
        &["sendingWindow", "window"]
    };
    let (path, old) = setting_path(&w, places.doc, keys);
    if old.as_ref().is_some_and(|v| !v.is_null()) {
        return None;
    }
    Some(Fix {
        description: "Give the workflow a sending window of 9:00-20:00 every day in its timezone (check the builder's own sending-hours setting).".to_owned(),
        confidence: FixConfidence::Low,
        patch: set(path, old, default_window(native)),
    })
}

fn wait_timeout(issue: &Issue, wf: Option<usize>, places: &Places<'_>) -> Option<Fix> {
    // In the builder a timeout is a multi-path wait: `convertToMultipath`, `startAfter`, a
    // `wait_timeout` transition and its own transition step, which a patch cannot draw safely
    // (a `timeout` key would read as fixed here and do nothing there). Native JSON gets none.
    if places.native(wf) {
        return None;
    }
    let mut patch = Vec::new();
    for step in issue.step_ids() {
        let (ptr, attrs) = places.attributes(wf, step)?;
        patch.extend(set(
            format!("{ptr}/timeout"),
            attrs.get("timeout").cloned(),
            json!({"enabled": true, "value": 3, "unit": "days"}),
        ));
    }
    (!patch.is_empty()).then(|| Fix {
        description: "Give the wait a 3-day timeout so contacts who never reply move on (then decide in the builder where the timeout path goes).".to_owned(),
        confidence: FixConfidence::Low,
        patch,
    })
}

/// The unit a wait's name states for `value` ("Wait 2 days" for 2): `minutes`, `hours`, `days`
/// or `weeks`.
fn stated_unit(name: &str, value: f64) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let n: f64 = lower[start..i].parse().ok()?;
        let word: String = lower[i..]
            .trim_start()
            .chars()
            .take_while(char::is_ascii_alphabetic)
            .collect();
        let unit = match word.as_str() {
            "min" | "mins" | "minute" | "minutes" => "minutes",
            "h" | "hr" | "hrs" | "hour" | "hours" => "hours",
            "d" | "day" | "days" => "days",
            "w" | "wk" | "wks" | "week" | "weeks" => "weeks",
            _ => continue,
        };
        return (n == value).then_some(unit);
    }
    None
}

fn wait_unit(issue: &Issue, wf: Option<usize>, places: &Places<'_>) -> Option<Fix> {
    // Only a wait whose amount is there and whose name states the unit for that amount.
    let name = issue.step_name.as_deref()?;
    let step = issue.step_id.as_deref()?;
    let (ptr, attrs) = places.attributes(wf, step)?;
    let start = attrs.get("startAfter")?.as_object()?;
    let value = match start.get("value")? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    if value <= 0.0
        || start
            .get("type")
            .or(start.get("unit"))
            .is_some_and(|u| u.is_string() && !u.as_str().is_some_and(str::is_empty))
    {
        return None;
    }
    let unit = stated_unit(name, value)?;
    let key = if start.contains_key("unit") && !start.contains_key("type") {
        "unit"
    } else {
        "type"
    };
    let path = format!("{ptr}/startAfter/{key}");
    Some(Fix {
        description: format!("Set the wait's missing unit to {unit}, as its name says."),
        confidence: FixConfidence::High,
        patch: set(path, start.get(key).cloned(), Value::from(unit)),
    })
}

/// Apply every fix of at least `min` confidence to `doc`, re-analyzing between rounds so fixes
/// that touch the same text apply one after the other. Returns the fixes applied (rule id and
/// fix), in order. `analyze` gives the result (with fixes attached) of a document.
pub fn apply_fixes(
    doc: &mut Value,
    min: FixConfidence,
    mut analyze: impl FnMut(&Value) -> Option<AnalysisResult>,
) -> Vec<(String, Fix)> {
    let mut applied: Vec<(String, Fix)> = Vec::new();
    // Each round applies at least one fix or stops; a fix never applies twice.
    for _ in 0..16 {
        let Some(result) = analyze(doc) else { break };
        let mut any = false;
        for issue in &result.issues {
            for fix in issue.fixes.iter().filter(|f| f.confidence >= min) {
                if applied
                    .iter()
                    .any(|(r, f)| *r == *issue.rule_id && f == fix)
                {
                    continue;
                }
                if apply_patch(doc, &fix.patch).is_ok() {
                    applied.push((issue.rule_id.to_string(), fix.clone()));
                    any = true;
                }
            }
        }
        if !any {
            break;
        }
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_ops_apply_all_or_nothing() {
        let mut doc = json!({"a": {"b": [1, 2]}, "c~/d": "x"});
        apply_patch(
            &mut doc,
            &[
                json!({"op": "test", "path": "/c~0~1d", "value": "x"}),
                json!({"op": "replace", "path": "/c~0~1d", "value": "y"}),
                json!({"op": "add", "path": "/a/b/-", "value": 3}),
                json!({"op": "add", "path": "/a/b/0", "value": 0}),
                json!({"op": "remove", "path": "/a/b/1"}),
                json!({"op": "add", "path": "/a/e", "value": true}),
            ],
        )
        .unwrap();
        assert_eq!(doc, json!({"a": {"b": [0, 2, 3], "e": true}, "c~/d": "y"}));
        let before = doc.clone();
        let err = apply_patch(
            &mut doc,
            &[
                json!({"op": "add", "path": "/z", "value": 1}),
                json!({"op": "test", "path": "/a/e", "value": false}),
            ],
        );
        assert!(matches!(err, Err(PatchError::TestFailed(1, _))));
        assert_eq!(doc, before, "nothing applies when one op fails");
        assert!(apply_patch(&mut doc, &[json!({"op": "remove", "path": "/nope"})]).is_err());
        assert!(apply_patch(&mut doc, &[json!({"op": "move", "path": "/a"})]).is_err());
        assert!(apply_patch(
            &mut doc,
            &[json!({"op": "add", "path": "/a/b/9", "value": 1})]
        )
        .is_err());
    }

    #[test]
    fn greeting_fallback_follows_the_rule() {
        assert_eq!(
            with_greeting_fallback("Hi {{contact.first_name}}, welcome").as_deref(),
            Some("Hi {{contact.first_name | default: \"there\"}}, welcome")
        );
        assert_eq!(
            with_greeting_fallback("Hi {{contact.first_name | default: \"x\"}}"),
            None
        );
        assert_eq!(
            with_greeting_fallback("Thanks {{contact.first_name}}"),
            None
        );
        assert_eq!(with_greeting_fallback("Hi {{location.name}}"), None);
        assert_eq!(stated_unit("Wait 2 days", 2.0), Some("days"));
        assert_eq!(stated_unit("Wait 2 days", 3.0), None);
        assert_eq!(stated_unit("Wait", 3.0), None);
    }
}
