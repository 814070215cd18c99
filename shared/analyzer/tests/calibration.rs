//! Calibration: realistic workflows of every purpose, written in HighLevel's native shape (the
//! builder's GET response, triggers beside it), each with the grade band and the exact findings
//! an experienced HighLevel builder expects, and the ones that must not appear. A rule change
//! that makes any of these wrong is a bug, as serious as a crash.

use std::collections::BTreeSet;

use workflow_analyzer::{analyze, AnalyzeOptions, Detail, Grade, Severity};

/// 2026-11-23T00:00:00Z.
const NOW: i64 = 1_795_392_000;

struct Case {
    file: &'static str,
    bytes: &'static [u8],
    grades: &'static [Grade],
    /// Exactly these rules fire.
    findings: &'static [&'static str],
}

macro_rules! case {
    ($file:literal, $grades:expr, $findings:expr) => {
        Case {
            file: $file,
            bytes: include_bytes!(concat!("calibration/", $file, ".json")),
            grades: $grades,
            findings: $findings,
        }
    };
}

use Grade::{Critical, Excellent, Fair, Good, Poor};

const CASES: &[Case] = &[
    // Confirmation and reminders timed to the appointment: transactional, no window, stop-on-
    // response or unsubscribe findings; the missing timezone is the one polish item.
    case!(
        "appointment-reminders",
        &[Excellent, Good],
        &["appointment-time-without-timezone"]
    ),
    // The same workflow as published: blank emails and texts that say only "Welcome".
    case!(
        "appointment-reminders-empty",
        &[Poor, Critical],
        &["empty-message", "first-sms-no-sender"]
    ),
    // The document the contact asked for, with a confirming text: transactional.
    case!("guide-delivery", &[Excellent, Good], &[]),
    // One email and one SMS together: no cadence, nothing to exit.
    case!("one-touch-outreach", &[Excellent, Good], &[]),
    // A careful nurture: stop on response, a sending window, STOP wording, LC Email's footer.
    case!("nurture-30-day", &[Excellent, Good], &[]),
    // The nurture without those: three real compliance gaps, each one issue however many steps.
    case!(
        "nurture-with-gaps",
        &[Fair, Good],
        &[
            "no-stop-on-response",
            "send-without-window",
            "sms-without-opt-out"
        ]
    ),
    // Round-robin over a user who no longer exists: leads assigned to nobody.
    case!("lead-routing", &[Poor], &["dangling-account-reference"]),
    // A review request two hours after the visit.
    case!("review-request", &[Excellent, Good], &[]),
    // A live placeholder in a sent SMS.
    case!(
        "re-engagement-placeholder",
        &[Poor, Critical],
        &["unresolved-placeholder"]
    ),
    // Internal pipeline automation: nothing reaches the contact.
    case!("pipeline-proposal", &[Excellent, Good], &[]),
    // Names that say something else than the step does.
    case!(
        "names-that-lie",
        &[Excellent, Good, Fair],
        &["appointment-time-without-timezone", "name-contradicts-step"]
    ),
    // Second round: an expert built each of these as agencies do; the well-built ones must come
    // out clean, the broken ones with exactly their real defects.
    // A/B split with a name saying so (and HighLevel's own `workflow_split` type).
    case!("ab-split-consult-invite", &[Excellent, Good], &[]),
    // Cart recovery emails that sell, with a purchase exit.
    case!("abandoned-cart", &[Excellent, Good], &[]),
    // HighLevel's AI decision maker routing leads.
    case!("ai-decision-maker-routing", &[Excellent, Good], &[]),
    // Birthday offer; the None branch of the "has a birthday" filter is empty on purpose.
    case!("birthday-offer", &[Excellent, Good], &[]),
    // Form to pipeline, wait for reply, Conversation AI.
    case!("form-pipeline-conversation-ai", &[Excellent, Good], &[]),
    // Chasing tax documents with a counter loop: service texts, no STOP line (medium).
    case!(
        "goto-counter-loop",
        &[Excellent, Good],
        &["sms-without-opt-out"]
    ),
    // Invoice reminders on an invoice trigger: transactional.
    case!("invoice-payment-reminders", &[Excellent, Good], &[]),
    // "Sorry we missed your call": a conversation the contact started, not a no-show.
    case!("missed-call-text-back", &[Excellent, Good], &[]),
    // Monthly newsletter: emails a month apart, stop-on-response off on purpose.
    case!("monthly-newsletter", &[Excellent, Good], &[]),
    // Internal only: assign, notify, create the opportunity; tag named with spaces for dashes.
    case!("new-lead-internal", &[Excellent, Good], &[]),
    // A no-show trigger's follow-up: its waits count from the no-show.
    case!("no-show-follow-up", &[Excellent, Good], &[]),
    // Receipts: "thank you for your purchase" is not a pitch.
    case!("order-confirmation", &[Excellent, Good], &[]),
    case!("payment-receipt", &[Excellent, Good], &[]),
    // Reactivation offer; an email named "(no SMS consent)" is an email.
    case!("reactivation-offer", &[Excellent, Good], &[]),
    // Review request branching on the rating; tags named by their last word.
    case!("review-request-branching", &[Excellent, Good], &[]),
    // Voicemail drops and call tasks.
    case!("voicemail-call-tasks", &[Excellent, Good], &[]),
    // Webinar reminders that say "we go live in 1 hour (12 PM ET)", and a replay after it.
    case!("webinar-registration", &[Excellent, Good], &[]),
    // Broken: fixed waits from the booking, no cancellation exit, no trigger filter.
    case!(
        "bad-appointment-reminders-fixed-waits",
        &[Critical],
        &[
            "appointment-time-without-timezone",
            "reminder-after-cancellation",
            "reminder-timed-from-booking",
            "risky-merge-field",
            "send-without-window",
            "trigger-without-filter"
        ]
    ),
    // Broken: a lead loop with no exit, a reply wait with no timeout, an unchecked webhook.
    case!(
        "bad-lead-loop-webhook",
        &[Poor, Critical],
        &[
            "hardcoded-url",
            "loop-without-exit",
            "wait-without-timeout",
            "webhook-unchecked"
        ]
    ),
    // Broken: every call starts it, DND switched off, a notification to nobody.
    case!(
        "bad-missed-call",
        &[Poor, Critical],
        &[
            "dnd-turned-off",
            "failure-alert-to-nobody",
            "first-sms-no-sender",
            "trigger-without-filter",
            "wait-without-timeout"
        ]
    ),
    // Broken: an SMS promo blast with no opt-out, no window, no exit.
    case!(
        "bad-sms-promo-blast",
        &[Poor, Critical],
        &[
            "cadence-without-purchase-exit",
            "no-stop-on-response",
            "risky-merge-field",
            "send-without-window",
            "sms-without-opt-out"
        ]
    ),
    // Broken: webinar reminders waiting on an event date nothing sets: they go out at the wrong
    // time or never, so the workflow fails at its one job (Poor; it graded Fair while
    // event-wait-without-anchor was high).
    case!(
        "bad-webinar-no-event-date",
        &[Poor],
        &[
            "event-wait-without-anchor",
            "first-sms-no-sender",
            "first-touch-behind-wait",
            "risky-merge-field",
            "send-without-window"
        ]
    ),
];

