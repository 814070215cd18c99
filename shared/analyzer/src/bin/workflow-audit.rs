//! `workflow-audit`: run the analyzer on a file (or standard input) from a terminal or a CI
//! pipeline. Arguments are parsed by hand to keep the build light.
//!
//! ```text
//! workflow-audit FILE [--format json|text|sarif|html] [--top N] [--baseline OLD.json]
//!                     [--fail-on [new:]critical|high|medium|low]... [--config FILE | --no-config]
//! workflow-audit FILE --fix[=high|medium|low] [--dry-run] [--config FILE | --no-config]
//! workflow-audit --list-rules [--format text|json|markdown]
//! ```
//!
//! `--format sarif` writes a SARIF 2.1.0 log for code-scanning UIs: each result is located by FILE
//! and the JSON pointer of its step. `--format html` writes one self-contained HTML report (score
//! card, the workflow's graph with its findings, every issue with why it matters, how to fix it
//! and when it does not apply). `--list-rules` prints the rule registry (the Markdown form is
//! docs/RULES.md).
//!
//! `--baseline OLD.json` compares with an earlier `--format json` output by the issues' stable
//! fingerprints: each issue is new or unchanged, and the baseline's issues that are gone are
//! listed as fixed (text, JSON `baseline`, SARIF `baselineState`, HTML).
//!
//! Fixes: in JSON and SARIF output each issue with a safe mechanical fix carries
//! `fixes: [{description, confidence, patch}]`, the patch an RFC 6902 JSON Patch against FILE.
//! `--fix` applies every fix of at least medium confidence (`--fix=low` for all, `--fix=high`
//! for the surest) and writes FILE.fixed.json beside FILE (keys in sorted order); `--dry-run`
//! writes nothing and prints each fix's description and patch instead.
//!
//! Configuration: `.workflow-audit.toml`, looked for in FILE's directory and upward (stopping at a
//! directory holding `.git`, or the filesystem root), or given with `--config FILE`
//! (`--no-config`: the catalogue's defaults). It switches rules off, re-levels them, sets
//! thresholds and lists accepted exceptions; findings an exception or an `audit-ignore:` step
//! note covers are reported as suppressed, with their reason, and not counted (docs/ANALYZER.md).
//!
//! Exit status: 0 when the analysis ran and nothing reached a `--fail-on`; 1 when a finding is at
//! or above `--fail-on SEVERITY`, or a new finding (one the baseline does not have) is at or above
//! `--fail-on new:SEVERITY`; 2 when the input or the baseline could not be read or is not what it
//! should be.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use std::path::{Path, PathBuf};

use serde_json::Value;
use workflow_analyzer::{
    self as analysis, AnalysisResult, AnalyzeOptions, Baseline, BaselineState, Comparison, Detail,
    FixConfidence, RuleConfig, Severity,
};

/// The configuration file looked for upward from the input.
const CONFIG_FILE: &str = ".workflow-audit.toml";

const USAGE: &str = "usage: workflow-audit FILE [--format json|text|sarif|html] [--top N] [--baseline OLD.json] [--fail-on [new:]critical|high|medium|low]... [--config FILE | --no-config]\n       workflow-audit FILE --fix[=high|medium|low] [--dry-run]: write FILE.fixed.json with the fixes applied (default: medium and high)\n       workflow-audit --list-rules [--format text|json|markdown]\n       FILE is a workflow, a {\"workflow\": ..., \"triggers\": [...]} body or a bundle; - reads standard input\n       OLD.json is an earlier --format json output; --fail-on new:SEVERITY fails only on issues it does not have";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Text,
    Sarif,
    Html,
    Markdown,
}

/// One `--fail-on`: any finding at or above the severity, or (`new:`) only new ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FailOn {
    severity: Severity,
    new_only: bool,
}

impl FailOn {
    fn parse(v: &str) -> Result<FailOn, String> {
        let (new_only, sev) = match v.split_once(':') {
            Some((scope, sev)) if scope.trim().eq_ignore_ascii_case("new") => (true, sev),
            Some(_) => {
                return Err(format!(
                    "unknown --fail-on \"{v}\" (SEVERITY or new:SEVERITY, e.g. high or new:high)"
                ))
            }
            None => (false, v),
        };
        let severity = Severity::parse(sev)
            .filter(|s| *s != Severity::Info)
            .ok_or_else(|| format!("unknown severity \"{sev}\" (critical, high, medium or low)"))?;
        Ok(FailOn { severity, new_only })
    }

