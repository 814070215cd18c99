//! Structure rules: unreachable steps, broken references, loops, empty branches, unrouted paths,
//! empty or disabled workflows, complexity and unknown step types.

use std::collections::HashSet;

use super::appointments::is_deprecated_appointment_type;
use super::{quoted, Ctx, Finding, Rule, Severity};
use crate::model::{Json, Kind, Role};

/// Branch + path count above which a workflow is flagged (info), and the low threshold.
const BRANCHES_INFO: usize = 20;
const BRANCHES_LOW: usize = 40;
/// Container nesting above which a workflow is flagged (info), and the low threshold.
const NESTING_INFO: u32 = 5;
const NESTING_LOW: u32 = 8;

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let g = ctx.g;
    let steps = &ctx.w.steps;

    for &i in &g.duplicates {
        ctx.emit(out, Rule::DuplicateStepId, Some(i), || {
            format!(
                "Step {} reuses the id {} of another step.",
                quoted(steps[i].label()),
                quoted(&steps[i].id)
            )
        });
    }
    for d in &g.dangling {
        let s = &steps[d.from];
        let message = || {
            if d.target.is_empty() {
                format!("Step {} has no {}.", quoted(s.label()), d.field)
            } else {
                format!(
                    "Step {}: its {} points at {}, which does not exist.",
                    quoted(s.label()),
                    d.field,
                    quoted(&d.target)
                )
            }
        };
        ctx.emit(out, Rule::DanglingReference, Some(d.from), message);
    }

    if g.entry.is_some() {
        for (i, step) in steps.iter().enumerate() {
            if !g.reachable(i) && !g.roles[i].is_structural() {
                ctx.emit(out, Rule::UnreachableStep, Some(i), || {
                    format!(
                        "Step {} is not reachable from the start of the workflow.",
                        quoted(step.label())
                    )
                });
            }
        }
    }

    // Per step, whether it is a live wait that releases a message (computed for the first loop).
    let mut releases: Option<Vec<bool>> = None;
    for cycle in &g.cycles {
        let first = cycle
            .iter()
            .copied()
            .find(|&i| g.kinds[i] == Kind::Goto)
            .unwrap_or(cycle[0]);
        let has_wait = cycle.iter().any(|&i| g.kinds[i] == Kind::Wait);
        if !has_wait {
            ctx.emit(
                out,
                Rule::LoopWithoutWait,
                Some(first),
                || format!(
                    "Step {} is in a loop of {} step(s) with no wait: contacts spin through it at once.",
                    quoted(steps[first].label()),
                    cycle.len()
                ),
            );
        }
        let comp = g.component[cycle[0]];
        let exits = cycle.iter().any(|&i| {
            matches!(g.kinds[i], Kind::Goal | Kind::RemoveFromWorkflow)
                || g.out(i).iter().any(|e| g.component[e.to as usize] != comp)
        });
        if !exits {
            // An evergreen newsletter (only emails, each released by a wait of a week or more)
            // runs until the contact unsubscribes, which every email offers: low, not high.
            let evergreen = evergreen_emails(ctx, cycle, &mut releases);
            let severity = if evergreen {
                Severity::Low
            } else {
                Rule::LoopWithoutExit.default_severity()
            };
            ctx.emit_sev(out, Rule::LoopWithoutExit, severity, Some(first), || {
                format!(
                    "Step {} is in a loop of {} step(s) that nothing can leave{}.",
                    quoted(steps[first].label()),
                    cycle.len(),
                    if evergreen {
                        " (only emails, weeks apart: it runs until the contact unsubscribes)"
                    } else {
                        ""
                    }
                )
            });
        }
    }

    // Empty if/else branches. An empty branch next to one with steps is the standard filter,
    // whichever branch it is (HighLevel always draws the None branch; "already has the tag: stop
    // here" with the steps on None is as common as the inverted condition): not reported. Only
    // an if/else whose branches are all empty is.
    for i in 0..g.len() {
        if g.roles[i] != Role::IfElse {
            continue;
        }
        let branches = || {
            g.out(i)
                .iter()
                .map(|e| e.to as usize)
                .filter(|&b| matches!(g.roles[b], Role::Branch { .. }))
        };
        let is_empty = |b: usize| g.out(b).is_empty() && steps[b].next.ids().is_empty();
        let any_filled = branches().any(|b| !is_empty(b));
        for b in branches() {
            if !is_empty(b) {
                continue;
            }
            if any_filled {
                continue;
            }
            ctx.emit(out, Rule::EmptyBranch, Some(b), || {
                format!(
                    "Branch {} of {} has no steps.",
                    quoted(steps[b].label()),
                    quoted(steps[i].label())
                )
            });
        }
    }

    // Declared multi-path transitions missing from `next`.
    for i in (0..g.len()).filter(|&i| g.roles[i] == Role::MultiPath) {
        let s = &steps[i];
        let Some(transitions) = s.attr("transitions").and_then(Json::as_array) else {
            continue;
        };
        let routed: HashSet<&str> = s.next.ids().iter().map(|c| &**c).collect();
        for t in transitions {
            let Some(id) = t.get("id").and_then(Json::id_string) else {
                continue;
            };
            if !routed.contains(id.as_str()) {
                let name = t.get("name").and_then(Json::as_str).unwrap_or(&id);
                ctx.emit(out, Rule::UnroutedPath, Some(i), || {
                    format!(
                        "Path {} of step {} is not connected to any step.",
                        quoted(name),
                        quoted(s.label())
                    )
                });
            }
        }
    }

    let actions = (0..g.len())
        .filter(|&i| !g.roles[i].is_structural())
        .count();
    if actions == 0 {
        ctx.emit(out, Rule::EmptyOrDisabled, None, || {
            format!("Workflow {} has no steps.", quoted(&ctx.w.name))
        });
    }
    for i in (0..g.len()).filter(|&i| g.disabled[i]) {
        let s = &steps[i];
        {
            ctx.emit(out, Rule::EmptyOrDisabled, Some(i), || {
                format!(
                    "Step {} is disabled but left in the workflow.",
                    quoted(s.label())
                )
            });
        }
    }

    let branches = g.branch_count();
    let nesting = g.max_nesting();
    let severity = if branches > BRANCHES_LOW || nesting > NESTING_LOW {
        Some(Severity::Low)
    } else if branches > BRANCHES_INFO || nesting > NESTING_INFO {
        Some(Severity::Info)
    } else {
        None
    };
    if let Some(severity) = severity {
        ctx.emit_sev(
            out,
            Rule::TooComplex,
            severity,
            None,
            || format!("The workflow has {branches} branches and paths and nests conditions {nesting} deep."),
        );
    }

    for (i, kind) in g.kinds.iter().enumerate() {
        if *kind == Kind::Unknown && !g.roles[i].is_structural() && g.roles[i] != Role::IfElse {
            let s = &steps[i];
            // A legacy appointment type is known: `deprecated-appointment-type` reports it.
            if is_deprecated_appointment_type(&s.kind) {
                continue;
            }
            let message = || {
                if s.kind.is_empty() {
                    format!("Step {} has no type.", quoted(s.label()))
                } else {
                    format!(
                        "Step {} has the unknown type {}.",
                        quoted(s.label()),
                        quoted(&s.kind)
                    )
                }
            };
            ctx.emit(out, Rule::UnknownStepType, Some(i), message);
        }
    }
}

