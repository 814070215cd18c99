//! `workflow-audit`: run the analyzer on a file (or standard input) from a terminal or a CI
//! pipeline. Arguments are parsed by hand to keep the build light.
//!
//! ```text
//! workflow-audit FILE [--format json|text|sarif] [--top N] [--fail-on critical|high|medium|low]
//! workflow-audit --list-rules [--format text|json|markdown]
//! ```
//!
//! `--format sarif` writes a SARIF 2.1.0 log for code-scanning UIs: each result is located by FILE
//! and the JSON pointer of its step. `--list-rules` prints the rule registry (the Markdown form is
//! docs/RULES.md).
//!
//! Exit status: 0 when the analysis ran and nothing reached `--fail-on`, 1 when a finding is at or
//! above `--fail-on`, 2 when the input could not be read or is not a workflow.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use workflow_analyzer::{self as analysis, AnalysisResult, AnalyzeOptions, Detail, Severity};

const USAGE: &str = "usage: workflow-audit FILE [--format json|text|sarif] [--top N] [--fail-on critical|high|medium|low]\n       workflow-audit --list-rules [--format text|json|markdown]\n       FILE is a workflow, a {\"workflow\": ..., \"triggers\": [...]} body or a bundle; - reads standard input";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Text,
    Sarif,
    Markdown,
}

#[derive(Debug, PartialEq)]
struct Args {
    file: String,
    format: Format,
    detail: Detail,
    fail_on: Option<Severity>,
    list_rules: bool,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut file = None;
    let mut format = None;
    let mut list_rules = false;
    let mut detail = Detail::Full;
    let mut fail_on = None;
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
                    "markdown" | "md" => Format::Markdown,
                    other => {
                        return Err(format!(
                    "unknown format \"{other}\" (json, text, sarif; markdown with --list-rules)"
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
            "--fail-on" => {
                let v = value("--fail-on")?;
                fail_on = Some(
                    Severity::parse(&v)
                        .filter(|s| *s != Severity::Info)
                        .ok_or_else(|| {
                            format!("unknown severity \"{v}\" (critical, high, medium or low)")
                        })?,
                );
            }
            "-h" | "--help" => return Err(String::new()),
            f if f.starts_with("--") => return Err(format!("unknown option {f}")),
            _ if file.is_none() => file = Some(arg),
            _ => return Err(format!("unexpected argument \"{arg}\"")),
        }
    }
    let format = match (list_rules, format) {
        (true, Some(Format::Sarif)) => {
            return Err("--list-rules prints text, json or markdown".into())
        }
        (true, f) => f.unwrap_or(Format::Text),
        (false, Some(Format::Markdown)) => {
            return Err("markdown is a --list-rules format (json, text or sarif for a FILE)".into())
        }
        (false, f) => f.unwrap_or(Format::Json),
    };
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
        list_rules,
    })
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

fn text_report(r: &AnalysisResult, detail: Detail) -> String {
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
    for w in &r.workflows {
        s.push_str(&format!(
            "  {:>3} {:<9} {}\n",
            w.health_score,
            w.grade.as_str(),
            w.name
        ));
    }
    let (shown, full) = match detail {
        Detail::Top(n) => (n.min(r.issues.len()), false),
        Detail::Full => (r.issues.len(), true),
    };
    for i in r.issues.iter().take(shown) {
        s.push_str(&format!(
            "\n[{}] {} ({})\n  {}\n",
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
    }
    if shown < r.issues.len() {
        s.push_str(&format!(
            "\n... {} more (without --top)\n",
            r.issues.len() - shown
        ));
    }
    if full && !r.skipped_rules.is_empty() {
        s.push_str("\nskipped:\n");
        for k in &r.skipped_rules {
            s.push_str(&format!("  {}: {}\n", k.rule_id, k.reason));
        }
    }
    s
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
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut result = match analysis::analyze(&bytes, &AnalyzeOptions::at(now)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("workflow-audit: {}: {e}", args.file);
            return ExitCode::from(2);
        }
    };
    result.analysis_time_ms = started.elapsed().as_millis() as u64;
    let rendered = match args.format {
        Format::Text => Ok(text_report(&result, args.detail)),
        Format::Sarif => {
            // The document again, for the steps' JSON pointers (parse already accepted it).
            let doc: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
            let uri = if args.file == "-" {
                "stdin"
            } else {
                &args.file
            };
            serde_json::to_string_pretty(&analysis::sarif(&result, uri, doc.as_ref()))
                .map(|j| j + "\n")
        }
        _ => serde_json::to_string_pretty(&result.view(args.detail)).map(|j| j + "\n"),
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
    match (args.fail_on, result.worst_severity()) {
        (Some(threshold), Some(worst)) if worst >= threshold => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    }
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
                fail_on: Some(Severity::High),
                list_rules: false,
            }
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
    }
}