    /// Whether the result (and its comparison with the baseline) reaches this threshold.
    fn reached(&self, result: &AnalysisResult, comparison: Option<&Comparison>) -> bool {
        if self.new_only {
            comparison.is_some_and(|c| c.new_at_or_above(self.severity))
        } else {
            result.worst_severity().is_some_and(|w| w >= self.severity)
        }
    }
}

#[derive(Debug, PartialEq)]
struct Args {
    file: String,
    format: Format,
    detail: Detail,
    fail_on: Vec<FailOn>,
    baseline: Option<String>,
    list_rules: bool,
    config: ConfigChoice,
    /// `--fix`: the least confidence of the fixes applied.
    fix: Option<FixConfidence>,
    dry_run: bool,
}

/// Where the rule configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ConfigChoice {
    /// `.workflow-audit.toml` upward from the input, if there is one.
    Discover,
    /// `--config FILE`.
    File(String),
    /// `--no-config`.
    Defaults,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut file = None;
    let mut format = None;
    let mut list_rules = false;
    let mut detail = Detail::Full;
    let mut fail_on = Vec::new();
    let mut baseline = None;
    let mut config = ConfigChoice::Discover;
    let mut fix = None;
    let mut dry_run = false;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--format" => {
                format = Some(match value("--format")?.as_str() {
                    "json" => Format::Json,
                    "text" => Format::Text,
                    "sarif" => Format::Sarif,
                    "html" => Format::Html,
                    "markdown" | "md" => Format::Markdown,
                    other => {
                        return Err(format!(
                    "unknown format \"{other}\" (json, text, sarif, html; markdown with --list-rules)"
                ))
                    }
                })
            }
            "--list-rules" => list_rules = true,
            "--top" => {
                let v = value("--top")?;
                let n = v
                    .parse()
                    .map_err(|_| format!("--top takes a number of issues (got \"{v}\")"))?;
                detail = Detail::Top(n);
            }
            "--fail-on" => fail_on.push(FailOn::parse(&value("--fail-on")?)?),
            "--baseline" => baseline = Some(value("--baseline")?),
            "--config" => config = ConfigChoice::File(value("--config")?),
            "--no-config" => config = ConfigChoice::Defaults,
            "--fix" => {
                fix = Some(match inline.as_deref() {
                    None | Some("medium") => FixConfidence::Medium,
                    Some("high") => FixConfidence::High,
                    Some("low") => FixConfidence::Low,
                    Some(other) => {
                        return Err(format!(
                            "unknown --fix confidence \"{other}\" (high, medium or low)"
                        ))
                    }
                })
            }
            "--dry-run" => dry_run = true,
            "-h" | "--help" => return Err(String::new()),
            f if f.starts_with("--") => return Err(format!("unknown option {f}")),
            _ if file.is_none() => file = Some(arg),
            _ => return Err(format!("unexpected argument \"{arg}\"")),
        }
    }
    let format = match (list_rules, format) {
        (true, Some(Format::Sarif | Format::Html)) => {
            return Err("--list-rules prints text, json or markdown".into())
        }
        (true, f) => f.unwrap_or(Format::Text),
        (false, Some(Format::Markdown)) => {
            return Err(
                "markdown is a --list-rules format (json, text, sarif or html for a FILE)".into(),
            )
        }
        (false, f) => f.unwrap_or(Format::Json),
    };
    if format == Format::Html && detail != Detail::Full {
        return Err("--top does not apply to html: the report shows every issue".into());
    }
    if baseline.is_none() && fail_on.iter().any(|f| f.new_only) {
        return Err("--fail-on new:SEVERITY needs --baseline OLD.json (what is new is what OLD.json does not have)".into());
    }
    if dry_run && fix.is_none() {
        return Err("--dry-run goes with --fix".into());
    }
    if fix.is_some()
        && (file.as_deref() == Some("-") || baseline.is_some() || format != Format::Json)
    {
        return Err("--fix takes a FILE (not standard input) and no --format or --baseline".into());
    }
    if list_rules && (baseline.is_some() || !fail_on.is_empty() || fix.is_some()) {
        return Err("--list-rules takes no --baseline or --fail-on".into());
    }
    Ok(Args {
        file: match (list_rules, file) {
            (_, Some(f)) if list_rules => {
                return Err(format!("--list-rules takes no FILE (got \"{f}\")"))
            }
            (true, _) => String::new(),
            (false, f) => f.ok_or("missing FILE")?,
        },
        format,
        detail,
        fail_on,
        baseline,
        list_rules,
        config,
        fix,
        dry_run,
    })
}

