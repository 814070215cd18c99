//! Property tests: random graphs (cycles, self-loops, duplicate and dangling ids, huge fan-out,
//! long chains) never panic, score within 0..=100, and give the same result twice.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::NOW;
use crate::{analyze, structure, AnalyzeOptions};

const KINDS: &[&str] = &[
    "sms",
    "email",
    "wait",
    "if_else",
    "goto",
    "webhook",
    "custom_webhook",
    "add_contact_tag",
    "create_opportunity",
    "internal_update_opportunity",
    "transition",
    "mystery_step",
    "",
];

fn step_strategy(ids: usize) -> impl Strategy<Value = Value> {
    let id = 0..ids + 4; // ids past the end dangle; repeats duplicate
    (
        id.clone(),
        0..KINDS.len(),
        prop_oneof![
            Just(Value::Null),
            id.clone().prop_map(|t| json!(format!("s{t}"))),
            prop::collection::vec(id.clone().prop_map(|t| format!("s{t}")), 0..6).prop_map(|v| json!(v)),
        ],
        id.clone(),
        any::<bool>(),
        0..3u8,
    )
        .prop_map(|(i, k, next, target, disabled, attrs)| {
            let kind = KINDS[k];
            let attributes = match (kind, attrs) {
                ("wait", 0) => json!({"type": "reply"}),
                ("wait", 1) => json!({"type": "time", "startAfter": {"type": "days", "value": 1}}),
                ("goto", _) => json!({"targetNodeId": format!("s{target}")}),
                ("sms", _) => json!({"body": "Hi {{contact.first_name}} {{ broken"}),
                ("webhook", _) => json!({"url": "http://localhost/x", "headers": {"Authorization": "Bearer abcdefghijklmnopqrstu"}}),
                (_, 2) => json!({"transitions": [{"id": format!("s{target}"), "name": "Timeout"}]}),
                _ => json!({}),
            };
            let mut s = json!({"id": format!("s{i}"), "type": kind, "name": "", "next": next,
                               "attributes": attributes, "advanceCanvasMeta": {"isDisabled": disabled}});
            if k % 3 == 0 {
                s["nodeType"] = json!(if i % 2 == 0 { "branch-yes" } else { "branch-no" });
            }
            if k % 4 == 0 {
                s["cat"] = json!("multi-path");
            }
            if target % 2 == 0 {
                s["parentKey"] = json!(format!("s{target}"));
            }
            s
        })
}

fn workflow_strategy() -> impl Strategy<Value = Value> {
    (1usize..40).prop_flat_map(|n| {
        (
            prop::collection::vec(step_strategy(n), 0..n),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(steps, with_triggers, bundle)| {
                let w = json!({"_id": "w", "name": "Random", "status": "published", "allowMultiple": true,
                               "workflowData": {"templates": steps}});
                let body = if with_triggers {
                    json!({"workflow": w, "triggers": [{"type": "contact_changed", "conditions": []}]})
                } else {
                    json!({"workflow": w})
                };
                if bundle {
                    json!({"workflows": [body.clone(), body], "users": [], "tags": ["x"]})
                } else {
                    body
                }
            })
    })
}

fn check(v: &Value) -> Result<(), TestCaseError> {
    let bytes = serde_json::to_vec(v).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let opts = AnalyzeOptions::at(NOW);
    let first = analyze(&bytes, &opts).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(first.health_score <= 100);
    prop_assert_eq!(first.summary.total() as usize, first.issues.len());
    let second = analyze(&bytes, &opts).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&first, &second);
    let s1 = structure(&bytes, None, &opts).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let s2 = structure(&bytes, None, &opts).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(s1, s2);
    Ok(())
}

