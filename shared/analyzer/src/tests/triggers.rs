//! The trigger rules (no trigger, triggers without their filter): each fires on the right step, has
//! a near miss where it must not, and a rule that needs more than the definition is skipped with
//! its reason when the input lacks it.

use serde_json::json;

use super::{body, body_with, chain, fires_on, run, silent, tag};

// ---------------------------------------------------------------- no-trigger

#[test]
fn no_trigger_fires_on_an_empty_trigger_list_and_is_skipped_without_one() {
    fires_on(
        &body_with(chain(vec![tag("a")]), json!([]), json!({})),
        "no-trigger",
        None,
    );
    silent(&body(chain(vec![tag("a")])), "no-trigger");
    let r = run(
        &json!({"workflow": {"name": "x", "workflowData": {"templates": chain(vec![tag("a")])}}}),
    );
    assert!(r.skipped_rules.iter().any(|k| k.rule_id == "no-trigger"));
    assert!(r
        .skipped_rules
        .iter()
        .any(|k| k.rule_id == "trigger-without-filter"));
    assert_eq!(r.confidence, crate::Confidence::Medium);
}

// ---------------------------------------------------------------- trigger-without-filter

#[test]
fn trigger_without_filter_fires_on_a_form_trigger_with_no_form() {
    let bare = json!([{"type": "form_submission", "name": "Any form", "conditions": []}]);
    fires_on(
        &body_with(chain(vec![tag("a")]), bare, json!({})),
        "trigger-without-filter",
        None,
    );
    let bare = json!([{"type": "appointment", "name": "Any appointment", "conditions": [{"field": "calendarId", "value": "c1"}]}]);
    fires_on(
        &body_with(chain(vec![tag("a")]), bare, json!({})),
        "trigger-without-filter",
        None,
    );
    silent(&body(chain(vec![tag("a")])), "trigger-without-filter");
}
