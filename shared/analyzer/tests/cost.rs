//! The analyzer's cost is bounded by its input: over generated hostile shapes at growing sizes,
//! the bytes it allocates per input byte stay under a fixed bound, and the shapes that once cost
//! tens to hundreds of times a benign body of their size now cost about as much as one.
//! Allocation is counted by a global allocator (deterministic, unlike time).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

#[path = "../benches/shapes.rs"]
mod shapes;

use workflow_analyzer::{analyze, AnalyzeOptions, InputError};

struct Counting;

thread_local! {
    // Per thread: the tests run in parallel, and each counts only its own analysis.
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    let _ = ALLOCATED.try_with(|a| a.set(a.get() + bytes));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes allocated by one parse + analysis of `body`, and whether it was refused.
fn cost(body: &[u8]) -> (usize, Result<(), InputError>) {
    let before = ALLOCATED.with(Cell::get);
    let outcome = analyze(body, &AnalyzeOptions::at(1_795_392_000)).map(|_| ());
    (ALLOCATED.with(Cell::get) - before, outcome)
}

/// The bound per input byte, beyond the fixed cost of any analysis (the catalogue, the result's
/// skeleton): what the realistic mix allocates is in the same range; a finding per step with
/// its message and step reference is what takes a shape near it.
const MAX_BYTES_ALLOCATED_PER_INPUT_BYTE: usize = 100;

/// What any analysis allocates, whatever its size: a ten-step workflow's cost.
fn fixed_cost() -> usize {
    cost(&shapes::workflow(10)).0
}

fn assert_bounded(name: &str, body: &[u8]) {
    let (allocated, _) = cost(body);
    let per_byte = allocated.saturating_sub(fixed_cost()) / body.len().max(1);
    println!(
        "{name}: {} bytes in, {allocated} allocated, {per_byte} per byte",
        body.len()
    );
    assert!(
        per_byte <= MAX_BYTES_ALLOCATED_PER_INPUT_BYTE,
        "{name}: {allocated} bytes allocated for a {}-byte body ({per_byte} per byte)",
        body.len()
    );
}

#[test]
fn the_realistic_mix_allocates_a_few_bytes_per_input_byte() {
    for n in [100, 1_000, 10_000] {
        assert_bounded(&format!("{n} realistic steps"), &shapes::workflow(n));
    }
}

#[test]
fn dangling_parent_keys_cost_linear_work_whatever_the_triggers() {
    for n in [1_000, 5_000, 20_000] {
        assert_bounded("dangling parents", &shapes::dangling_parents(n, 100));
    }
}

#[test]
fn thousands_of_triggers_are_refused_before_any_analysis() {
    let body = shapes::dangling_parents(1_000, 20_000);
    let (allocated, outcome) = cost(&body);
    assert!(
        matches!(outcome, Err(InputError::TooLarge { .. })),
        "{outcome:?}"
    );
    assert!(
        allocated / body.len() <= MAX_BYTES_ALLOCATED_PER_INPUT_BYTE,
        "{allocated} bytes allocated to refuse it"
    );
}

#[test]
fn a_tag_listed_and_added_thousands_of_times_costs_linear_work() {
    for k in [256, 1_024, 4_096] {
        assert_bounded("tag fan-out", &shapes::tag_fanout(k, k));
    }
}

#[test]
fn a_long_workflow_name_is_not_copied_into_every_finding() {
    for steps in [200, 2_000] {
        assert_bounded("long name", &shapes::long_name_typeless(200_000, steps));
    }
}

#[test]
fn field_updates_listing_thousands_of_fields_cost_linear_work() {
    for n in [1_000, 10_000, 30_000] {
        assert_bounded("many field writes", &shapes::many_field_writes(n));
    }
    // And time: every write of one update against every write of the next would take minutes.
    let body = shapes::many_field_writes(30_000);
    let started = std::time::Instant::now();
    let r = analyze(&body, &AnalyzeOptions::at(1_795_392_000)).expect("parses");
    assert!(r.issues.iter().any(|i| i.rule_id == "field-set-twice"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_field_update_naming_thousands_of_missing_fields_costs_linear_work() {
    for n in [1_000, 10_000, 30_000] {
        assert_bounded("many field ids", &shapes::many_field_ids(n));
    }
    let body = shapes::many_field_ids(30_000);
    let started = std::time::Instant::now();
    let r = analyze(&body, &AnalyzeOptions::at(1_795_392_000)).expect("parses");
    assert!(r
        .issues
        .iter()
        .any(|i| i.rule_id == "dangling-account-reference"));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn ids_built_to_collide_in_a_fixed_hasher_cost_what_other_ids_do() {
    assert_bounded("colliding ids", &shapes::colliding_steps(2_000));
}

#[test]
fn dangling_parents_cost_grows_in_proportion_to_the_input() {
    let small = shapes::dangling_parents(2_000, 100);
    let large = shapes::dangling_parents(20_000, 100);
    let (a, _) = cost(&small);
    let (b, _) = cost(&large);
    let ratio = b as f64 / a as f64;
    let size = large.len() as f64 / small.len() as f64;
    println!("dangling parents: x{size:.1} input, x{ratio:.1} allocated");
    assert!(ratio < size * 2.0, "x{size:.1} input cost x{ratio:.1}");
}

#[test]
#[ignore = "diagnostic: prints the allocation curve of the dangling-parents shape"]
fn dangling_parents_curve() {
    for n in [1_000, 2_000, 5_000, 10_000, 20_000] {
        let body = shapes::dangling_parents(n, 100);
        let (a, _) = cost(&body);
        let before = ALLOCATED.with(Cell::get);
        let input = workflow_analyzer::parse(&body).expect("parses");
        let parsed = ALLOCATED.with(Cell::get) - before;
        let _ = workflow_analyzer::analyze_input(&input, &AnalyzeOptions::at(1_795_392_000));
        let analyzed = ALLOCATED.with(Cell::get) - before - parsed;
        println!(
            "{n}: {} bytes in, {a} allocated ({parsed} parse, {analyzed} analysis), {:.1} per byte",
            body.len(),
            a as f64 / body.len() as f64
        );
    }
}

#[test]
#[ignore = "writes the hostile shapes and the 10,000-step body to $SHAPES_DIR, to time them with the release CLI"]
fn write_hostile_shapes() {
    let dir = std::env::var("SHAPES_DIR").unwrap_or_else(|_| "/tmp/shapes".to_owned());
    std::fs::create_dir_all(&dir).expect("dir");
    for (name, body) in shapes::hostile() {
        let benign = shapes::benign_of_size(body.len());
        std::fs::write(format!("{dir}/{name}.json"), &body).expect("write");
        std::fs::write(format!("{dir}/{name}_benign.json"), &benign).expect("write");
    }
    // The benchmark's 10,000-step body, for instruction counts of the release CLI
    // (docs/PERFORMANCE.md: `valgrind --tool=callgrind workflow-audit workflow_10000.json`).
    std::fs::write(
        format!("{dir}/workflow_10000.json"),
        shapes::workflow(10_000),
    )
    .expect("write");
}
