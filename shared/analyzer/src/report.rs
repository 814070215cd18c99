//! The HTML report (`workflow-audit FILE --format html`): one self-contained page a person reads
//! and forwards. The score card (score, grade, confidence, scoring version, rules not run and why,
//! assumed platform defaults), each workflow drawn in SVG from the analyzer's own layout
//! ([`crate::structure_of`]: the same nodes and edges as the React Flow structure) with every
//! finding pinned on its steps and coloured by severity, the grouped issues with why each
//! matters, how to fix it and when it does not apply (from the rule registry), and for a bundle
//! an account overview.
//!
//! Self-contained and inert: no script, no external request (a Content-Security-Policy meta tag
//! allows only the page's own `<style>` block), every input-derived string escaped (workflow JSON
//! is hostile input). Prints on A4 or Letter (`@media print`). Linear in the input: each issue
//! and step is written a bounded number of times; workflows above [`MAX_GRAPH_NODES`] steps (or
//! past the report's total budget) get a note instead of a graph.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use super::baseline::{BaselineState, Comparison};
use super::model::{Input, Workflow};
use super::registry::{registry, RuleInfo};
use super::result::{AnalysisResult, Detail, Issue, PurposeKind, Stats, Summary};
use super::rules::Severity;
use super::structure::{self, Structure};

/// Most steps of one workflow drawn as a graph; a larger workflow gets a note instead (a graph
/// of thousands of boxes is unreadable on a page and heavy to render).
pub const MAX_GRAPH_NODES: usize = 2_000;
/// Most steps drawn over a whole report (a bundle's workflows together).
const MAX_REPORT_NODES: usize = 10_000;
/// Most step names an issue lists; the rest are counted.
const MAX_LISTED_STEPS: usize = 50;
/// Node box in layout pixels (the layout's gaps are 280 across and 150 down).
const NODE_W: i64 = 220;
const NODE_H: i64 = 62;
const PAD: i64 = 40;
/// Longest label drawn in a node, in characters.
const NODE_LABEL: usize = 28;

/// HTML-escape `s` for text and for double- or single-quoted attribute values: `&`, `<`, `>`,
/// `"` and `'` become entities, and control characters (other than tab and newline) become
/// U+FFFD, so nothing in a workflow can open a tag, close an attribute or smuggle a control code.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_escaped(&mut out, s);
    out
}

fn push_escaped(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(pos) = rest
        .bytes()
        .position(|b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'') || b < 0x20 || b == 0x7f)
    {
        out.push_str(&rest[..pos]);
        let b = rest.as_bytes()[pos];
        out.push_str(match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            b'\t' => "\t",
            b'\n' => "\n",
            _ => "\u{FFFD}",
        });
        rest = &rest[pos + 1..];
    }
    // C1 controls (U+0080..U+009F) are two-byte characters; replace them too.
    if rest.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
        for c in rest.chars() {
            out.push(if ('\u{80}'..='\u{9f}').contains(&c) {
                '\u{FFFD}'
            } else {
                c
            });
        }
    } else {
        out.push_str(rest);
    }
}

/// Escaped, cut to `max` characters (an ellipsis marks the cut).
fn push_cut(out: &mut String, s: &str, max: usize) {
    match s.char_indices().nth(max) {
        Some((at, _)) => {
            push_escaped(out, &s[..at]);
            out.push('…');
        }
        None => push_escaped(out, s),
    }
}

fn esc(s: &str) -> String {
    escape_html(s)
}