/// Where `--fix` writes: `wf.json` to `wf.fixed.json`, beside it.
fn fixed_path(file: &str) -> PathBuf {
    let p = Path::new(file);
    let stem = p
        .file_stem()
        .map_or_else(|| "workflow".into(), |s| s.to_string_lossy().into_owned());
    p.with_file_name(format!("{stem}.fixed.json"))
}

/// `--fix`: apply the fixes and write FILE.fixed.json (or, with `--dry-run`, print them).
fn run_fix(args: &Args, doc: &Value, opts: &AnalyzeOptions, min: FixConfidence) -> ExitCode {
    let mut patched = doc.clone();
    let applied = analysis::apply_fixes(&mut patched, min, |d| {
        let bytes = serde_json::to_vec(d).ok()?;
        let mut r = analysis::analyze(&bytes, opts).ok()?;
        analysis::attach_fixes(&mut r, d);
        Some(r)
    });
    let mut out = String::new();
    for (rule, fix) in &applied {
        out.push_str(&format!(
            "{rule} ({}): {}\n",
            fix.confidence.as_str(),
            fix.description
        ));
        if args.dry_run {
            for op in &fix.patch {
                out.push_str(&format!("    {op}\n"));
            }
        }
    }
    if applied.is_empty() {
        out.push_str("no fix applies\n");
    }
    let target = fixed_path(&args.file);
    if !args.dry_run && !applied.is_empty() {
        let written = serde_json::to_string_pretty(&patched)
            .map_err(|e| e.to_string())
            .and_then(|j| std::fs::write(&target, j + "\n").map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("workflow-audit: cannot write {}: {e}", target.display());
            return ExitCode::from(2);
        }
        out.push_str(&format!(
            "{} fix(es) applied; wrote {}\n",
            applied.len(),
            target.display()
        ));
    } else if args.dry_run {
        out.push_str(&format!(
            "{} fix(es) would apply; nothing written (without --dry-run: {})\n",
            applied.len(),
            target.display()
        ));
    }
    let _ = std::io::stdout().write_all(out.as_bytes());
    // --fail-on judges what is left after the fixes.
    let left = serde_json::to_vec(&patched)
        .ok()
        .and_then(|b| analysis::analyze(&b, opts).ok());
    match left {
        Some(r) if args.fail_on.iter().any(|f| f.reached(&r, None)) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
}

/// `.workflow-audit.toml` in `start` or the nearest directory above it, stopping at a directory
/// that holds `.git` (the repository's root) or at the filesystem root.
fn discover_config(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(CONFIG_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        if d.join(".git").exists() {
            return None;
        }
        dir = d.parent();
    }
    None
}

/// A configuration file's rule settings, refused (with every problem listed) when it names an
/// unknown key, rule or family, an exception without a reason or a threshold out of range.
fn read_config(path: &Path) -> Result<RuleConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| e.to_string())?;
    let unknown: Vec<&str> = table
        .keys()
        .map(String::as_str)
        .filter(|k| !analysis::CONFIG_KEYS.contains(k))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "unknown key(s) {} (known: disabled, disabled-families, severity, options, exceptions)",
            unknown.join(", ")
        ));
    }
    let config: RuleConfig = toml::from_str(&text).map_err(|e| e.to_string())?;
    let problems = config.problems();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(problems.join("; "))
    }
}

