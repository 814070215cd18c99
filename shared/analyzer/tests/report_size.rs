//! The HTML report's size and time grow in proportion to the input: over the benchmark's
//! realistic mix (benches/shapes.rs), drawn graphs included, and for the 10,000-step body (above
//! `MAX_GRAPH_NODES`: a note instead of the graph).

use std::time::Instant;

#[path = "../benches/shapes.rs"]
mod shapes;

use workflow_analyzer::{analyze_input, html_report, parse, AnalyzeOptions, MAX_GRAPH_NODES};

/// (input bytes, report bytes, graph nodes drawn, issues) for `n` steps.
fn report_of(n: usize) -> (usize, usize, usize, usize) {
    let body = shapes::workflow(n);
    let input = parse(&body).unwrap();
    let result = analyze_input(&input, &AnalyzeOptions::at(1_795_392_000));
    let started = Instant::now();
    let html = html_report(&result, &input, None);
    let took = started.elapsed();
    let nodes = html.matches("<g class=\"node ").count();
    println!(
        "{n} steps: {} bytes in, {} issues, report {} bytes ({} per input byte), {nodes} nodes drawn, {took:?}",
        body.len(),
        result.issues.len(),
        html.len(),
        html.len() / body.len().max(1)
    );
    (body.len(), html.len(), nodes, result.issues.len())
}

#[test]
fn the_report_grows_in_proportion_to_the_input() {
    let (small_in, small_out, small_nodes, _) = report_of(200);
    let (large_in, large_out, large_nodes, _) = report_of(MAX_GRAPH_NODES);
    assert_eq!((small_nodes, large_nodes), (200, MAX_GRAPH_NODES));
    let size = large_in as f64 / small_in as f64;
    let ratio = large_out as f64 / small_out as f64;
    assert!(ratio < size * 1.5, "x{size:.1} input, x{ratio:.1} report");
}

#[test]
fn a_10000_step_workflow_gets_a_note_and_a_bounded_report() {
    let (input, out, nodes, _) = report_of(10_000);
    assert_eq!(nodes, 0, "above MAX_GRAPH_NODES the graph is a note");
    assert!(
        out < 4 * input,
        "{out} bytes of report for {input} bytes of input"
    );
}