#[test]
fn realistic_workflows_grade_in_their_band_with_only_the_expected_findings() {
    let mut wrong = Vec::new();
    for case in CASES {
        let r = analyze(case.bytes, &AnalyzeOptions::at(NOW))
            .unwrap_or_else(|e| panic!("{}: {e}", case.file));
        let fired: BTreeSet<&str> = r.issues.iter().map(|i| &*i.rule_id).collect();
        let expected: BTreeSet<&str> = case.findings.iter().copied().collect();
        if fired != expected || !case.grades.contains(&r.grade) {
            wrong.push(format!(
                "{}: {} {:?}, fired {fired:?}, expected {:?} {expected:?}",
                case.file, r.health_score, r.grade, case.grades
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn a_repeated_problem_is_one_issue_listing_every_step() {
    let r = analyze(
        include_bytes!("calibration/nurture-with-gaps.json"),
        &AnalyzeOptions::at(NOW),
    )
    .expect("parses");
    // Four waits without a window: two before texts (high), two before emails only (medium);
    // one issue per severity, each listing its steps.
    let window: Vec<_> = r
        .issues
        .iter()
        .filter(|i| i.rule_id == "send-without-window")
        .collect();
    assert_eq!(window.len(), 2);
    assert_eq!(
        window
            .iter()
            .map(|i| (i.severity, i.count))
            .collect::<Vec<_>>(),
        [(Severity::High, 2), (Severity::Medium, 2)]
    );
    assert!(window.iter().all(|i| i.steps.len() == 2));
    // The free view shows the same grouping: a count and every step, no recommendation.
    let free = serde_json::to_value(r.view(Detail::Top(usize::MAX))).unwrap();
    let free_window: Vec<_> = free["issues"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["ruleId"] == "send-without-window")
        .collect();
    assert_eq!(free_window.len(), 2);
    assert_eq!(free_window[0]["count"], 2);
    assert_eq!(free_window[0]["steps"].as_array().unwrap().len(), 2);
    assert!(free_window[0].get("recommendation").is_none());
}

#[test]
fn the_builder_shapes_are_read_as_highlevel_writes_them() {
    // Bare GET response (no wrapper), three-node if/else, appointment waits, user_list and an
    // object-shaped customValues: all parse, and the graph has no dangling or unreachable step.
    for case in CASES {
        let r = analyze(case.bytes, &AnalyzeOptions::at(NOW)).expect("parses");
        for rule in [
            "dangling-reference",
            "unreachable-step",
            "unknown-step-type",
            "wait-misconfigured",
        ] {
            assert!(
                r.issues.iter().all(|i| i.rule_id != rule),
                "{}: {rule}",
                case.file
            );
        }
    }
    let bare = serde_json::from_slice::<serde_json::Value>(include_bytes!(
        "calibration/appointment-reminders.json"
    ))
    .expect("json")["workflow"]
        .clone();
    let r = analyze(
        &serde_json::to_vec(&bare).expect("bytes"),
        &AnalyzeOptions::at(NOW),
    )
    .expect("the bare GET response parses");
    assert_eq!(r.stats.steps, 7);
}

#[test]
fn the_result_says_what_each_workflow_is_for_and_why() {
    let purpose = |file: &[u8]| {
        let r = analyze(file, &AnalyzeOptions::at(NOW)).expect("parses");
        let v = serde_json::to_value(&r).unwrap();
        let line = if v["workflow"].is_object() {
            v["workflow"]["purpose"].clone()
        } else {
            v["workflows"][0]["purpose"].clone()
        };
        (
            line["kind"].as_str().unwrap_or_default().to_owned(),
            line["reason"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let (kind, reason) = purpose(include_bytes!("calibration/appointment-reminders.json"));
    assert_eq!(kind, "transactional");
    assert!(reason.contains("appointment"), "{reason}");
    let (kind, reason) = purpose(include_bytes!("calibration/nurture-with-gaps.json"));
    assert_eq!(kind, "marketing");
    assert!(!reason.is_empty());
    // A bundle's line says it too; a workflow that messages nobody is internal.
    let (kind, reason) = purpose(include_bytes!("calibration/lead-routing.json"));
    assert_eq!(
        (kind.as_str(), reason.as_str()),
        (
            "internal",
            "it sends the contact nothing (internal steps only)"
        )
    );
    // A message that sells makes it marketing, and the reason names that message.
    let (kind, reason) = purpose(include_bytes!("calibration/re-engagement-placeholder.json"));
    assert_eq!(kind, "marketing");
    assert!(reason.contains('"'), "{reason}");
}