/// The rule configuration for `args`: the named file, the discovered one, or the defaults.
fn rule_config(args: &Args) -> Result<(RuleConfig, Option<PathBuf>), String> {
    let path = match &args.config {
        ConfigChoice::Defaults => None,
        ConfigChoice::File(f) => Some(PathBuf::from(f)),
        ConfigChoice::Discover => {
            let start = if args.file == "-" {
                std::env::current_dir().ok()
            } else {
                std::fs::canonicalize(&args.file)
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
            };
            start.as_deref().and_then(discover_config)
        }
    };
    match path {
        None => Ok((RuleConfig::default(), None)),
        Some(p) => read_config(&p)
            .map(|c| (c, Some(p.clone())))
            .map_err(|e| format!("config {}: {e}", p.display())),
    }
}

fn read_input(file: &str) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if file == "-" {
        std::io::stdin()
            .take(analysis::MAX_INPUT_BYTES as u64 + 1)
            .read_to_end(&mut buf)?;
    } else {
        std::fs::File::open(file)?
            .take(analysis::MAX_INPUT_BYTES as u64 + 1)
            .read_to_end(&mut buf)?;
    }
    Ok(buf)
}

fn text_report(r: &AnalysisResult, detail: Detail, comparison: Option<&Comparison>) -> String {
    let mut s = String::new();
    let name = r
        .workflow
        .as_ref()
        .map(|w| w.name.clone())
        .unwrap_or_else(|| format!("{} workflows", r.workflows.len()));
    s.push_str(&format!(
        "{name}: {}/100 {} (confidence {}, scoring {})\n",
        r.health_score,
        r.grade.as_str(),
        r.confidence.as_str(),
        r.scoring_version
    ));
    let m = &r.summary;
    s.push_str(&format!(
        "{} critical, {} high, {} medium, {} low, {} info; {} steps, {} branches, depth {}, {} loops\n",
        m.critical, m.high, m.medium, m.low, m.info, r.stats.steps, r.stats.branches, r.stats.max_depth, r.stats.cycles
    ));
    if let Some(p) = r.workflow.as_ref().and_then(|w| w.purpose.as_ref()) {
        s.push_str(&format!("purpose: {} ({})\n", purpose_word(p), p.reason));
    }
    for w in &r.workflows {
        s.push_str(&format!(
            "  {:>3} {:<9} {}{}\n",
            w.health_score,
            w.grade.as_str(),
            w.name,
            w.purpose
                .as_ref()
                .map(|p| format!(" [{}]", purpose_word(p)))
                .unwrap_or_default()
        ));
    }
    if let Some(c) = comparison {
        s.push_str(&format!(
            "baseline: {} new, {} unchanged, {} fixed",
            c.new.len(),
            c.unchanged,
            c.fixed.len()
        ));
        if let (Some(before), Some(delta)) = (c.previous_score, c.score_delta) {
            s.push_str(&format!("; score {before} before ({delta:+})"));
        }
        s.push('\n');
    }
    let (shown, full) = match detail {
        Detail::Top(n) => (n.min(r.issues.len()), false),
        Detail::Full => (r.issues.len(), true),
    };
    for (n, i) in r.issues.iter().enumerate().take(shown) {
        let state = match comparison.and_then(|c| c.states.get(n)) {
            Some(BaselineState::New) => " NEW",
            Some(_) => " unchanged",
            None => "",
        };
        s.push_str(&format!(
            "\n[{}]{state} {} ({})\n  {}\n",
            i.severity.as_str().to_uppercase(),
            i.title,
            i.rule_id,
            i.message
        ));
        if let Some(w) = &i.workflow_name {
            s.push_str(&format!("  workflow: {w}\n"));
        }
        if full {
            s.push_str(&format!("  fix: {}\n", i.recommendation));
        }
        for f in &i.fixes {
            s.push_str(&format!(
                "  autofix ({}): {} (workflow-audit FILE --fix)\n",
                f.confidence.as_str(),
                f.description
            ));
        }
    }
    if shown < r.issues.len() {
        s.push_str(&format!(
            "\n... {} more (without --top)\n",
            r.issues.len() - shown
        ));
    }
    if let Some(c) = comparison.filter(|c| !c.fixed.is_empty()) {
        s.push_str("\nfixed since the baseline:\n");
        for f in &c.fixed {
            s.push_str(&format!(
                "  [{}] {} ({})",
                f.severity.as_str().to_uppercase(),
                if f.title.is_empty() {
                    &f.rule_id
                } else {
                    &f.title
                },
                f.rule_id
            ));
            if let Some(w) = &f.workflow_name {
                s.push_str(&format!(" in {w}"));
            }
            s.push_str(&format!(" {}\n", f.fingerprint));
        }
    }
    if !r.suppressed.is_empty() {
        s.push_str("\nsuppressed (not counted):\n");
        for i in &r.suppressed {
            let why = i
                .suppression
                .as_ref()
                .map_or("", |x| x.justification.as_str());
            s.push_str(&format!(
                "  [{}] {} ({}): {why}\n",
                i.severity.as_str().to_uppercase(),
                i.title,
                i.rule_id
            ));
        }
    }
    if full && !r.skipped_rules.is_empty() {
        // One line per reason: eleven rules that need an account bundle are one thing to do.
        s.push_str("\nskipped:\n");
        let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
        for k in &r.skipped_rules {
            match reasons.iter_mut().find(|(reason, _)| *reason == k.reason) {
                Some((_, rules)) => rules.push(&k.rule_id),
                None => reasons.push((&k.reason, vec![&k.rule_id])),
            }
        }
        for (reason, rules) in reasons {
            s.push_str(&format!(
                "  {} rule{}: {reason}\n    {}\n",
                rules.len(),
                if rules.len() == 1 { "" } else { "s" },
                rules.join(", ")
            ));
        }
    }
    s
}

