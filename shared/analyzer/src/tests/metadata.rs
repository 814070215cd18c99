//! The metadata rules (stale drafts, published test workflows, generic names): each fires on the
//! right step, has a near miss where it must not, and a rule that needs more than the definition is
//! skipped with its reason when the input lacks it.

use serde_json::json;

use super::{body, body_with, chain, fires_on, form_trigger, silent, tag};

// ---------------------------------------------------------------- stale-draft

#[test]
fn stale_draft_fires_on_an_old_draft() {
    let extra = |status: &str, updated: &str| json!({"status": status, "updatedAt": updated});
    fires_on(
        &body_with(
            chain(vec![tag("a")]),
            form_trigger(),
            extra("draft", "2026-01-05T10:00:00Z"),
        ),
        "stale-draft",
        None,
    );
    silent(
        &body_with(
            chain(vec![tag("a")]),
            form_trigger(),
            extra("draft", "2026-11-01T10:00:00Z"),
        ),
        "stale-draft",
    );
    silent(
        &body_with(
            chain(vec![tag("a")]),
            form_trigger(),
            extra("published", "2025-01-01T10:00:00Z"),
        ),
        "stale-draft",
    );
}

// ---------------------------------------------------------------- test-name-published

#[test]
fn test_name_published_fires_on_a_published_copy() {
    fires_on(
        &body_with(
            chain(vec![tag("a")]),
            form_trigger(),
            json!({"name": "Lead follow-up (Copy)"}),
        ),
        "test-name-published",
        None,
    );
    silent(
        &body_with(
            chain(vec![tag("a")]),
            form_trigger(),
            json!({"name": "Lead follow-up (Copy)", "status": "draft"}),
        ),
        "test-name-published",
    );
}

#[test]
fn test_name_published_is_silent_on_an_ab_test_by_name_or_split_step() {
    for name in [
        "Roof inspection invite - A/B subject test",
        "AB test: consult offer",
        "Split test - first SMS",
    ] {
        silent(
            &body_with(
                chain(vec![tag("a")]),
                form_trigger(),
                json!({ "name": name }),
            ),
            "test-name-published",
        );
    }
    // A workflow holding HighLevel's split step runs a real test, whatever its name says.
    let split = json!({"id": "sp", "type": "workflow_split", "name": "Subject line", "cat": "multi-path",
                       "attributes": {"type": "workflow_split", "condition": "random-split"}});
    silent(
        &body_with(
            chain(vec![split, tag("a")]),
            form_trigger(),
            json!({"name": "Consult invite test"}),
        ),
        "test-name-published",
    );
    // Near miss: a test name with neither, and a disabled split step.
    let off = json!({"id": "sp", "type": "workflow_split", "name": "Subject line",
                     "advanceCanvasMeta": {"isDisabled": true}, "attributes": {}});
    fires_on(
        &body_with(
            chain(vec![off, tag("a")]),
            form_trigger(),
            json!({"name": "Consult invite test"}),
        ),
        "test-name-published",
        None,
    );
}

// ---------------------------------------------------------------- generic-name

#[test]
fn generic_name_fires_on_new_workflow() {
    let r = fires_on(
        &body_with(
            chain(vec![tag("a")]),
            form_trigger(),
            json!({"name": "New Workflow : 1732000000"}),
        ),
        "generic-name",
        None,
    );
    assert_eq!(r.health_score, 100, "info findings cost nothing");
    silent(&body(chain(vec![tag("a")])), "generic-name");
}
