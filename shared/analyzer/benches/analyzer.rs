//! Parse + analyze benchmark for 10, 100, 1,000 and 10,000 steps of a realistic generated mix
//! (messages, waits with windows, if/else branches, webhooks, tags, field updates), the
//! 10,000-step case split into the parser alone and the analysis of what it built, and the
//! analysis alone (`analyze_input` on an already-built input) for 10,000 and 100,000 steps: the
//! API refuses more than `MAX_STEPS` (20,000), so the 100,000-step case builds the model directly
//! instead of raising the limit. Then the hostile shapes of the security review beside a benign body
//! of the same size (`hostile/<shape>` and `hostile/<shape>_benign`): each once cost 10 to 200
//! times its benign twin. Run: `cargo bench -p workflow-analyzer --bench analyzer`.

mod shapes;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde_json::{json, Value};

use std::borrow::Cow;

use workflow_analyzer::{
    analyze, analyze_input, AnalyzeOptions, Attributes, Condition, Input, Next, Settings, Step,
    Trigger, Workflow,
};

/// The same workflow built straight into the model, past the parser's step limit.
fn parsed(n: usize) -> Input<'static> {
    let v = shapes::workflow_value(n);
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

fn bench(c: &mut Criterion) {
    let opts = AnalyzeOptions::at(1_795_392_000);
    let mut group = c.benchmark_group("parse_and_analyze");
    for n in [10usize, 100, 1_000, 10_000] {
        let body = shapes::workflow(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &body, |b, body| {
            b.iter(|| analyze(std::hint::black_box(body), &opts).map(|r| r.health_score))
        });
    }
    group.finish();

    // The 10,000-step case split in two: the parser alone, and the analysis of what it built.
    let body = shapes::workflow(10_000);
    let input = workflow_analyzer::parse(&body).expect("the benchmark body parses");
    let mut group = c.benchmark_group("split_10000");
    group.bench_function("parse", |b| {
        b.iter(|| {
            workflow_analyzer::parse(std::hint::black_box(&body)).map(|i| i.workflows().len())
        })
    });
    group.bench_function("analyze", |b| {
        b.iter(|| analyze_input(std::hint::black_box(&input), &opts).health_score)
    });
    group.finish();
    drop(input);

    let mut group = c.benchmark_group("analyze_parsed");
    for n in [10_000usize, 100_000] {
        let input = parsed(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, input| {
            b.iter(|| analyze_input(std::hint::black_box(input), &opts).health_score)
        });
    }
    group.finish();

    let mut group = c.benchmark_group("hostile");
    for (name, body) in shapes::hostile() {
        let benign = shapes::benign_of_size(body.len());
        group.bench_with_input(BenchmarkId::from_parameter(name), &body, |b, body| {
            b.iter(|| analyze(std::hint::black_box(body), &opts).map(|r| r.health_score))
        });
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{name}_benign")),
            &benign,
            |b, body| b.iter(|| analyze(std::hint::black_box(body), &opts).map(|r| r.health_score)),
        );
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
