//! The rule catalogue (ids, severities, titles, why and fix) and the runner that applies every
//! rule family to a workflow or a bundle. One file per family.

mod account;
mod data;
mod integrations;
mod messaging;
mod metadata;
mod structure;
mod triggers;
mod waits;

use serde::{Deserialize, Serialize};

use super::graph::Graph;
use super::model::{AccountLists, Workflow};

pub(crate) use account::run as run_account;

/// How serious a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; no score impact.
    Info,
    /// Minor.
    Low,
    /// Should be fixed.
    Medium,
    /// Likely to hurt contacts or the business.
    High,
    /// Actively broken or dangerous.
    Critical,
}

impl Severity {
    /// The lowercase name used in JSON and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parse a lowercase name (CLI flags, config).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// What input a rule needs beyond a workflow definition; missing needs make it skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Only the definition.
    Definition,
    /// The workflow's triggers.
    Triggers,
    /// Several workflows (a bundle) — marked (X) in the catalogue.
    SeveralWorkflows,
    /// The account's reference lists (a bundle) — marked (A).
    AccountLists,
    /// Only metadata (runs even without a definition).
    Metadata,
}

macro_rules! catalogue {
    ($( $var:ident = $id:literal, $sev:ident, $needs:ident, $title:literal, $why:literal, $fix:literal; )*) => {
        /// A rule of the catalogue. Ids are stable: they are part of the API and of stored results.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule { $( #[doc = $title] $var, )* }

        impl Rule {
            /// Every rule, in catalogue order.
            pub const ALL: &'static [Rule] = &[$(Rule::$var,)*];

            /// The stable kebab-case id.
            pub fn id(self) -> &'static str { match self { $(Rule::$var => $id,)* } }

            /// The catalogue's severity (some rules lower it for a milder variant).
            pub fn default_severity(self) -> Severity { match self { $(Rule::$var => Severity::$sev,)* } }

            /// What the rule needs from the input.
            pub fn needs(self) -> Needs { match self { $(Rule::$var => Needs::$needs,)* } }

            /// A short title.
            pub fn title(self) -> &'static str { match self { $(Rule::$var => $title,)* } }

            /// One line on why it matters.
            pub fn why(self) -> &'static str { match self { $(Rule::$var => $why,)* } }

            /// The recommended fix.
            pub fn recommendation(self) -> &'static str { match self { $(Rule::$var => $fix,)* } }

            /// The rule with this id.
            pub fn from_id(id: &str) -> Option<Rule> { match id { $($id => Some(Rule::$var),)* _ => None } }
        }
    };
}

