//! Parse + analyze benchmark for 10, 100, 1,000 and 10,000 steps of a realistic generated mix
//! (messages, waits with windows, if/else branches, webhooks, tags, field updates), and the
//! analysis alone (`analyze_input` on an already-built input) for 10,000 and 100,000 steps: the
//! API refuses more than `MAX_STEPS` (20,000), so the 100,000-step case builds the model directly
//! instead of raising the limit. Run: `cargo bench -p analyzer-core --bench analyzer`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::{json, Value};

use std::borrow::Cow;

use workflow_analyzer::{
    analyze, analyze_input, AnalyzeOptions, Attributes, Condition, Input, Next, Settings, Step,
    Trigger, Workflow,
};

/// A native-format body with exactly `n` steps: repeated blocks of an SMS, a wait, an email, an
/// if/else whose yes branch ends in a goal and whose None branch carries the sequence on, a
/// webhook, a tag and a field update.
fn workflow(n: usize) -> Vec<u8> {
    serde_json::to_vec(&workflow_value(n)).unwrap_or_default()
}

/// The same workflow built straight into the model, past the parser's step limit.
fn parsed(n: usize) -> Input<'static> {
    let v = workflow_value(n);
    let text = |s: &Value, k: &str| s[k].as_str().map(|x| Cow::Owned(x.to_owned()));
    let steps: Vec<Step<'static>> = v["workflow"]["workflowData"]["templates"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| Step {
                    id: text(s, "id").unwrap_or_default(),
                    kind: text(s, "type").unwrap_or_default(),
                    name: text(s, "name").unwrap_or_default(),
                    next: match &s["next"] {
                        Value::String(id) => Next::One(Cow::Owned(id.clone())),
                        Value::Array(ids) => Next::Many(
                            ids.iter()
                                .filter_map(|i| i.as_str().map(|i| Cow::Owned(i.to_owned())))
                                .collect(),
                        ),
                        _ => Next::None,
                    },
                    parent_key: text(s, "parentKey"),
                    cat: text(s, "cat"),
                    node_type: text(s, "nodeType"),
                    attributes: Attributes::from_value(s["attributes"].clone()),
                    ..Step::default()
                })
                .collect()
        })
        .unwrap_or_default();
    Input::Single(Workflow {
        id: "bench".into(),
        name: "Benchmark nurture".into(),
        status: Some("published".into()),
        settings: Settings {
            stop_on_response: Some(true),
            ..Settings::default()
        },
        steps,
        triggers: Some(vec![Trigger {
            kind: "form_submission".into(),
            active: true,
            conditions: vec![Condition {
                field: "formId".into(),
                operator: "==".into(),
                value: json!("f1"),
            }],
            ..Trigger::default()
        }]),
        ..Workflow::default()
    })
}

fn workflow_value(n: usize) -> Value {
    let mut steps: Vec<Value> = Vec::with_capacity(n);
    let mut prev: Option<String> = None;
    let mut k = 0usize;
    while steps.len() < n {
        let id = |s: &str| format!("{s}-{k}");
        let window = json!({"start": "09:00", "end": "18:00"});
        let block = vec![
            json!({"id": id("sms"), "type": "sms", "name": format!("SMS {k}"), "next": id("wait"),
                   "attributes": {"body": "Hi {{contact.first_name | default: \"there\"}}, quick update. Reply STOP to opt out."}}),
            json!({"id": id("wait"), "type": "wait", "name": format!("Wait {k}"), "next": id("email"),
                   "attributes": {"type": "time", "startAfter": {"type": "days", "value": 1, "when": "after"}, "window": window}}),
            json!({"id": id("email"), "type": "email", "name": format!("Email {k}"), "next": id("cond"),
                   "attributes": {"subject": "News", "html": "<p>Hello</p><a href=\"{{unsubscribe_link}}\">Unsubscribe</a>"}}),
            json!({"id": id("cond"), "type": "if_else", "name": format!("Replied {k}?"), "cat": "conditions",
                   "nodeType": "condition-node", "next": [id("yes"), id("no")], "attributes": {}}),
            json!({"id": id("yes"), "type": "if_else", "name": "Replied", "nodeType": "branch-yes", "next": id("goal"), "attributes": {}}),
            json!({"id": id("no"), "type": "if_else", "name": "None", "nodeType": "branch-no", "next": id("hook"), "attributes": {}}),
            json!({"id": id("goal"), "type": "workflow_goal", "name": "Goal", "attributes": {}}),
            json!({"id": id("hook"), "type": "custom_webhook", "name": format!("CRM {k}"), "next": id("tag"),
                   "attributes": {"url": "{{custom_values.crm_url}}", "method": "POST", "saveResponse": true,
                                  "headers": [{"key": "Authorization", "value": "Bearer {{custom_values.crm_token}}"}]}}),
            json!({"id": id("tag"), "type": "add_contact_tag", "name": format!("Tag {k}"), "next": id("field"),
                   "attributes": {"tags": ["nurtured"]}}),
            json!({"id": id("field"), "type": "update_contact_field", "name": format!("Field {k}"),
                   "attributes": {"fieldId": "cf_stage", "value": "nurtured"}}),
        ];
        for mut s in block {
            if steps.len() == n {
                break;
            }
            if let Some(p) = &prev {
                s["parentKey"] = json!(p);
            }
            prev = s["id"].as_str().map(str::to_owned);
            steps.push(s);
        }
        // Link this block's last step to the next block's first.
        let more = steps.len() < n;
        if let Some(last) = steps.last_mut() {
            if last["type"] == "update_contact_field" && more {
                last["next"] = json!(format!("sms-{}", k + 1));
            }
        }
        k += 1;
    }
    json!({
        "workflow": {"_id": "bench", "name": "Benchmark nurture", "status": "published", "stopOnResponse": true,
                     "workflowData": {"templates": steps}},
        "triggers": [{"type": "form_submission", "conditions": [{"field": "formId", "value": "f1"}]}]
    })
}

fn bench(c: &mut Criterion) {
    let opts = AnalyzeOptions::at(1_795_392_000);
    let mut group = c.benchmark_group("parse_and_analyze");
    for n in [10usize, 100, 1_000, 10_000] {
        let body = workflow(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &body, |b, body| {
            b.iter(|| analyze(std::hint::black_box(body), &opts).map(|r| r.health_score))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("analyze_parsed");
    for n in [10_000usize, 100_000] {
        let input = parsed(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            b.iter(|| analyze_input(std::hint::black_box(input), &opts).health_score)
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