/// Export-format steps with randomly nested if/else branches, ids sometimes missing or repeated.
fn export_strategy() -> impl Strategy<Value = Value> {
    let leaf = (0..KINDS.len(), prop::option::of(0usize..8)).prop_map(|(k, id)| {
        let mut s = json!({"type": KINDS[k], "name": "step", "meta": {"body": "Hi {{contact.first_name}}"}});
        if let Some(id) = id {
            s["id"] = json!(format!("e{id}"));
        }
        s
    });
    let steps = leaf.prop_recursive(4, 64, 6, |inner| {
        prop::collection::vec(
            (prop::collection::vec(inner, 0..4), any::<bool>()),
            1..3,
        )
        .prop_map(|branches| {
            let branches: Vec<Value> = branches
                .into_iter()
                .map(|(actions, none)| json!({"name": if none { "None" } else { "Yes" }, "actions": actions}))
                .collect();
            json!({"type": "if_else", "name": "Condition", "meta": {"branches": branches}})
        })
    });
    prop::collection::vec(steps, 0..8).prop_map(
        |steps| json!({"name": "Export", "status": "published", "triggers": [], "steps": steps}),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_exports_never_panic_and_score_within_bounds(v in export_strategy()) {
        check(&v)?;
    }

    #[test]
    fn random_graphs_never_panic_and_score_within_bounds(v in workflow_strategy()) {
        check(&v)?;
    }

    #[test]
    fn huge_fan_out_and_long_chains_are_handled(fan in 0usize..=crate::MAX_PATHS, chain in 0usize..3000) {
        let mut steps = vec![json!({"id": "hub", "type": "if_else", "cat": "conditions",
            "next": (0..fan).map(|i| format!("b{i}")).collect::<Vec<_>>()})];
        steps.extend((0..fan).map(|i| json!({"id": format!("b{i}"), "type": "if_else", "nodeType": "branch-yes",
            "next": if i % 2 == 0 { json!("hub") } else { json!("c0") }})));
        steps.extend((0..chain).map(|i| json!({"id": format!("c{i}"), "type": "sms",
            "next": format!("c{}", (i + 1) % chain.max(1))})));
        check(&json!({"workflow": {"workflowData": {"templates": steps}}, "triggers": []}))?;
    }

    #[test]
    fn random_bytes_are_an_error_or_a_result_never_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = analyze(&bytes, &AnalyzeOptions::at(NOW));
    }
}

/// The obvious (allocating) answers the case-insensitive searches must agree with.
fn lowered_contains(hay: &str, needle: &str) -> bool {
    hay.to_ascii_lowercase()
        .contains(&needle.to_ascii_lowercase())
}

fn lowered_phrase(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.to_ascii_lowercase(), needle.to_ascii_lowercase());
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    // Every occurrence, overlapping ones too ("  " twice in "   ").
    n.is_empty()
        || h.char_indices().any(|(i, _)| {
            h[i..].starts_with(&n)
                && !word(h[..i].chars().next_back())
                && !word(h[i + n.len()..].chars().next())
        })
}

proptest! {
    /// The case-insensitive searches every rule uses agree with the obvious lower-casing ones,
    /// on any text (multi-byte characters included) and any needle or list of needles, and a
    /// list answers as one search per needle would, in list order.
    #[test]
    fn case_insensitive_searches_agree_with_lowercasing(
        hay in "[a-cA-C €é_ .]{0,24}",
        needles in proptest::collection::vec("[a-cA-C €é]{0,3}", 0..6),
    ) {
        use crate::model::{contains_any_ci, contains_any_phrase_ci, contains_ci, find_any_ci};
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        for n in &needles {
            prop_assert_eq!(contains_ci(&hay, n), lowered_contains(&hay, n));
            prop_assert_eq!(contains_any_phrase_ci(&hay, &[n]), lowered_phrase(&hay, n));
        }
        let one_by_one = needles.iter().copied().find(|n| lowered_contains(&hay, n));
        prop_assert_eq!(find_any_ci(&hay, &needles), one_by_one);
        prop_assert_eq!(contains_any_ci(&hay, &needles), one_by_one.is_some());
        prop_assert_eq!(
            contains_any_phrase_ci(&hay, &needles),
            needles.iter().any(|n| lowered_phrase(&hay, n))
        );
    }

    /// A message text's byte-pair filter never hides a match: the filtered searches agree with
    /// the plain ones, bytes whose low five bits collide with letters (`!`, `@`, a backtick)
    /// and multi-byte characters included.
    #[test]
    fn pair_filtered_searches_agree_with_lowercasing(
        hay in "[a-cA-C!@`€é_ .]{0,40}",
        needles in proptest::collection::vec("[a-cA-C!@`€é ]{0,4}", 0..6),
    ) {
        use crate::model::{Pairs, Text};
        let pairs = Pairs::of(&hay);
        let text = Text { text: &hay, pairs: &pairs };
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        for n in &needles {
            prop_assert_eq!(text.has(n), lowered_contains(&hay, n));
            prop_assert_eq!(text.has_any_phrase(&[n]), lowered_phrase(&hay, n));
        }
        prop_assert_eq!(
            text.has_any(&needles),
            needles.iter().any(|n| lowered_contains(&hay, n))
        );
    }
}