/// Whether a loop sends only emails, each released by a fixed wait of a week or more (a monthly
/// newsletter that runs until the reader unsubscribes). `releases` caches, per step, whether it is
/// a live wait with a message after it before the next wait.
fn evergreen_emails(ctx: &Ctx<'_>, cycle: &[usize], releases: &mut Option<Vec<bool>>) -> bool {
    let g = ctx.g;
    let outbound = |i: usize| g.kinds[i].is_outbound() && !g.disabled[i];
    let mut messages = cycle.iter().copied().filter(|&i| outbound(i)).peekable();
    if messages.peek().is_none() || !messages.all(|i| g.kinds[i] == Kind::Email) {
        return false;
    }
    let releases = releases.get_or_insert_with(|| {
        let wait = |i: usize| g.live(i, Kind::Wait);
        let leads = g.reaching((0..g.len()).filter(|&i| outbound(i)), wait);
        (0..g.len())
            .map(|i| wait(i) && g.out(i).iter().any(|e| leads[e.to as usize]))
            .collect()
    });
    // At least one wait releases the emails (a loop without one is `loop-without-wait`'s).
    let mut released_by = cycle.iter().filter(|&&i| releases[i]).peekable();
    released_by.peek().is_some()
        && released_by.all(|&i| {
            matches!(ctx.wait_kind(i), super::WaitKind::Time(Some(m)) if m >= 7.0 * 24.0 * 60.0)
        })
}