fn purpose_word(p: &workflow_analyzer::Purpose) -> &'static str {
    match p.kind {
        workflow_analyzer::PurposeKind::Transactional => "transactional",
        workflow_analyzer::PurposeKind::Marketing => "marketing",
        workflow_analyzer::PurposeKind::Internal => "internal",
    }
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("workflow-audit: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.list_rules {
        let out = match args.format {
            Format::Markdown => analysis::rules_markdown(),
            Format::Json => match serde_json::to_string_pretty(&analysis::registry()) {
                Ok(j) => j + "\n",
                Err(e) => {
                    eprintln!("workflow-audit: cannot render the registry: {e}");
                    return ExitCode::from(2);
                }
            },
            _ => analysis::rules_text(),
        };
        let _ = std::io::stdout().write_all(out.as_bytes());
        return ExitCode::SUCCESS;
    }
    let started = Instant::now();
    let bytes = match read_input(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("workflow-audit: cannot read {}: {e}", args.file);
            return ExitCode::from(2);
        }
    };
    let baseline = match &args.baseline {
        None => None,
        Some(path) => match std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|b| Baseline::from_json(&b))
        {
            Ok(b) => Some(b),
            Err(e) => {
                eprintln!("workflow-audit: baseline {path}: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let parsed = match analysis::parse(&bytes) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("workflow-audit: {}: {e}", args.file);
            return ExitCode::from(2);
        }
    };
    let rules = match rule_config(&args) {
        Ok((rules, _)) => rules,
        Err(e) => {
            eprintln!("workflow-audit: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = AnalyzeOptions {
        now_unix: now,
        rules,
    };
    // The document again as a JSON value (parse accepted it), only where it is used: the fixes
    // patch it. (SARIF reads only its steps' pointers from the bytes.)
    let document = || serde_json::from_slice::<Value>(&bytes).ok();
    if let Some((min, doc)) = args.fix.and_then(|min| Some((min, document()?))) {
        return run_fix(&args, &doc, &opts, min);
    }
    let mut result = analysis::analyze_input(&parsed, &opts);
    let doc = match args.format {
        Format::Json | Format::Text | Format::Sarif if analysis::offers_fixes(&result) => {
            document()
        }
        _ => None,
    };
    if let Some(doc) = &doc {
        analysis::attach_fixes(&mut result, doc);
    }
    result.analysis_time_ms = started.elapsed().as_millis() as u64;
    let comparison = baseline.as_ref().map(|b| analysis::compare(&result, b));
    let rendered = match args.format {
        Format::Text => Ok(text_report(&result, args.detail, comparison.as_ref())),
        Format::Html => Ok(analysis::html_report(&result, &parsed, comparison.as_ref())),
        Format::Sarif => {
            let uri = if args.file == "-" {
                "stdin"
            } else {
                &args.file
            };
            let pointers = analysis::StepPointers::from_json(&bytes);
            let log =
                analysis::sarif_compared(&result, uri, pointers.as_ref(), comparison.as_ref());
            serde_json::to_string_pretty(&log).map(|j| j + "\n")
        }
        _ => json_output(&result, args.detail, comparison.as_ref()).map(|j| j + "\n"),
    };
    let out = match rendered {
        Ok(o) => o,
        Err(e) => {
            eprintln!("workflow-audit: cannot render the result: {e}");
            return ExitCode::from(2);
        }
    };
    // A closed pipe (e.g. `| head`) is not an analysis failure.
    let _ = std::io::stdout().write_all(out.as_bytes());
    if args
        .fail_on
        .iter()
        .any(|f| f.reached(&result, comparison.as_ref()))
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The JSON output: the result as `detail` shows it; compared with a baseline, each issue has a
/// `baselineState` (`new` or `unchanged`) and the object a `baseline` entry
/// (`{"new": [...], "unchanged": n, "fixed": [...]}`).
fn json_output(
    result: &AnalysisResult,
    detail: Detail,
    comparison: Option<&Comparison>,
) -> serde_json::Result<String> {
    let view = result.view(detail);
    let Some(c) = comparison else {
        return serde_json::to_string_pretty(&view);
    };
    let mut v = serde_json::to_value(&view)?;
    if let Some(issues) = v.get_mut("issues").and_then(Value::as_array_mut) {
        for (issue, state) in issues.iter_mut().zip(&c.states) {
            issue["baselineState"] = Value::from(state.as_str());
        }
    }
    v["baseline"] = serde_json::to_value(c)?;
    serde_json::to_string_pretty(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse_args(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_parse_in_both_spellings() {
        let a = args(&[
            "wf.json",
            "--format",
            "text",
            "--top=3",
            "--fail-on",
            "high",
        ])
        .unwrap();
        assert_eq!(
            a,
            Args {
                file: "wf.json".into(),
                format: Format::Text,
                detail: Detail::Top(3),
                fail_on: vec![FailOn {
                    severity: Severity::High,
                    new_only: false
                }],
                baseline: None,
                list_rules: false,
                config: ConfigChoice::Discover,
                fix: None,
                dry_run: false,
            }
        );
        let b = args(&[
            "wf.json",
            "--format=html",
            "--baseline",
            "old.json",
            "--fail-on",
            "new:critical",
            "--fail-on=medium",
        ])
        .unwrap();
        assert_eq!(b.format, Format::Html);
        assert_eq!(b.baseline.as_deref(), Some("old.json"));
        assert_eq!(
            b.fail_on,
            [
                FailOn {
                    severity: Severity::Critical,
                    new_only: true
                },
                FailOn {
                    severity: Severity::Medium,
                    new_only: false
                }
            ]
        );
        assert_eq!(args(&["-"]).unwrap().detail, Detail::Full);
        assert_eq!(args(&["-"]).unwrap().format, Format::Json);
        assert_eq!(
            args(&["wf.json", "--format=sarif"]).unwrap().format,
            Format::Sarif
        );
        let l = args(&["--list-rules", "--format", "markdown"]).unwrap();
        assert!(l.list_rules);
        assert_eq!(l.format, Format::Markdown);
        assert_eq!(args(&["--list-rules"]).unwrap().format, Format::Text);
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(args(&[]).is_err());
        assert!(args(&["a", "b"]).is_err());
        assert!(args(&["a", "--fail-on", "info"]).is_err());
        assert!(args(&["a", "--format"]).is_err());
        assert!(args(&["a", "--top", "three"]).is_err());
        assert!(args(&["a", "--colour"]).is_err());
        assert!(args(&["a", "--format", "markdown"]).is_err());
        assert!(args(&["--list-rules", "--format", "sarif"]).is_err());
        assert!(args(&["--list-rules", "a"]).is_err());
        assert!(args(&["--list-rules", "--format", "html"]).is_err());
        assert!(args(&["a", "--format", "html", "--top", "3"]).is_err());
        // What is new needs a baseline; the scope is `new:` only.
        assert!(args(&["a", "--fail-on", "new:high"]).is_err());
        assert!(args(&["a", "--baseline", "b", "--fail-on", "old:high"]).is_err());
        assert!(args(&["a", "--baseline", "b", "--fail-on", "new:info"]).is_err());
        assert!(args(&["a", "--baseline"]).is_err());
    }
}