catalogue! {
    UnreachableStep = "unreachable-step", Medium, Definition,
        "Unreachable step",
        "No path from the start reaches this step (often left behind by a deleted branch); it never runs.",
        "Reconnect the step where it belongs or delete it.";
    DanglingReference = "dangling-reference", Critical, Definition,
        "Reference to a missing step",
        "A next step, parent, go-to target or transition points at a step that does not exist: contacts stop or the builder misbehaves.",
        "Re-create the link in the builder, pointing at an existing step.";
    DuplicateStepId = "duplicate-step-id", High, Definition,
        "Duplicate step id",
        "Two steps share an id, so links to that id are ambiguous.",
        "Duplicate the step through the builder instead of copying its JSON, or give it a fresh id.";
    LoopWithoutWait = "loop-without-wait", Critical, Definition,
        "Loop without a wait",
        "A cycle with no wait step spins contacts through the same actions again and again, re-messaging them.",
        "Put a wait step inside the loop, or end the loop with a goal or a condition.";
    LoopWithoutExit = "loop-without-exit", High, Definition,
        "Loop without an exit",
        "No condition can leave this cycle, so contacts circle until they are removed by hand.",
        "Add an if/else or goal inside the loop that leads out of it.";
    EmptyBranch = "empty-branch", High, Definition,
        "Empty branch",
        "A branch with no steps ends the workflow silently for every contact who takes it.",
        "Add the intended steps to the branch, or remove the branch (a None path used as a filter may stay empty on purpose).";
    UnroutedPath = "unrouted-path", High, Definition,
        "Path not connected",
        "A multi-path step declares a path (e.g. a timeout) that is not connected, so contacts taking it stop.",
        "Connect the path to the steps that should follow it.";
    EmptyOrDisabled = "empty-or-disabled", Medium, Definition,
        "Empty workflow or disabled step",
        "A workflow with no steps does nothing; disabled steps left in place hide what really runs.",
        "Add steps or delete the workflow; delete disabled steps or switch them back on.";
    TooComplex = "too-complex", Low, Definition,
        "Hard to maintain",
        "Many branches and paths, or deep nesting, make the workflow hard to reason about and easy to break.",
        "Split the workflow into smaller ones linked with add-to-workflow, or flatten nested conditions.";
    UnknownStepType = "unknown-step-type", Low, Definition,
        "Unknown step type",
        "The analyzer does not know this step type, so it could not check it; confidence drops.",
        "No action needed in the workflow; tell us the type so the analyzer can learn it.";
    WaitWithoutTimeout = "wait-without-timeout", Critical, Definition,
        "Wait without a timeout",
        "Waiting for a reply, condition or event with no timeout path parks contacts forever when it never happens.",
        "Enable the wait's timeout and connect a timeout path.";
    WaitTooLong = "wait-too-long", Medium, Definition,
        "Very long wait",
        "A fixed wait of a year or more is almost always a typo (days for hours) and keeps contacts enrolled.",
        "Check the unit and value of the wait.";
    WaitMisconfigured = "wait-misconfigured", Critical, Definition,
        "Wait with a missing duration",
        "A time wait with a missing or partial duration fires at once, so the next step goes out immediately.",
        "Set both the amount and the unit (minutes, hours or days) of the wait.";
    EventWaitWithoutAnchor = "event-wait-without-anchor", High, Triggers,
        "Event wait without an event",
        "A wait relative to an appointment or event date needs that date; without an appointment trigger or an event date set before it, it never resolves correctly.",
        "Start the workflow from an appointment trigger, or set the event start date before the wait.";
    SmsWithoutOptOut = "sms-without-opt-out", High, Definition,
        "No SMS opt-out",
        "Carriers and the law (TCPA, CTIA) expect marketing texts to say how to stop; without it numbers get filtered or reported.",
        "Add \"Reply STOP to opt out\" to the first SMS of the sequence.";
    SendWithoutWindow = "send-without-window", High, Definition,
        "Messages without a sending window",
        "After a wait, messages go out whenever the wait ends, including at night; texting outside 8am-9pm breaks quiet-hour rules.",
        "Set a sending window (e.g. 9:00-18:00 on weekdays) on the wait or the workflow.";
    EmailWithoutUnsubscribe = "email-without-unsubscribe", High, Definition,
        "Email without an unsubscribe link",
        "Marketing email without an unsubscribe link breaks CAN-SPAM/GDPR and hurts deliverability.",
        "Add {{unsubscribe_link}} (or the email footer with it) to the email.";
    NoStopOnResponse = "no-stop-on-response", High, Definition,
        "Keeps messaging after a reply",
        "Three or more messages with stop-on-response off and no reply handling keep texting contacts who already answered.",
        "Turn on \"Stop on response\" in the workflow settings, or branch on replies.";
    RiskyMergeField = "risky-merge-field", Medium, Definition,
        "Risky merge field",
        "A greeting merge field without a fallback renders as \"Hi ,\" when the field is empty; a malformed or unknown field renders as raw text.",
        "Use a fallback, e.g. {{contact.first_name | default: \"there\"}}, and fix malformed or unknown fields.";
    MessageBurst = "message-burst", Medium, Definition,
        "Burst of SMS",
        "Three or more SMS within 24 hours on one path feels like spam and drives opt-outs.",
        "Space the messages out with waits of at least a day.";
    WebhookUnchecked = "webhook-unchecked", High, Definition,
        "Webhook failure goes unnoticed",
        "HighLevel skips a failed webhook step and goes on; with no saved response and no branch on it, nobody sees the failure.",
        "Save the response and branch on it, or notify someone when it fails.";
    WebhookTestEndpoint = "webhook-test-endpoint", High, Definition,
        "Webhook to a test endpoint",
        "localhost, tunnels, request bins and plain http:// are test set-ups: in production they fail or leak contact data.",
        "Point the webhook at the production HTTPS endpoint.";
    HardcodedSecret = "hardcoded-secret", Critical, Definition,
        "Secret in the workflow",
        "A token or key written into a header or body is visible to everyone who can open the workflow and travels in every export.",
        "Rotate the key and move it to a custom value.";
    HardcodedUrl = "hardcoded-url", Medium, Definition,
        "Literal URL",
        "A literal URL must be edited in every workflow when the endpoint moves; a custom value changes in one place.",
        "Store the URL in a custom value and reference it, e.g. {{custom_values.crm_webhook_url}}.";
    NoTrigger = "no-trigger", High, Triggers,
        "No trigger",
        "Without an active trigger nobody enters the workflow except by hand.",
        "Add the trigger that should enroll contacts, or archive the workflow.";
    TriggerWithoutFilter = "trigger-without-filter", Critical, Triggers,
        "Trigger without a filter",
        "A trigger without its filter (an appointment with no status, a form trigger with no form) enrolls far more contacts than intended.",
        "Add the filter that narrows the trigger (status, field, form, tag, pipeline).";
    DuplicateTrigger = "duplicate-trigger", High, SeveralWorkflows,
        "Duplicate trigger",
        "Two published workflows fire on the same trigger and filters, so contacts get both sequences.",
        "Merge the workflows or make their triggers distinct.";
    EnrollmentCycle = "enrollment-cycle", Critical, SeveralWorkflows,
        "Workflows enroll each other",
        "Workflows that re-enroll each other through tags or add-to-workflow loop contacts forever.",
        "Break the loop: remove the tag or add-to-workflow step that leads back.";
    ReentryDuplicates = "reentry-duplicates", Medium, Definition,
        "Re-entry creates duplicates",
        "With re-entry allowed, every new entry creates another contact or opportunity.",
        "Turn off \"Allow re-entry\", or find the existing record before creating one.";
    OpportunityMisconfigured = "opportunity-misconfigured", High, Definition,
        "Opportunity step misconfigured",
        "An opportunity created without a stage, a stage without its pipeline, or an update with nothing that identifies the opportunity fails or edits the wrong record.",
        "Choose the pipeline and stage, and find or create the opportunity before updating it.";
    DanglingAccountReference = "dangling-account-reference", Critical, AccountLists,
        "Reference to a missing account object",
        "A user, calendar, pipeline, stage, form, custom field or tag that no longer exists (or an inactive user) makes the step fail.",
        "Pick an existing object in the step or trigger.";
    StaleDraft = "stale-draft", Low, Metadata,
        "Stale draft",
        "A draft untouched for months clutters the account and may be published by mistake.",
        "Finish and publish it, or delete it.";
    TestNamePublished = "test-name-published", Medium, Metadata,
        "Test workflow published",
        "A published workflow named like a test, copy or sandbox is probably running by mistake.",
        "Rename it, or switch it back to draft.";
    GenericName = "generic-name", Info, Metadata,
        "Generic name",
        "\"New Workflow\" tells a teammate nothing about what the workflow does.",
        "Name the workflow after its trigger and purpose.";
}