const CSS: &str = r#"
:root{--critical:#b3261e;--high:#d9480f;--medium:#e8a100;--low:#1c7ed6;--info:#868e96;--ink:#1f2328;--muted:#59636e;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}
body{font:15px/1.5 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);margin:0;background:#fff}
main{max-width:1100px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}h3{font-size:16px;margin:0 0 6px}
.sub,.note,.meta{color:var(--muted)}.meta{font-size:13px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--bg);padding:1px 4px;border-radius:4px;overflow-wrap:anywhere}
a{color:#0969da}
.card{display:flex;flex-wrap:wrap;gap:24px;align-items:center;border:1px solid var(--line);border-radius:10px;padding:18px 22px;margin:18px 0;background:var(--bg)}
.score{font-size:54px;font-weight:700;line-height:1}.score small{font-size:18px;color:var(--muted);font-weight:400}
.grade{font-size:22px;font-weight:600}
.g-Critical{color:var(--critical)}.g-Poor{color:var(--high)}.g-Fair{color:#9a6700}.g-Good{color:#1a7f37}.g-Excellent{color:#1a7f37}
.facts{display:grid;grid-template-columns:auto auto;gap:2px 14px;font-size:14px}.facts dt{color:var(--muted)}.facts dd{margin:0}
.counts{display:flex;flex-wrap:wrap;gap:6px}
.chip,.badge{display:inline-block;border-radius:999px;padding:1px 9px;font-size:12.5px;font-weight:600;color:#fff;white-space:nowrap}
.sev-critical.chip,.sev-critical.badge{background:var(--critical)}.sev-high.chip,.sev-high.badge{background:var(--high)}
.sev-medium.chip,.sev-medium.badge{background:var(--medium);color:#1f2328}.sev-low.chip,.sev-low.badge{background:var(--low)}.sev-info.chip,.sev-info.badge{background:var(--info)}
.state{display:inline-block;border:1px solid currentColor;border-radius:4px;padding:0 6px;font-size:12px;font-weight:600;margin-left:6px}
.state-new{color:var(--critical)}.state-unchanged{color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:14px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}th{background:var(--bg)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.issue{border:1px solid var(--line);border-left:6px solid var(--info);border-radius:8px;padding:12px 16px;margin:12px 0}
.issue.sev-critical{border-left-color:var(--critical)}.issue.sev-high{border-left-color:var(--high)}.issue.sev-medium{border-left-color:var(--medium)}.issue.sev-low{border-left-color:var(--low)}
.issue dl{margin:8px 0 0}.issue dt{font-weight:600;font-size:13px;margin-top:6px}.issue dd{margin:0 0 0 0}
.msg{margin:4px 0}
.steps{font-size:13.5px;margin:6px 0 0}
.graph-wrap{border:1px solid var(--line);border-radius:8px;padding:8px;overflow:auto;background:#fff}
svg.graph{display:block;max-width:100%;height:auto;margin:0 auto}
.node rect{fill:#fff;stroke:#8c959f;stroke-width:1.5}
.node text{font:14px -apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#1f2328}.node text.type{font-size:11.5px;fill:#59636e}
.node.t-condition rect,.node.t-multiPath rect{fill:#f3f0ff}.node.t-branch rect,.node.t-path rect{fill:#f6f8fa}.node.t-wait rect{fill:#fff8e6}
.node.sev-critical rect{stroke:var(--critical);stroke-width:4}.node.sev-high rect{stroke:var(--high);stroke-width:4}.node.sev-medium rect{stroke:var(--medium);stroke-width:3.5}.node.sev-low rect{stroke:var(--low);stroke-width:3}.node.sev-info rect{stroke:var(--info);stroke-width:2.5}
.pin circle{stroke:#fff;stroke-width:2}.pin text{font:bold 12px Arial,sans-serif;fill:#fff}
.pin.sev-critical circle{fill:var(--critical)}.pin.sev-high circle{fill:var(--high)}.pin.sev-medium circle{fill:var(--medium)}.pin.sev-medium text{fill:#1f2328}.pin.sev-low circle{fill:var(--low)}.pin.sev-info circle{fill:var(--info)}
.edge{fill:none;stroke:#8c959f;stroke-width:1.6}.edge.k-goto{stroke-dasharray:6 4;stroke:#8250df}.edge.back{stroke-dasharray:3 3}
.edge-label{font:11px Arial,sans-serif;fill:#8250df}
.legend{display:flex;flex-wrap:wrap;gap:8px;font-size:13px;margin:8px 0 0}
.skipped table{font-size:13px}.skipped td:first-child{width:55%}
footer{margin-top:40px;font-size:12.5px;color:var(--muted)}
@page{margin:14mm 12mm}
@media print{
 body{font-size:11pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}
 main{max-width:none;padding:0}
 a{color:inherit;text-decoration:none}
 .card,.issue,tr,.graph-wrap,.legend{break-inside:avoid;page-break-inside:avoid}
 h2,h3{break-after:avoid;page-break-after:avoid}
 .graph-wrap{overflow:visible;border:none;padding:0}
 svg.graph{width:auto;height:auto;max-width:100%;max-height:240mm}
 section.workflow{break-before:auto}
 section.issues,section.overview{break-before:page;page-break-before:always}
}
"#;

/// What the report shows of each rule beyond its title and fix: why it matters and when it does
/// not apply, from the registry.
fn rule_texts() -> HashMap<&'static str, RuleInfo> {
    registry().into_iter().map(|r| (r.id, r)).collect()
}

/// One workflow's findings by step id: the worst severity, the first issue (for the link) and
/// the issues' indices.
type Pins<'r> = HashMap<&'r str, (Severity, Vec<usize>)>;

/// The self-contained HTML report of `result`, the analysis of `input`. With a `comparison`
/// (`--baseline`) each issue is marked new or unchanged and the fixed ones are listed.
pub fn html_report(
    result: &AnalysisResult,
    input: &Input<'_>,
    comparison: Option<&Comparison>,
) -> String {
    html_report_view(result, input, comparison, Detail::Full)
}

/// The report as `detail` shows the result. [`Detail::Full`] is [`html_report`];
/// [`Detail::Top`] is the report of the summary view ([`AnalysisResult::view`]): the score card
/// with every count, the graph, and only the `n` most severe issues, without how to fix them,
/// without accepted findings and without a comparison, with a note saying what is left out.
pub fn html_report_view(
    result: &AnalysisResult,
    input: &Input<'_>,
    comparison: Option<&Comparison>,
    detail: Detail,
) -> String {
    match detail {
        Detail::Full => report(result, input, comparison, None),
        Detail::Top(n) => {
            let mut top = result.clone();
            top.issues.truncate(n);
            for issue in &mut top.issues {
                issue.recommendation = Cow::Borrowed("");
                issue.fixes.clear();
            }
            top.suppressed.clear();
            report(&top, input, None, Some(result.issues.len()))
        }
    }
}

/// The report of `result`; `of_total` is the whole result's issue count when `result` shows
/// only its top issues.
fn report(
    result: &AnalysisResult,
    input: &Input<'_>,
    comparison: Option<&Comparison>,
    of_total: Option<usize>,
) -> String {
    let workflows = input.workflows();
    let is_bundle = matches!(input, Input::Bundle(_));
    let mut out = String::with_capacity(16 * 1024 + result.issues.len() * 1_500);
    let title = match (&result.workflow, is_bundle) {
        (Some(w), _) if !w.name.is_empty() => w.name.clone(),
        (_, true) => format!("Account audit: {} workflows", workflows.len()),
        _ => "Untitled workflow".to_owned(),
    };

    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<meta name=\"generator\" content=\"workflow-audit\">\n<title>Workflow audit: ");
    push_cut(&mut out, &title, 120);
    out.push_str("</title>\n<style>");
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n<main>\n<header>\n<h1>");
    push_escaped(&mut out, &title);
    out.push_str("</h1>\n<p class=\"sub\">Workflow audit report");
    if let Some(w) = &result.workflow {
        if !w.id.is_empty() {
            out.push_str(" · workflow id <code>");
            push_escaped(&mut out, &w.id);
            out.push_str("</code>");
        }
    }
    out.push_str("</p>\n</header>\n");

    score_card(&mut out, result);
    if let Some(total) = of_total {
        let _ = writeln!(
            out,
            "<p class=\"note top-only\" id=\"top-only\">This report shows the {} most severe of {total} issues, without how to fix them.</p>",
            result.issues.len()
        );
    }
    if let Some(c) = comparison {
        baseline_summary(&mut out, c);
    }
    if is_bundle {
        overview(&mut out, result, workflows);
    }

    // Issues by workflow: an issue names its workflow in a bundle; a single input has one.
    // With repeated workflow ids (hostile bundles) the first workflow with the id gets them.
    let mut first_with_id: HashMap<&str, usize> = HashMap::new();
    for (k, w) in workflows.iter().enumerate() {
        first_with_id.entry(w.id.as_str()).or_insert(k);
    }
    let mut pins: Vec<Pins<'_>> = vec![HashMap::new(); workflows.len()];
    let mut issue_workflow: Vec<Option<usize>> = Vec::with_capacity(result.issues.len());
    for (n, issue) in result.issues.iter().enumerate() {
        let wf = match &issue.workflow_id {
            Some(id) => first_with_id.get(id.as_str()).copied(),
            None if !is_bundle => Some(0),
            None => None,
        };
        issue_workflow.push(wf);
        let Some(p) = wf.and_then(|k| pins.get_mut(k)) else {
            continue;
        };
        for step in issue.step_ids() {
            let e = p.entry(step).or_insert((issue.severity, Vec::new()));
            e.0 = e.0.max(issue.severity);
            if e.1.last() != Some(&n) {
                e.1.push(n);
            }
        }
    }

    let mut budget = MAX_REPORT_NODES;
    for (k, w) in workflows.iter().enumerate() {
        workflow_section(&mut out, k, w, is_bundle, &pins[k], result, &mut budget);
    }
    issues_section(&mut out, result, &issue_workflow, comparison);
    if let Some(c) = comparison {
        fixed_section(&mut out, c);
    }

    out.push_str("<footer>Generated by workflow-audit (scoring ");
    push_escaped(&mut out, &result.scoring_version);
    out.push_str("). This page is self-contained: no script, no external resources. Step names, ids and messages come from the analyzed workflow.</footer>\n</main>\n</body>\n</html>\n");
    out
}

fn counts(out: &mut String, s: &Summary) {
    out.push_str("<div class=\"counts\">");
    for (sev, n) in [
        (Severity::Critical, s.critical),
        (Severity::High, s.high),
        (Severity::Medium, s.medium),
        (Severity::Low, s.low),
        (Severity::Info, s.info),
    ] {
        let _ = write!(
            out,
            "<span class=\"chip sev-{0}\">{1} {0}</span>",
            sev.as_str(),
            n
        );
    }
    out.push_str("</div>");
}

fn stats_line(s: &Stats) -> String {
    format!(
        "{} steps, {} branches, depth {}, {} loops, {} unknown step types",
        s.steps, s.branches, s.max_depth, s.cycles, s.unknown_types
    )
}

fn score_card(out: &mut String, r: &AnalysisResult) {
    let grade = r.grade.as_str();
    let _ = write!(
        out,
        "<section class=\"card scorecard\" aria-label=\"score\">\n<div><div class=\"score\" id=\"score\">{}<small>/100</small></div><div class=\"grade g-{grade}\" id=\"grade\">{grade}</div></div>\n",
        r.health_score
    );
    out.push_str("<dl class=\"facts\"><dt>Confidence</dt><dd id=\"confidence\">");
    out.push_str(r.confidence.as_str());
    if let Some(p) = r.workflow.as_ref().and_then(|w| w.purpose.as_ref()) {
        out.push_str("</dd><dt>Purpose</dt><dd id=\"purpose\">");
        push_escaped(
            out,
            match p.kind {
                PurposeKind::Transactional => "transactional",
                PurposeKind::Marketing => "marketing",
                PurposeKind::Internal => "internal",
            },
        );
        out.push_str(": ");
        push_escaped(out, &p.reason);
    }
    out.push_str("</dd><dt>Scoring version</dt><dd id=\"scoring-version\">");
    push_escaped(out, &r.scoring_version);
    out.push_str("</dd><dt>Analyzed</dt><dd>");
    out.push_str(&stats_line(&r.stats));
    let _ = writeln!(
        out,
        "</dd><dt>Issues</dt><dd>{} ({} findings)</dd></dl>",
        r.issues.len(),
        r.issues.iter().map(|i| u64::from(i.count)).sum::<u64>()
    );
    counts(out, &r.summary);
    out.push_str("\n</section>\n");

    if !r.assumed_defaults.is_empty() {
        out.push_str("<section class=\"assumed\"><h2>Assumed platform defaults</h2>\n<p class=\"note\">These verdicts rest on a HighLevel default the input did not show; check it in the account.</p>\n<ul>\n");
        for a in &r.assumed_defaults {
            out.push_str("<li><code>");
            push_escaped(out, &a.rule_id);
            out.push_str("</code>: ");
            push_escaped(out, &a.assumption);
            out.push_str("</li>\n");
        }
        out.push_str("</ul></section>\n");
    }
    if !r.suppressed.is_empty() {
        let _ = writeln!(
            out,
            "<section class=\"suppressed\"><h2>Accepted findings ({})</h2>\n<p class=\"note\">Suppressed by a configuration exception or an <code>audit-ignore:</code> step note; not counted in the score.</p>\n<ul>",
            r.suppressed.len()
        );
        for i in &r.suppressed {
            out.push_str("<li><code>");
            push_escaped(out, &i.rule_id);
            out.push_str("</code> ");
            push_escaped(out, &i.message);
            if let Some(sup) = &i.suppression {
                out.push_str(" <em>(");
                out.push_str(match sup.kind {
                    crate::result::SuppressionKind::InSource => "step note",
                    crate::result::SuppressionKind::External => "configuration",
                });
                out.push_str(": ");
                push_escaped(out, &sup.justification);
                out.push_str(")</em>");
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul></section>\n");
    }
    if !r.skipped_rules.is_empty() {
        // One line per reason (most share one: "send an account bundle"), in first-seen order.
        let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
        let mut at: HashMap<&str, usize> = HashMap::new();
        for s in &r.skipped_rules {
            let k = *at.entry(s.reason.as_str()).or_insert_with(|| {
                reasons.push((s.reason.as_str(), Vec::new()));
                reasons.len() - 1
            });
            reasons[k].1.push(&s.rule_id);
        }
        let _ = writeln!(
            out,
            "<section class=\"skipped\"><h2>Rules not run ({})</h2>\n<p class=\"note\">A rule whose needs the input does not meet is not run, and not counted as passed.</p>\n<table><thead><tr><th>Why they did not run</th><th>Rules</th></tr></thead><tbody>",
            r.skipped_rules.len()
        );
        for (reason, rules) in reasons {
            out.push_str("<tr><td>");
            push_escaped(out, reason);
            out.push_str("</td><td>");
            for (m, id) in rules.iter().enumerate() {
                if m > 0 {
                    out.push(' ');
                }
                out.push_str("<code class=\"skipped-rule\">");
                push_escaped(out, id);
                out.push_str("</code>");
            }
            out.push_str("</td></tr>\n");
        }
        out.push_str("</tbody></table></section>\n");
    }
}

fn baseline_summary(out: &mut String, c: &Comparison) {
    let _ = write!(
        out,
        "<section class=\"baseline\"><h2>Compared with the baseline</h2>\n<p id=\"baseline-counts\"><strong>{} new</strong>, {} unchanged, {} fixed",
        c.new.len(),
        c.unchanged,
        c.fixed.len()
    );
    if let (Some(before), Some(delta)) = (c.previous_score, c.score_delta) {
        let _ = write!(out, "; score {before} before ({delta:+})");
    }
    out.push_str(".</p></section>\n");
}

fn overview(out: &mut String, r: &AnalysisResult, workflows: &[Workflow<'_>]) {
    let _ = write!(
        out,
        "<section class=\"overview\"><h2>Account overview ({} workflows)</h2>\n<p class=\"note\">Ordered by score, lowest first (a static page cannot re-sort without script).</p>\n<table id=\"overview\"><thead><tr><th>Workflow</th><th class=\"num\">Score</th><th>Grade</th><th class=\"num\">Critical</th><th class=\"num\">High</th><th class=\"num\">Medium</th><th class=\"num\">Low</th><th class=\"num\">Info</th></tr></thead><tbody>\n",
        r.workflows.len()
    );
    // Link each line to its workflow's section (the first workflow with that id).
    let mut section: HashMap<&str, usize> = HashMap::new();
    for (k, w) in workflows.iter().enumerate() {
        section.entry(w.id.as_str()).or_insert(k);
    }
    let mut rows: Vec<&super::result::WorkflowScore> = r.workflows.iter().collect();
    rows.sort_by(|a, b| {
        a.health_score
            .cmp(&b.health_score)
            .then_with(|| a.name.cmp(&b.name))
    });
    for w in rows {
        out.push_str("<tr class=\"wf-row\"><td>");
        match section.get(w.id.as_str()) {
            Some(k) => {
                let _ = write!(out, "<a href=\"#wf-{k}\">");
                push_cut(out, display_name(&w.name), 120);
                out.push_str("</a>");
            }
            None => push_cut(out, display_name(&w.name), 120),
        }
        let s = &w.summary;
        let _ = writeln!(
            out,
            "</td><td class=\"num score-cell\">{}</td><td class=\"g-{1}\">{1}</td><td class=\"num\">{2}</td><td class=\"num\">{3}</td><td class=\"num\">{4}</td><td class=\"num\">{5}</td><td class=\"num\">{6}</td></tr>",
            w.health_score,
            w.grade.as_str(),
            s.critical,
            s.high,
            s.medium,
            s.low,
            s.info
        );
    }
    out.push_str("</tbody></table></section>\n");
}

fn display_name(name: &str) -> &str {
    if name.trim().is_empty() {
        "(unnamed)"
    } else {
        name
    }
}

fn workflow_section(
    out: &mut String,
    k: usize,
    w: &Workflow<'_>,
    is_bundle: bool,
    pins: &Pins<'_>,
    result: &AnalysisResult,
    budget: &mut usize,
) {
    let _ = write!(out, "<section class=\"workflow\" id=\"wf-{k}\"><h2>");
    if is_bundle {
        push_cut(out, display_name(&w.name), 200);
    } else {
        out.push_str("Workflow");
    }
    let _ = writeln!(
        out,
        " <span class=\"meta\">({} steps)</span></h2>",
        w.steps.len()
    );
    let n = w.steps.len();
    if n == 0 {
        out.push_str(
            "<p class=\"note graph-note\">This workflow has no steps to draw.</p></section>\n",
        );
        return;
    }
    if n > MAX_GRAPH_NODES || n > *budget {
        let why = if n > MAX_GRAPH_NODES {
            format!("more than {MAX_GRAPH_NODES} steps")
        } else {
            format!("the report already draws {MAX_REPORT_NODES} steps")
        };
        let _ = writeln!(
            out,
            "<p class=\"note graph-note\">The graph of this workflow's {n} steps is not drawn ({why}): a page of that many boxes cannot be read. Every issue below names its steps.</p></section>"
        );
        return;
    }
    // The legend goes under the first graph drawn only.
    let first_graph = *budget == MAX_REPORT_NODES;
    *budget -= n;
    // The layout alone: findings are pinned here from `pins`, which link to the issues.
    let bare = AnalysisResult {
        workflow: None,
        workflows: Vec::new(),
        health_score: result.health_score,
        grade: result.grade,
        confidence: result.confidence,
        scoring_version: String::new(),
        issues: Vec::new(),
        skipped_rules: Vec::new(),
        summary: Summary::default(),
        stats: Stats::default(),
        analysis_time_ms: 0,
        assumed_defaults: Vec::new(),
        suppressed: Vec::new(),
    };
    let s = structure::layout(w, &bare);
    svg(out, k, w, &s, pins, result);
    if !first_graph {
        out.push_str("</section>\n");
        return;
    }
    out.push_str("<div class=\"legend\">");
    for sev in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ] {
        let _ = write!(out, "<span class=\"chip sev-{0}\">{0}</span>", sev.as_str());
    }
    out.push_str("<span class=\"note\">a step's outline and pin show its most severe finding; the pin counts its issues and links to the first. Dashed purple: go-to.</span></div>\n</section>\n");
}

fn svg(
    out: &mut String,
    k: usize,
    w: &Workflow<'_>,
    s: &Structure,
    pins: &Pins<'_>,
    result: &AnalysisResult,
) {
    let (mut min_x, mut min_y, mut max_x, mut max_y) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
    for n in &s.nodes {
        min_x = min_x.min(n.position.x);
        min_y = min_y.min(n.position.y);
        max_x = max_x.max(n.position.x + NODE_W);
        max_y = max_y.max(n.position.y + NODE_H);
    }
    if s.nodes.is_empty() {
        return;
    }
    // Room for back edges looping out on the right and pins above.
    let (x0, y0) = (min_x - PAD, min_y - PAD);
    let width = max_x - min_x + 2 * PAD + 100;
    let height = max_y - min_y + 2 * PAD;
    let _ = write!(
        out,
        "<div class=\"graph-wrap\"><svg class=\"graph\" id=\"graph-{k}\" role=\"img\" aria-label=\"workflow graph\" width=\"{width}\" height=\"{height}\" viewBox=\"{x0} {y0} {width} {height}\">\n<defs><marker id=\"arrow-{k}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#8c959f\"/></marker></defs>\n"
    );
    let index: HashMap<&str, usize> = s
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    for e in &s.edges {
        let (Some(&a), Some(&b)) = (index.get(e.source.as_str()), index.get(e.target.as_str()))
        else {
            continue;
        };
        let (p, q) = (s.nodes[a].position, s.nodes[b].position);
        let kind = e.data.kind.as_str();
        let kind = match kind {
            "next" | "branch" | "transition" | "goto" => kind,
            _ => "other",
        };
        if q.y > p.y {
            let (sx, sy, tx, ty) = (p.x + NODE_W / 2, p.y + NODE_H, q.x + NODE_W / 2, q.y);
            let my = (sy + ty) / 2;
            let _ = writeln!(
                out,
                "<path class=\"edge k-{kind}\" marker-end=\"url(#arrow-{k})\" d=\"M{sx},{sy} C{sx},{my} {tx},{my} {tx},{ty}\"/>"
            );
            if kind == "goto" {
                let _ = writeln!(
                    out,
                    "<text class=\"edge-label\" x=\"{}\" y=\"{my}\">go to</text>",
                    (sx + tx) / 2 + 4
                );
            }
        } else {
            // Up or sideways (go-to, loops): out of the right side and back in.
            let (sx, sy, tx, ty) = (
                p.x + NODE_W,
                p.y + NODE_H / 2,
                q.x + NODE_W,
                q.y + NODE_H / 2,
            );
            let bulge = sx.max(tx) + 60;
            let _ = writeln!(
                out,
                "<path class=\"edge back k-{kind}\" marker-end=\"url(#arrow-{k})\" d=\"M{sx},{sy} C{bulge},{sy} {bulge},{ty} {tx},{ty}\"/>"
            );
            if kind == "goto" {
                let _ = writeln!(
                    out,
                    "<text class=\"edge-label\" x=\"{}\" y=\"{}\">go to</text>",
                    bulge - 20,
                    (sy + ty) / 2
                );
            }
        }
    }
    for (i, n) in s.nodes.iter().enumerate() {
        // Nodes are the steps in order; findings name steps by their (unsuffixed) id.
        let step_id = w.steps.get(i).map_or(n.id.as_str(), |st| &*st.id);
        let pin = pins.get(step_id);
        let (x, y) = (n.position.x, n.position.y);
        let sev = pin.map_or("none", |p| p.0.as_str());
        let node_type = match n.node_type.as_str() {
            t @ ("action" | "condition" | "branch" | "multiPath" | "path" | "wait" | "goto") => t,
            _ => "action",
        };
        if let Some((_, issues)) = pin {
            let _ = write!(out, "<a href=\"#issue-{}\">", issues[0]);
        }
        out.push_str("<g class=\"node sev-");
        out.push_str(sev);
        out.push_str(" t-");
        out.push_str(node_type);
        out.push_str("\" data-step-id=\"");
        push_escaped(out, step_id);
        let _ = write!(
            out,
            "\" data-severity=\"{sev}\" transform=\"translate({x},{y})\"><title>"
        );
        push_cut(out, &n.data.label, 200);
        out.push_str(" (");
        push_cut(out, &n.data.step_type, 60);
        out.push(')');
        if let Some((_, issues)) = pin {
            for (m, &ix) in issues.iter().enumerate().take(12) {
                out.push_str(if m == 0 { ": " } else { "; " });
                if let Some(issue) = result.issues.get(ix) {
                    out.push_str(issue.severity.as_str());
                    out.push(' ');
                    push_escaped(out, &issue.title);
                }
            }
            if issues.len() > 12 {
                let _ = write!(out, "; and {} more", issues.len() - 12);
            }
        }
        let r = if matches!(node_type, "condition" | "multiPath") {
            18
        } else if matches!(node_type, "branch" | "path") {
            30
        } else {
            8
        };
        let _ = write!(
            out,
            "</title><rect width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"{r}\"/><text x=\"12\" y=\"26\">"
        );
        push_cut(out, display_name(&n.data.label), NODE_LABEL);
        out.push_str("</text><text class=\"type\" x=\"12\" y=\"46\">");
        push_cut(out, &n.data.step_type, 34);
        out.push_str("</text>");
        if let Some((sev, issues)) = pin {
            let _ = write!(
                out,
                "<g class=\"pin sev-{}\" transform=\"translate({},0)\"><circle r=\"13\"/><text text-anchor=\"middle\" y=\"4\">{}</text></g>",
                sev.as_str(),
                NODE_W,
                issues.len()
            );
        }
        out.push_str("</g>");
        if pin.is_some() {
            out.push_str("</a>");
        }
        out.push('\n');
    }
    out.push_str("</svg></div>\n");
}

fn issues_section(
    out: &mut String,
    r: &AnalysisResult,
    issue_workflow: &[Option<usize>],
    comparison: Option<&Comparison>,
) {
    let texts = rule_texts();
    let _ = writeln!(
        out,
        "<section class=\"issues\"><h2>Issues ({})</h2>",
        r.issues.len()
    );
    if r.issues.is_empty() {
        out.push_str("<p class=\"none\">No issues found.</p>\n");
    }
    for (n, issue) in r.issues.iter().enumerate() {
        let state = comparison.and_then(|c| c.states.get(n)).copied();
        issue_block(
            out,
            n,
            issue,
            issue_workflow.get(n).copied().flatten(),
            state,
            &texts,
        );
    }
    out.push_str("</section>\n");
}

fn issue_block(
    out: &mut String,
    n: usize,
    issue: &Issue,
    workflow: Option<usize>,
    state: Option<BaselineState>,
    texts: &HashMap<&'static str, RuleInfo>,
) {
    let sev = issue.severity.as_str();
    let _ = write!(
        out,
        "<article class=\"issue sev-{sev}\" id=\"issue-{n}\" data-rule=\"",
    );
    push_escaped(out, &issue.rule_id);
    out.push_str("\" data-fingerprint=\"");
    push_escaped(out, &issue.fingerprint);
    out.push('"');
    if let Some(s) = state {
        let _ = write!(out, " data-baseline=\"{}\"", s.as_str());
    }
    let _ = write!(out, ">\n<h3><span class=\"badge sev-{sev}\">{sev}</span> ");
    push_escaped(out, &issue.title);
    out.push_str(" <code>");
    push_escaped(out, &issue.rule_id);
    out.push_str("</code>");
    if let Some(s) = state {
        let _ = write!(
            out,
            "<span class=\"state state-{0}\">{0}</span>",
            s.as_str()
        );
    }
    out.push_str("</h3>\n<p class=\"msg\">");
    push_escaped(out, &issue.message);
    out.push_str("</p>\n<p class=\"meta\">");
    if let Some(name) = &issue.workflow_name {
        out.push_str("Workflow: ");
        match workflow {
            Some(k) => {
                let _ = write!(out, "<a href=\"#wf-{k}\">");
                push_cut(out, display_name(name), 200);
                out.push_str("</a>");
            }
            None => push_cut(out, display_name(name), 200),
        }
        out.push_str(" · ");
    }
    let _ = write!(
        out,
        "{} occurrence{}",
        issue.count,
        if issue.count == 1 { "" } else { "s" }
    );
    if !issue.fingerprint.is_empty() {
        out.push_str(" · fingerprint <code>");
        push_escaped(out, &issue.fingerprint);
        out.push_str("</code>");
    }
    out.push_str("</p>\n");

    // The steps: the grouped list, or the one step.
    let steps: Vec<(&str, &str)> = if issue.steps.is_empty() {
        issue
            .step_id
            .as_deref()
            .map(|id| (id, issue.step_name.as_deref().unwrap_or("")))
            .into_iter()
            .collect()
    } else {
        issue
            .steps
            .iter()
            .take(MAX_LISTED_STEPS)
            .map(|s| (s.id.as_str(), s.name.as_str()))
            .collect()
    };
    if !steps.is_empty() {
        let total = issue.steps.len().max(steps.len());
        let _ = write!(
            out,
            "<p class=\"steps\">{} ({total}): ",
            if total == 1 { "Step" } else { "Steps" }
        );
        for (m, (id, name)) in steps.iter().enumerate() {
            if m > 0 {
                out.push_str(", ");
            }
            out.push('“');
            push_cut(out, display_name(name), 80);
            out.push_str("” <code>");
            push_cut(out, id, 80);
            out.push_str("</code>");
        }
        if total > steps.len() {
            let _ = write!(out, " and {} more", total - steps.len());
        }
        out.push_str("</p>\n");
    }

    let (why, not_applicable) = texts
        .get(&*issue.rule_id)
        .map_or(("", ""), |r| (r.why, r.not_applicable));
    out.push_str("<dl>");
    if !why.is_empty() {
        out.push_str("<dt>Why it matters</dt><dd class=\"why\">");
        push_escaped(out, why);
        out.push_str("</dd>");
    }
    if !issue.recommendation.is_empty() {
        out.push_str("<dt>How to fix it</dt><dd class=\"fix\">");
        push_escaped(out, &issue.recommendation);
        out.push_str("</dd>");
    }
    if !not_applicable.is_empty() {
        out.push_str("<dt>When it does not apply</dt><dd class=\"not-applicable\">");
        push_escaped(out, not_applicable);
        out.push_str("</dd>");
    }
    out.push_str("</dl>\n</article>\n");
}

fn fixed_section(out: &mut String, c: &Comparison) {
    let _ = writeln!(
        out,
        "<section class=\"fixed\"><h2>Fixed since the baseline ({})</h2>",
        c.fixed.len()
    );
    if c.fixed.is_empty() {
        out.push_str("<p class=\"none\">Nothing the baseline reported is gone.</p>\n");
    } else {
        out.push_str("<ul>\n");
        for f in &c.fixed {
            let _ = write!(
                out,
                "<li class=\"fixed-issue\" data-fingerprint=\"{}\"><span class=\"badge sev-{1}\">{1}</span> ",
                esc(&f.fingerprint),
                f.severity.as_str()
            );
            push_escaped(
                out,
                if f.title.is_empty() {
                    &f.rule_id
                } else {
                    &f.title
                },
            );
            out.push_str(" <code>");
            push_escaped(out, &f.rule_id);
            out.push_str("</code>");
            if let Some(name) = &f.workflow_name {
                out.push_str(" in ");
                push_cut(out, display_name(name), 200);
            }
            if !f.message.is_empty() {
                out.push_str(": ");
                push_escaped(out, &f.message);
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{analyze, compare, AnalyzeOptions, Baseline};

    #[test]
    fn escaping_neutralises_markup_quotes_ampersands_and_controls() {
        assert_eq!(
            escape_html("<script>alert(\"x\")</script>"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
        );
        assert_eq!(escape_html("a & b 'c'"), "a &amp; b &#39;c&#39;");
        assert_eq!(escape_html("&amp;"), "&amp;amp;");
        assert_eq!(escape_html("tab\there\nline"), "tab\there\nline");
        assert_eq!(
            escape_html("nul\0bell\u{7}c1\u{85}"),
            "nul\u{FFFD}bell\u{FFFD}c1\u{FFFD}"
        );
        assert_eq!(escape_html("héllo — ok"), "héllo — ok");
        let mut cut = String::new();
        push_cut(&mut cut, "<<<<<", 3);
        assert_eq!(cut, "&lt;&lt;&lt;…");
    }

    fn hostile() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "workflow": {"id": "wf\"><script>alert(1)</script>", "name": "</title><script>alert('name')</script> & co",
              "workflowData": {"templates": [
                {"id": "s1\"onmouseover=\"alert(1)", "type": "sms", "name": "<img src=x onerror=alert(1)>",
                 "attributes": {"body": "Hi {{contact.first_name}} <b>buy</b>"}, "next": "s2"},
                {"id": "s2", "type": "<svg onload=alert(1)>", "name": "Second & 'third'", "attributes": {}}
            ]}},
            "triggers": [{"type": "form_submission", "conditions": [{"field": "formId", "value": "f1"}]}]
        }))
        .unwrap()
    }

    #[test]
    fn hostile_names_ids_and_types_come_out_as_text() {
        let body = hostile();
        let input = crate::parse(&body).unwrap();
        let result = analyze(&body, &AnalyzeOptions::at(1_795_392_000)).unwrap();
        assert!(!result.issues.is_empty());
        let html = html_report(&result, &input, None);
        // The only tags are the report's own: nothing from the input opens one.
        for bad in ["<script", "<img", "<svg onload", "onmouseover=\""] {
            assert!(!html.contains(bad), "{bad} in the report");
        }
        assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(html.contains("&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt; &amp; co"));
        assert!(html.contains("data-step-id=\"s1&quot;onmouseover=&quot;alert(1)\""));
        // No reference outside the page: the only links are to anchors.
        assert!(html
            .match_indices("href=\"")
            .all(|(at, _)| html[at + 6..].starts_with('#')));
        assert!(html.contains("default-src 'none'"));
    }

    #[test]
    fn the_report_draws_every_step_and_lists_every_issue() {
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/workflows/critical.json"
        ))
        .unwrap();
        let input = crate::parse(&body).unwrap();
        let result = analyze(&body, &AnalyzeOptions::at(1_795_392_000)).unwrap();
        let html = html_report(&result, &input, None);
        assert!(html.contains("<dt>Purpose</dt><dd id=\"purpose\">marketing: "));
        let steps = input.workflows()[0].steps.len();
        assert_eq!(html.matches("<g class=\"node ").count(), steps);
        assert_eq!(
            html.matches("<article class=\"issue ").count(),
            result.issues.len()
        );
        for i in &result.issues {
            assert!(html.contains(&format!("data-fingerprint=\"{}\"", i.fingerprint)));
        }
        assert!(html.contains("@media print"));
        // Against itself as a baseline: every issue unchanged, none fixed.
        let c = compare(&result, &Baseline::of(&result));
        let html = html_report(&result, &input, Some(&c));
        assert_eq!(
            html.matches("data-baseline=\"unchanged\"").count(),
            result.issues.len()
        );
        assert!(html.contains("Fixed since the baseline (0)"));
    }

    #[test]
    fn the_top_view_lists_only_the_top_issues_without_fixes_or_accepted_findings() {
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/workflows/critical.json"
        ))
        .unwrap();
        let input = crate::parse(&body).unwrap();
        let result = analyze(&body, &AnalyzeOptions::at(1_795_392_000)).unwrap();
        assert!(result.issues.len() > 3, "the sample has more than 3 issues");
        let full = html_report(&result, &input, None);
        assert_eq!(full, html_report_view(&result, &input, None, Detail::Full));
        assert!(full.contains("How to fix it"));
        assert!(!full.contains("id=\"top-only\""));

        let c = compare(&result, &Baseline::of(&result));
        let top = html_report_view(&result, &input, Some(&c), Detail::Top(3));
        assert_eq!(top.matches("<article class=\"issue ").count(), 3);
        for (n, issue) in result.issues.iter().enumerate() {
            let listed = top.contains(&format!("data-fingerprint=\"{}\"", issue.fingerprint));
            assert_eq!(listed, n < 3, "issue {n}");
        }
        assert!(!top.contains("How to fix it"));
        assert!(
            !top.contains("data-baseline="),
            "no comparison in the top view"
        );
        assert!(top.contains(&format!(
            "the 3 most severe of {} issues",
            result.issues.len()
        )));
        // The graph is the same: every step drawn.
        let steps = input.workflows()[0].steps.len();
        assert_eq!(top.matches("<g class=\"node ").count(), steps);
    }

    #[test]
    fn a_huge_workflow_gets_a_note_instead_of_a_graph() {
        let steps: Vec<serde_json::Value> = (0..=MAX_GRAPH_NODES)
            .map(|i| serde_json::json!({"id": format!("s{i}"), "type": "add_contact_tag", "name": format!("Tag {i}"), "next": format!("s{}", i + 1)}))
            .collect();
        let body = serde_json::to_vec(
            &serde_json::json!({"workflow": {"name": "Big", "workflowData": {"templates": steps}}}),
        )
        .unwrap();
        let input = crate::parse(&body).unwrap();
        let result = analyze(&body, &AnalyzeOptions::at(1_795_392_000)).unwrap();
        let html = html_report(&result, &input, None);
        assert_eq!(html.matches("<g class=\"node ").count(), 0);
        assert!(html.contains("class=\"note graph-note\""));
    }
}