/// One finding before configuration is applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    pub workflow: usize,
    pub step: Option<usize>,
    pub message: String,
}

/// What the rules of one workflow see.
pub(crate) struct Ctx<'a> {
    pub w: &'a Workflow<'a>,
    pub g: &'a Graph<'a>,
    pub now_unix: i64,
    pub account: Option<&'a AccountLists>,
    pub index: usize,
}

impl Ctx<'_> {
    pub fn emit(&self, out: &mut Vec<Finding>, rule: Rule, step: Option<usize>, message: String) {
        self.emit_sev(out, rule, rule.default_severity(), step, message);
    }

    pub fn emit_sev(
        &self,
        out: &mut Vec<Finding>,
        rule: Rule,
        severity: Severity,
        step: Option<usize>,
        message: String,
    ) {
        out.push(Finding {
            rule,
            severity,
            workflow: self.index,
            step,
            message,
        });
    }

    /// Whether the workflow has at least one trigger of a kind containing `needle`.
    pub fn has_trigger_like(&self, needle: &str) -> bool {
        self.w
            .triggers
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|t| t.active && t.kind.contains(needle))
    }
}

/// Run every per-workflow rule family.
pub(crate) fn run_workflow(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    structure::run(ctx, out);
    waits::run(ctx, out);
    messaging::run(ctx, out);
    integrations::run(ctx, out);
    triggers::run(ctx, out);
    data::run(ctx, out);
    metadata::run(ctx, out);
}

/// Run only the metadata rules (when no definition is available).
pub(crate) fn run_metadata(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    metadata::run(ctx, out);
}

/// `"name"` with quotes, for messages.
pub(crate) fn quoted(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("\"{cut}...\"")
    } else {
        format!("\"{s}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in Rule::ALL {
            assert_eq!(Rule::from_id(r.id()), Some(*r));
            assert!(seen.insert(r.id()));
        }
    }
}
