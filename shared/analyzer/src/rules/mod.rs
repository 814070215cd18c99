//! The rule catalogue (ids, severities, titles, why, fix and when a rule does not apply) and the
//! runner that applies every rule family to a workflow or a bundle. A family's rules are in the
//! file named after it, except `name-contradicts-step` (structure) and the data-hygiene rules
//! (`field-set-twice`, `tag-from-merge-field`, `unresolved-placeholder`,
//! `create-contact-without-find`, `phone-not-e164`) in hygiene.rs, the integration reliability
//! rules (retry loops, HTTP timeouts, idempotency, inbound-webhook dedupe) in reliability.rs, and
//! `reentry-duplicates` (data) in triggers.rs. Their tests are in `tests/<family>.rs`.

mod account;
mod ai;
mod appointments;
mod data;
mod deliverability;
mod hygiene;
mod integrations;
mod messaging;
mod metadata;
mod reliability;
mod revenue;
mod structure;
mod triggers;
mod waits;

use serde::{Deserialize, Serialize};

use super::graph::Graph;
use super::model::{contains_any_ci, starts_with_ci, AccountLists, Json, Kind, Role, Workflow};
use waits::{wait_kind, WaitKind};

pub(crate) use account::run as run_account;
pub(crate) use data::field_norm;

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
    /// The bundle's `phoneNumbers` list — marked (A).
    PhoneNumbers,
    /// The bundle's `emailDomains` list — marked (A).
    EmailDomains,
    /// The bundle's `users` list — marked (A).
    Users,
    /// The bundle's `customFields` with their `dataType` — marked (A).
    CustomFieldTypes,
    /// Only metadata (runs even without a definition).
    Metadata,
}

impl Needs {
    /// The need as written in the registry and docs/RULES.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Needs::Definition => "definition",
            Needs::Triggers => "triggers",
            Needs::SeveralWorkflows => "several workflows (X)",
            Needs::AccountLists => "account lists (A)",
            Needs::PhoneNumbers => "bundle phoneNumbers (A)",
            Needs::EmailDomains => "bundle emailDomains (A)",
            Needs::Users => "bundle users (A)",
            Needs::CustomFieldTypes => "bundle customFields with dataType (A)",
            Needs::Metadata => "metadata",
        }
    }
}

/// A family of rules; configuration can disable a whole family (`disabledFamilies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// Graph shape: reachability, references, loops, branches.
    Structure,
    /// Wait steps.
    Waits,
    /// Message compliance: opt-out, windows, unsubscribe, merge fields, bursts.
    Messaging,
    /// Deliverability and consent: carrier filtering, spam signals, sender identity, DND.
    Deliverability,
    /// AI steps (`chatgpt`, `ai_agent`).
    Ai,
    /// Webhooks, custom code and retries.
    Integrations,
    /// Field, tag and record hygiene.
    Data,
    /// Appointment reminders and follow-ups.
    Appointments,
    /// Selling cadences, purchases and first touches.
    Revenue,
    /// Trigger presence and filters.
    Triggers,
    /// Rules across the workflows and lists of a bundle.
    Account,
    /// Checks on the workflow's metadata only.
    Metadata,
}

impl Family {
    /// Every family, in registry order.
    pub const ALL: &'static [Family] = &[
        Family::Structure,
        Family::Waits,
        Family::Messaging,
        Family::Deliverability,
        Family::Ai,
        Family::Integrations,
        Family::Data,
        Family::Appointments,
        Family::Revenue,
        Family::Triggers,
        Family::Account,
        Family::Metadata,
    ];

    /// The family's stable lowercase id (used in configuration).
    pub fn id(self) -> &'static str {
        match self {
            Family::Structure => "structure",
            Family::Waits => "waits",
            Family::Messaging => "messaging",
            Family::Deliverability => "deliverability",
            Family::Ai => "ai",
            Family::Integrations => "integrations",
            Family::Data => "data",
            Family::Appointments => "appointments",
            Family::Revenue => "revenue",
            Family::Triggers => "triggers",
            Family::Account => "account",
            Family::Metadata => "metadata",
        }
    }

    /// The family with this id.
    pub fn from_id(id: &str) -> Option<Family> {
        Family::ALL.iter().copied().find(|f| f.id() == id)
    }
}

macro_rules! catalogue {
    ($( $var:ident = $id:literal, $sev:ident, $needs:ident, $fam:ident, $reads:literal, $title:literal, $why:literal, $fix:literal, $not:literal; )*) => {
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

            /// The rule's family.
            pub fn family(self) -> Family { match self { $(Rule::$var => Family::$fam,)* } }

            /// What the rule reads from the input.
            pub fn reads(self) -> &'static str { match self { $(Rule::$var => $reads,)* } }

            /// A short title.
            pub fn title(self) -> &'static str { match self { $(Rule::$var => $title,)* } }

            /// One line on why it matters.
            pub fn why(self) -> &'static str { match self { $(Rule::$var => $why,)* } }

            /// The recommended fix.
            pub fn recommendation(self) -> &'static str { match self { $(Rule::$var => $fix,)* } }

            /// When the rule does not apply: the cases it leaves alone on purpose, and the
            /// legitimate designs it still reports (false-positive guidance).
            pub fn not_applicable(self) -> &'static str { match self { $(Rule::$var => $not,)* } }

            /// The rule with this id.
            pub fn from_id(id: &str) -> Option<Rule> { match id { $($id => Some(Rule::$var),)* _ => None } }
        }
    };
}

catalogue! {
    UnreachableStep = "unreachable-step", Medium, Definition, Structure, "the step graph (next, branches, transitions, go-to targets)",
        "Unreachable step",
        "No path from the start reaches this step (often left behind by a deleted branch); it never runs.",
        "Reconnect the step where it belongs or delete it.",
        "A step parked off the path on purpose (a branch still being built) is reported anyway: it never runs until it is connected. If/else branch nodes and multi-path paths are never reported, and nothing is when the workflow has no start step.";
    DanglingReference = "dangling-reference", Critical, Definition, Structure, "the step graph (next, parentKey, parent, go-to targets, transitions)",
        "Reference to a missing step",
        "A next step, parent, go-to target or transition points at a step that does not exist: contacts stop or the builder misbehaves.",
        "Re-create the link in the builder, pointing at an existing step.",
        "A parentKey that names one of the workflow's triggers is how the builder hangs the first step under a trigger, not a broken link, and is not reported. Every other missing target is a real break.";
    DuplicateStepId = "duplicate-step-id", High, Definition, Structure, "step ids",
        "Duplicate step id",
        "Two steps share an id, so links to that id are ambiguous.",
        "Duplicate the step through the builder instead of copying its JSON, or give it a fresh id.",
        "Always worth fixing: the builder gives every step its own id, so only hand-edited, merged or pasted JSON repeats one.";
    LoopWithoutWait = "loop-without-wait", Critical, Definition, Structure, "the step graph and step types (cycles)",
        "Loop without a wait",
        "A cycle with no wait step spins contacts through the same actions again and again, re-messaging them.",
        "Put a wait step inside the loop, or end the loop with a goal or a condition.",
        "Any wait inside the cycle (a time wait, or a wait for a reply, condition or event) clears it. A loop that an if/else always leaves after one pass is still reported, since nothing in it slows contacts down: accept it if you are sure.";
    LoopWithoutExit = "loop-without-exit", High, Definition, Structure, "the step graph and step types (cycles, if/else, goals)",
        "Loop without an exit",
        "No condition can leave this cycle, so contacts circle until they are removed by hand.",
        "Add an if/else or goal inside the loop that leads out of it.",
        "A cycle with any path leading out of it (an if/else branch, a go-to out) or with a goal or remove-from-workflow step inside is not reported. An evergreen newsletter loop (only emails, each released by a wait of a week or more) is reported at low: it runs until the reader unsubscribes, which every email offers. Another evergreen loop meant to run until the contact is removed by hand still fires: accept it, or add a goal that says when it ends.";
    EmptyBranch = "empty-branch", High, Definition, Structure, "if/else branch nodes and their next",
        "Empty branch",
        "An if/else whose branches are all empty decides nothing: every contact who reaches it leaves the workflow there.",
        "Add the intended steps to a branch, or remove the if/else.",
        "An empty branch next to a branch with steps is a filter and is not reported, whichever branch it is: HighLevel always draws the None branch, and \"already has the tag: stop here\" with the steps on None is as common as the inverted condition. Only an if/else whose branches are all empty is reported (each branch).";
    UnroutedPath = "unrouted-path", High, Definition, Structure, "multi-path transitions and their next",
        "Path not connected",
        "A multi-path step declares a path (e.g. a timeout) that is not connected, so contacts taking it stop.",
        "Connect the path to the steps that should follow it.",
        "Only multi-path steps that list their paths (transitions) are judged; if/else branches are empty-branch's. A path left open on purpose so contacts end there is reported too: connect it to a remove-from-workflow step to say so.";
    EmptyOrDisabled = "empty-or-disabled", Medium, Definition, Structure, "the step list and each step's disabled flag",
        "Empty workflow or disabled step",
        "A workflow with no steps does nothing; disabled steps left in place hide what really runs.",
        "Add steps or delete the workflow; delete disabled steps or switch them back on.",
        "A step switched off for a short pause (a seasonal offer, a test) is reported on purpose as a reminder: accept it while the pause lasts. A draft still being built may be empty.";
    TooComplex = "too-complex", Low, Definition, Structure, "branch count and nesting depth",
        "Hard to maintain",
        "Many branches and paths, or deep nesting, make the workflow hard to reason about and easy to break.",
        "Split the workflow into smaller ones linked with add-to-workflow, or flatten nested conditions.",
        "Large but orderly workflows (a router fanning out by stage, service or language) pass the thresholds without being hard to follow; up to 40 branches and 8 levels of nesting it is info only and never lowers the score.";
    UnknownStepType = "unknown-step-type", Low, Definition, Structure, "step types",
        "Unknown step type",
        "The analyzer does not know this step type, so it could not check it; confidence drops.",
        "No action needed in the workflow; tell us the type so the analyzer can learn it.",
        "It is about the analyzer, not the workflow: a new or niche HighLevel action it has not learned yet. HighLevel's own workflow_split, workflow_ai_decision_maker, conversationai_ai_splitter, conversationai_book_appointment, event_start_date and dnd_contact steps are known. Legacy appointment types are reported by deprecated-appointment-type instead, and if/else containers and branch nodes never are.";
    WaitWithoutTimeout = "wait-without-timeout", Critical, Definition, Waits, "wait type, timeout, timeoutEnabled, transitions",
        "Wait without a timeout",
        "Waiting for a reply, condition or event with no timeout path parks contacts forever when it never happens.",
        "Enable the wait's timeout and connect a timeout path.",
        "Fixed time waits and waits relative to an appointment or event never need a timeout. A wait for a reply with nothing after it is reported at low only: a contact parked there has nothing left to receive.";
    WaitTooLong = "wait-too-long", Medium, Definition, Waits, "wait startAfter",
        "Very long wait",
        "A fixed wait of a year or more is almost always a typo (days for hours) and keeps contacts enrolled.",
        "Check the unit and value of the wait.",
        "Waits relative to an appointment or event date, and waits until a reply or condition, are not judged; a fixed wait of a year on purpose (a yearly check-in) still fires: a wait relative to a date field says it better, or accept it.";
    WaitMisconfigured = "wait-misconfigured", Critical, Definition, Waits, "wait type and startAfter",
        "Wait with a missing duration",
        "A time wait with a missing or partial duration fires at once, so the next step goes out immediately.",
        "Set both the amount and the unit (minutes, hours or days) of the wait.",
        "Waits for a reply, condition or event and waits relative to an appointment have no fixed duration and are not judged here. A fixed wait with no amount or unit never waits, so there is no false positive to accept.";
    EventWaitWithoutAnchor = "event-wait-without-anchor", Critical, Triggers, Waits, "event-relative waits, event-date steps before them, triggers, the workflow's eventStartDate",
        "Event wait without an event",
        "A wait relative to an appointment or event date needs that date; without an appointment trigger or an event date set before it, it never resolves correctly: the reminders it times go out at the wrong time or never, which is the workflow's whole job (critical, like a time wait with no duration).",
        "Start the workflow from an appointment trigger, or set the event start date before the wait.",
        "Workflows started by an appointment trigger, workflows with no active trigger (entered from another workflow, which may pass the appointment along), workflows with the older workflow-level event start date (eventStartDate) filled, waits that name their own date field, and waits after a set-event-date, book-appointment or appointment-status step are not reported; without triggers in the input the rule is skipped rather than guessed.";
    EmptyMessage = "empty-message", Critical, Definition, Messaging, "email html/body and template id, SMS body and attachments, internal notification subject and body",
        "Message with nothing to say",
        "An email with an empty body, a text that says only \"Welcome\" or a notification with no content reaches real contacts and team members: it looks broken, confuses them and wastes the send.",
        "Write the message (or pick its template), or delete the step.",
        "An email sent by template (its id, the builder's template object or templatesource), an MMS with an attachment, and a short but real message ('Thanks! See you soon.') are not reported, nor are disabled steps. A native email whose text is only under `body` with no `html` is reported at high: public captures of the builder show its email action sends `html` and ignores `body` (the simple export keeps an email's text in meta.body and is not judged so). A tool that did send `body` would make that finding wrong: tell us.";
    NameContradictsStep = "name-contradicts-step", Medium, Definition, Structure, "step names against wait durations, step types and tag lists",
        "Step name says something else",
        "A step named \"Wait 24 hours\" that waits 60 minutes, or \"Send SMS\" that sends an email, misleads whoever maintains the workflow; one of the two is a mistake.",
        "Fix the configuration, or rename the step to say what it does.",
        "Names that state nothing checkable ('Follow-up', 'Nurture 2') are left alone, as are tag steps named 'tag: X' that do change X (spaces, '-' and '_' alike, case ignored, and X may be the tag's last words: 'Tag: detractor' for review-detractor), and channel words after no, not, non or without ('Email (no SMS consent)' is an email step). A name kept on purpose after the step changed still misleads the next person: rename it.";
    SmsWithoutOptOut = "sms-without-opt-out", High, Definition, Messaging, "SMS body",
        "No SMS opt-out",
        "Carriers and the law (TCPA, CTIA) expect marketing texts to say how to stop; without it numbers get filtered or reported.",
        "Add \"Reply STOP to opt out\" to the first SMS of the sequence.",
        "Transactional workflows (appointment, booking, order, payment or invoice triggers, a reply to the contact's own call or message, reminders timed to an appointment, one or two messages delivering what the contact asked for) are not judged: HighLevel puts a contact who answers STOP on DND by itself. Nor is a location whose SMS compliance settings append the opt-out line (bundle locationSettings.smsOptOutMessage: true). One opt-out line in any SMS of the workflow is enough; a service text that sells nothing is medium.";
    SendWithoutWindow = "send-without-window", High, Definition, Messaging, "wait window/sendingWindow/advanceWindow, workflow sending window, outbound steps after waits",
        "Messages without a sending window",
        "After a wait, messages go out whenever the wait ends, including at night; texting outside 8am-9pm breaks quiet-hour rules.",
        "Set a sending window (e.g. 9:00-18:00 on weekdays) on the wait or the workflow.",
        "Waits relative to an appointment, and messages sent right after the contact's own action, are timed on purpose; internal notifications are not held by a window. A sending window on the workflow covers all its waits. Texts after a wait of whole days in a workflow every trigger of which is a team member's action (an opportunity's stage or status moved, a user assigned, a manual add, an appointment trigger narrowed to no-show or showed) are medium, not high: whole days keep the time of day the workflow started, and staff move deals in working hours; they are still reported, since a move after hours or by another workflow's automation sends at night. After an hour wait, a reply or event wait, or with any trigger the contact fires (a form at 11 pm), it stays high.";
    EmailWithoutUnsubscribe = "email-without-unsubscribe", High, Definition, Messaging, "email subject/html/body, transactional flag",
        "Email without an unsubscribe link",
        "Marketing email without an unsubscribe link breaks CAN-SPAM/GDPR and hurts deliverability.",
        "Add {{unsubscribe_link}} (or the email footer with it) to the email.",
        "Transactional emails (confirmations, reminders, receipts, what the contact asked for) are not judged, and no email is reported while LC Email's default unsubscribe footer is on (the default, unless the bundle's locationSettings say it is off).";
    NoStopOnResponse = "no-stop-on-response", High, Definition, Messaging, "stopOnResponse setting, outbound step count, reply waits and reply triggers",
        "Keeps messaging after a reply",
        "Three or more messages with stop-on-response off and no reply handling keep texting contacts who already answered.",
        "Turn on \"Stop on response\" in the workflow settings, or branch on replies.",
        "Transactional workflows, workflows with fewer than three touches, workflows that wait for a reply or start from a reply trigger, and newsletters or courses (emails only, each released by a wait of a week or more; a shorter check wait that only leads to another wait does not count) are not judged. Another series meant to continue after a reply still fires: accept it there.";
    RiskyMergeField = "risky-merge-field", Medium, Definition, Messaging, "merge fields in message texts; account customFields/customValues when a bundle has them",
        "Risky merge field",
        "A greeting merge field without a fallback renders as \"Hi ,\" when the field is empty; a malformed or unknown field renders as raw text.",
        "Use a fallback, e.g. {{contact.first_name | default: \"there\"}}, and fix malformed or unknown fields.",
        "A greeting field with a fallback, merge fields after the greeting's first 40 characters, and greetings with non-contact fields ({{location.name}}, {{user.name}}) are fine. Unknown contact fields are checked only when the bundle lists customFields, and standard fields (first_name, email, phone...) always pass.";
    MessageBurst = "message-burst", Medium, Definition, Messaging, "SMS steps and time waits along each path",
        "Burst of SMS",
        "Three or more SMS within 24 hours on one path feels like spam and drives opt-outs.",
        "Space the messages out with waits of at least a day.",
        "Transactional workflows (a confirmation and two reminders around an appointment) are not judged, emails and other channels do not count, and a wait for a reply or an event between texts resets the count.";
    WebhookUnchecked = "webhook-unchecked", High, Definition, Integrations, "webhook saveResponse/responseMapping and the steps after it",
        "Webhook failure goes unnoticed",
        "HighLevel skips a failed webhook step and goes on; with no saved response and no branch on it, nobody sees the failure.",
        "Save the response and branch on it, or notify someone when it fails.",
        "A webhook that saves its response, runs as a multi-path step, or is followed directly by an if/else is not reported. A fire-and-forget call whose failure costs nothing (a log or analytics ping) still fires: accept it.";
    WebhookTestEndpoint = "webhook-test-endpoint", High, Definition, Integrations, "webhook url",
        "Webhook to a test endpoint",
        "localhost, tunnels, request bins and plain http:// are test set-ups: in production they fail or leak contact data.",
        "Point the webhook at the production HTTPS endpoint.",
        "URLs built from a custom value or merge field ({{custom_values.*}}) are not judged. A plain http:// endpoint on a private network still fires and still sends contact data unencrypted.";
    HardcodedSecret = "hardcoded-secret", Critical, Definition, Integrations, "webhook headers, params, body, auth; custom code",
        "Secret in the workflow",
        "A token or key written into a header or body is visible to everyone who can open the workflow and travels in every export.",
        "Rotate the key and move it to a custom value.",
        "Values with {{ }} (a custom value or merge field) and values under 8 characters are not reported. A key meant to be public (a publishable key, a browser map key) sent in a key-named header still fires: check it really is public and accept it.";
    HardcodedUrl = "hardcoded-url", Medium, Definition, Integrations, "webhook url",
        "Literal URL",
        "A literal URL must be edited in every workflow when the endpoint moves; a custom value changes in one place.",
        "Store the URL in a custom value and reference it, e.g. {{custom_values.crm_webhook_url}}.",
        "URLs built from a custom value are not reported, nor a vendor's documented public API endpoint that is the same for every customer and does not move (https://api.stripe.com/v1/..., api.openai.com, api.hubapi.com, HighLevel's API services.leadconnectorhq.com...; the list is in the rule) with no credential in its query: the account is named by the key in a header, so a custom value buys nothing. Per-integration webhook URLs that carry their secret in the path (hooks.slack.com/services/..., hooks.zapier.com, hook.*.make.com, api.telegram.org/bot...), HighLevel's own inbound-webhook URLs (services.leadconnectorhq.com/hooks/...), URLs naming the account's own sheet, bucket, project or base (googleapis.com, Airtable) and the account's own servers still fire: they change when the integration, trigger or resource is recreated or the server moves. Another vendor's fixed API host the list lacks still fires: accept it.";
    NoTrigger = "no-trigger", High, Triggers, Triggers, "triggers (type, active)",
        "No trigger",
        "Without an active trigger nobody enters the workflow except by hand.",
        "Add the trigger that should enroll contacts, or archive the workflow.",
        "Workflows entered only by hand, by API or through add-to-workflow steps of other workflows have no trigger on purpose: accept it there. Without triggers in the input the rule is skipped.";
    TriggerWithoutFilter = "trigger-without-filter", Critical, Triggers, Triggers, "trigger type and conditions",
        "Trigger without a filter",
        "A trigger without its filter (an appointment with no status, a form trigger with no form, an opportunity trigger with no pipeline or status) enrolls far more contacts than intended.",
        "Add the filter that narrows the trigger (status, field, form, tag, pipeline).",
        "Only appointment, contact-changed, form, tag, pipeline-stage, opportunity (status changed, changed) and call triggers are judged; an opportunity trigger needs a pipeline, stage, status or lost-reason filter (a tag, owner or value filter still lets every pipeline in), except in a workflow that treats every opportunity on purpose: one that messages no contact (a sync to a sheet or CRM, a note to the team) or branches on the pipeline, stage or status itself; a call trigger (call_status, call_details) filtered on the call's status (missed, no answer, voicemail) or direction, or whose type is itself a missed-call trigger, is fine, and one with no such filter is reported at high. A trigger meant to fire on every form, appointment change, opportunity change or call (an account-wide log or notification) still fires: accept it.";
    YearlyTriggerWithoutReentry = "yearly-trigger-without-reentry", High, Triggers, Triggers, "birthday and custom-date reminder triggers (type, active); allowMultiple",
        "Yearly trigger with re-entry off",
        "A birthday or date-reminder trigger comes back every year, but with \"Allow re-entry\" off HighLevel lets each contact through the workflow only once: the campaign works in its first year and then silently reaches nobody who has already had it.",
        "Turn on \"Allow re-entry\" in the workflow's settings.",
        "Only birthday and anniversary triggers (birthday_reminder, any type naming a birthday or an anniversary) and custom date reminders (custom_date_reminder) are judged, and only when the workflow says allowMultiple: false (the builder writes the key; a workflow that does not say is not reported, since its setting is unknown). A custom date reminder is often a one-off date (a trial end, a contract end, an event), for which entering once is right: it is judged only when its name or the workflow's says the date comes back every year (anniversary, annual, yearly, birthday; not renewal, which may be monthly). A once-in-a-lifetime message on a yearly trigger (a welcome on the first birthday after joining) is the rare deliberate case: accept it.";
    DuplicateTrigger = "duplicate-trigger", High, SeveralWorkflows, Account, "every workflow's status, triggers and filters",
        "Duplicate trigger",
        "Two published workflows fire on the same trigger and filters, so contacts get both sequences.",
        "Merge the workflows or make their triggers distinct.",
        "Only published workflows are compared. Two of them may share a trigger on purpose when they do separate jobs (one notifies the team, one messages the contact): accept it, or merge them to keep one place to edit.";
    EnrollmentCycle = "enrollment-cycle", Critical, SeveralWorkflows, Account, "add-to-workflow steps, tags added and tag triggers across workflows",
        "Workflows enroll each other",
        "Workflows that re-enroll each other through tags or add-to-workflow loop contacts forever.",
        "Break the loop: remove the tag or add-to-workflow step that leads back.",
        "A workflow that adds itself with re-entry off is not reported (HighLevel does not enroll a contact again), and tags or workflows outside the bundle are not seen. A chain an if/else or goal always stops before it closes still fires: accept it if you are sure.";
    ReentryDuplicates = "reentry-duplicates", Medium, Definition, Data, "allowMultiple settings, create-contact and create-opportunity steps",
        "Re-entry creates duplicates",
        "With re-entry allowed, every new entry creates another contact or opportunity.",
        "Turn off \"Allow re-entry\", or find the existing record before creating one.",
        "With re-entry off nothing is reported, nor is a create-opportunity step unless duplicate opportunities are allowed (the workflow's allowMultipleOpportunity, or the bundle's locationSettings.allowDuplicateOpportunity): by default HighLevel's step updates the contact's open opportunity in the pipeline instead of adding one. A workflow meant to create a new record on every entry (a new opportunity per inquiry from a returning customer) still fires, even after a find step: accept it there.";
    OpportunityMisconfigured = "opportunity-misconfigured", High, Definition, Data, "opportunity steps' pipelineId/stageId, find/create steps before updates, triggers",
        "Opportunity step misconfigured",
        "An opportunity created without a stage, a stage without its pipeline, or an update with nothing that identifies the opportunity fails or edits the wrong record.",
        "Choose the pipeline and stage, and find or create the opportunity before updating it.",
        "An update in a workflow started by an opportunity or pipeline trigger works on that trigger's opportunity and needs no find step; without triggers in the input the update check is skipped.";
    DanglingAccountReference = "dangling-account-reference", Critical, AccountLists, Account, "user, calendar, pipeline, stage, form, custom field and tag ids against the bundle's lists",
        "Reference to a missing account object",
        "A user, calendar, pipeline, stage, form, custom field or tag that no longer exists (or an inactive user) makes the step fail.",
        "Pick an existing object in the step or trigger.",
        "Only lists the bundle carries are checked (no calendars list, no calendar check). A field update's builder `field` is looked up only when it is a record id (a standard field's key such as first_name is in no custom field list). Objects created after the bundle was exported are reported as missing: export the account again.";
    SmsLinkShortener = "sms-link-shortener", High, Definition, Deliverability, "SMS body",
        "Link in SMS through a public shortener",
        "Carriers filter texts with public shortener links (bit.ly, tinyurl...) because spammers share those domains.",
        "Use a branded short domain or the full link to your own domain.",
        "A branded short domain or the full link to your own site is fine; only the listed public shorteners are reported, and only as a whole host (habit.ly/ is not bit.ly).";
    SmsRestrictedContent = "sms-restricted-content", High, Definition, Deliverability, "SMS body (whole words)",
        "Carrier-restricted content in SMS",
        "US carriers restrict SHAFT content (sex, hate, alcohol, firearms, tobacco/cannabis) and gambling in A2P texts; such messages are blocked or the campaign suspended.",
        "Remove the restricted words, or register a campaign for the category with age gating.",
        "Whole words only (winery, gunsmith and Essex do not match). A business registered for the category with an approved A2P campaign and age gating (a winery, a licensed dispensary) may send it: accept it there.";
    FirstSmsNoSender = "first-sms-no-sender", Medium, Definition, Deliverability, "the first SMS on the path from the start",
        "First text does not name the sender",
        "A first text that never says who is writing reads like spam, and carriers expect the brand to be identified.",
        "Name the business in the first text, e.g. \"This is {{location.name}}: ...\".",
        "Only the first SMS on the path from the start is judged. A first text that names the business without the usual signs ('Acme: your code is 1234') still fires, and a reply inside a conversation the contact started needs no introduction: accept it there.";
    EmailImageOrLinkOnly = "email-image-or-link-only", Medium, Definition, Deliverability, "email html/body",
        "Image-only or link-only email",
        "An email whose body is an image or a bare link, with almost no text, is a classic spam signature and lands in junk.",
        "Add real text (at least a couple of sentences) around the image or link.",
        "Emails sent by template id with no body in the workflow, and emails with no image or link, are not judged. A designed image newsletter with under 20 letters of visible text still fires: add a line or two of text.";
    SpamTriggerSubject = "spam-trigger-subject", Medium, Definition, Deliverability, "email subject",
        "Spam-trigger subject line",
        "Subjects in capitals, with !!! or $$$, or phrases like \"act now\" or \"100% free\" are scored as spam by mailbox providers.",
        "Write a plain, specific subject in sentence case.",
        "'Free' on its own, a short acronym or brand in capitals ('VIP offer') and text inside merge fields do not count. A listed phrase used in a harmless sense ('Urgent care hours') still fires: reword it or accept it.";
    ReplyToNoReply = "reply-to-no-reply", Medium, Definition, Deliverability, "email from address, replyTo and text",
        "Reply requested from a no-reply sender",
        "The email asks the contact to reply but is sent from a no-reply address, so the answer bounces or is never read.",
        "Send from a monitored address or set a reply-to.",
        "Emails from a monitored address, with a reply-to set, or that do not ask for a reply (a receipt) are fine; emails without a from address of their own (the account's default sender) are not judged.";
    DndTurnedOff = "dnd-turned-off", High, Definition, Deliverability, "DND steps (HighLevel's dnd_contact: enable/disable; dnd: action/dndAction/status/dnd) and field updates of a dnd field",
        "Workflow turns DND back off",
        "Turning a contact's Do Not Disturb / opt-out off from a workflow overrides their choice and breaks consent rules (TCPA, GDPR).",
        "Only the contact can opt back in; remove the step.",
        "Steps that turn DND on (dnd_contact: enable), or that do not say which way they go, are not reported. A workflow started only by the contact's own re-subscription (a START reply, an opt-in form) may turn DND off: accept it there.";
    SmsWithoutSendingNumber = "sms-without-sending-number", Critical, PhoneNumbers, Deliverability, "SMS steps; the bundle's phoneNumbers (capabilities.sms, smsEnabled, status)",
        "SMS with no number to send it",
        "The account has no phone number able to send SMS, so every SMS step fails.",
        "Buy or port an SMS-capable number (and register it for A2P) before publishing.",
        "Needs the bundle's phoneNumbers and is skipped without them. A number added after the list was exported is not seen: export the account again.";
    EmailDomainUnauthenticated = "email-domain-unauthenticated", Critical, EmailDomains, Deliverability, "email from address; the bundle's emailDomains (spf, dkim, dmarc)",
        "Email from an unauthenticated domain",
        "Email from a domain the account has not authenticated (SPF, DKIM, DMARC) is rejected or sent to spam by Gmail and Yahoo.",
        "Add and verify the sending domain in the account's email settings, or send from a verified domain.",
        "Emails with no from address of their own (the account's default sender) and from addresses built from merge fields are not judged; a subdomain of a listed, authenticated domain passes.";
    AiTextSentUnguarded = "ai-text-sent-unguarded", High, Definition, Ai, "chatgpt/ai_agent steps; AI merge fields ({{chatgpt.*}}, {{openai.*}}, {{gpt.*}}, {{ai.*}}, {{ai_*}}) in message texts; if/else steps between",
        "AI text sent with no guard",
        "AI output goes straight to the contact with no check: an empty, wrong or unsafe answer is sent as is.",
        "Put an if/else between the AI step and the message that checks the output (not empty, expected content), with a fallback.",
        "Messages the AI step reaches only through an if/else are fine, and messages using AI fields in a workflow with no live AI step of its own are not judged. An AI answer the business accepts sending unreviewed still fires: accept it there.";
    AiPromptContactText = "ai-prompt-contact-text", High, Definition, Ai, "chatgpt/ai_agent prompt/instructions/message",
        "Contact-written text in a prompt",
        "Interpolating what a contact wrote (a reply, a form answer) into a prompt lets them steer the model (prompt injection).",
        "Delimit the contact's text (e.g. between triple quotes) and tell the model to treat it as data, or validate it first.",
        "Prompts that use only profile fields (name, company) rather than what the contact wrote, and prompts that delimit the contact's text (triple quotes, a code fence, <user_input> tags), are not reported.";
    AiSmsUnbounded = "ai-sms-unbounded", Medium, Definition, Ai, "SMS with AI merge fields; the AI steps before them (maxTokens/maxLength, prompt)",
        "AI text in SMS with no length bound",
        "An unbounded AI answer becomes a many-segment SMS: it costs several messages and is cut or mangled on the handset.",
        "Bound the answer (max tokens, or \"answer in under 160 characters\" in the prompt).",
        "AI steps with a max tokens or max length set, or whose prompt states a length in characters (or 160), are not reported; emails and other channels are not judged.";
    AiOutputToFieldUnvalidated = "ai-output-to-field-unvalidated", Medium, Definition, Ai, "update_contact_field values with AI merge fields; if/else steps between them and the AI step",
        "AI output written to a field unvalidated",
        "Writing raw AI output into a CRM field stores whatever the model said (wrong format, an apology, an empty string) where other workflows rely on it.",
        "Check the output with an if/else (format, allowed values) before writing it.",
        "Updates the AI step reaches only through an if/else are fine. A free-text notes field nobody branches on or reads in other workflows is low-risk: accept it there.";
    ContactDataToModelEndpoint = "contact-data-to-model-endpoint", High, Definition, Ai, "webhook url and body/data/payload/customData",
        "Contact data posted to a model API",
        "Sending contacts' personal data (name, email, phone, messages) to a third-party model endpoint shares it with a new processor, often without a data agreement.",
        "Send only what the prompt needs, strip personal data, and make sure the provider is covered by your data agreements.",
        "Only webhooks to known model API hosts are judged, {{contact.id}} alone is not personal data here, and HighLevel's own AI steps are not webhooks. A provider already covered by your data processing agreement is fine: accept it.";
    RetryLoopWithoutCounter = "retry-loop-without-counter", High, Definition, Integrations, "cycles containing webhooks or custom code; math_operation / attempt-counter field updates inside them",
        "Retry loop with no attempt counter",
        "A loop that retries a call with nothing counting attempts retries forever while the endpoint is down.",
        "Count attempts (math operation on a field) and leave the loop after a few.",
        "Loops with a math operation or an update of an attempt, retry, count or tries field are fine. A loop that repeats a call on purpose rather than retrying it (a monthly sync behind a long wait) still fires: accept it.";
    HttpWithoutTimeout = "http-without-timeout", Medium, Definition, Integrations, "custom code",
        "HTTP call with no timeout",
        "Custom code that calls an API without a timeout hangs until the platform kills it when the API is slow.",
        "Pass a timeout (AbortSignal.timeout(5000), axios timeout) to every request.",
        "Webhook steps are not judged (HighLevel times them out), nor custom code that makes no HTTP call or passes any timeout, AbortController or signal.";
    RetriedPostWithoutIdempotency = "retried-post-without-idempotency", High, Definition, Integrations, "webhook method, retry settings, headers; cycles",
        "Retried POST without an idempotency key",
        "A POST that is retried (by a retry setting or a loop) without an idempotency key creates the record or charge twice when the first try actually succeeded.",
        "Send an Idempotency-Key header (e.g. {{contact.id}} plus the step) or make the endpoint idempotent.",
        "GET, PUT and DELETE calls, POSTs with no retry setting outside loops, and POSTs whose headers mention an idempotency key are fine. An endpoint idempotent by design (an upsert keyed on the contact's email) is safe: accept it.";
    InboundWebhookNoDedupe = "inbound-webhook-no-dedupe", High, Triggers, Integrations, "inbound-webhook triggers, allowMultiple, find/if-else steps",
        "Inbound webhook with no dedupe",
        "Senders retry webhooks; with re-entry allowed and nothing checking for a repeat, each retry runs the workflow again.",
        "Check for a repeat first (find contact, if/else on a stored event id) or turn off re-entry.",
        "Nothing is reported with re-entry off, with any find-contact, find-opportunity or if/else step, or when the workflow neither messages, creates records nor calls webhooks. A sender that never retries still fires: accept it.";
    FieldSetTwice = "field-set-twice", Low, Definition, Data, "consecutive update_contact_field steps (fieldId/customFieldId/field, and every entry of their fields list)",
        "Field set twice in a row",
        "Setting the same field twice in a row means the first write is lost: usually a copy-paste slip.",
        "Remove one of the two steps or set the intended field.",
        "Every field of each update counts (HighLevel's update lists several): the second update is reported when it writes any field the first wrote. Writes on different branches, writes with other steps between them, and a second write other paths also lead into are not reported. Clearing a field then setting it again so a Contact Changed trigger fires is the one deliberate use: accept it there.";
    TagFromMergeField = "tag-from-merge-field", Medium, Definition, Data, "add_contact_tag tags",
        "Tag name built from a merge field",
        "A tag built from a merge field creates a new tag per value, fills the tag list and breaks tag triggers and filters.",
        "Use a fixed tag and store the value in a custom field.",
        "Fixed tag names are fine. A merge-field tag over a small fixed set of values (one tag per state or plan) is deliberate: accept it, though a custom field is still easier to filter on.";
    UnresolvedPlaceholder = "unresolved-placeholder", Critical, Definition, Data, "message texts; the bundle's customValues when present",
        "Unresolved placeholder in live copy",
        "Copy with [INSERT ...], TODO, lorem ipsum or a custom value that does not exist goes out to contacts as written.",
        "Replace the placeholder with the real text, or create the custom value.",
        "Only TODO, TBD and FIXME in capitals as whole words count ('todo list' does not), and custom values are checked only when the bundle lists customValues. A bracket written for the contact on purpose ('reply with [your name]') still fires: reword it or accept it.";
    CreateContactWithoutFind = "create-contact-without-find", Medium, Definition, Data, "create_contact steps and find_contact steps before them",
        "Contact created without looking it up",
        "Creating a contact without first finding it creates a duplicate each time the person already exists.",
        "Find the contact first (or use an upsert) and create only when none is found.",
        "A create-contact step after a find-contact step on some path is fine. Creating a deliberately separate contact (a referral, a family member) still fires: accept it there.";
    PhoneNotE164 = "phone-not-e164", Medium, Definition, Data, "update_contact_field steps (every entry of their fields list) on a phone field with a literal value",
        "Phone number not in E.164",
        "A phone number stored without the +country code is not dialable by SMS providers and breaks duplicate matching.",
        "Write the number as +<country code><number>, e.g. +15551234567.",
        "Merge-field values ({{contact.phone}}) and values under 7 digits are not judged, nor fields whose name does not mention phone; every field of an update is read, and the first local number is reported.";
    AppointmentTimeWithoutTimezone = "appointment-time-without-timezone", Low, Definition, Appointments, "message texts ({{appointment.*time*}} merge fields)",
        "Appointment time without a timezone",
        "A time written without its zone is read as the reader's own: clients in another zone (virtual meetings, travellers) can join an hour or more off. Polish, not a defect, for a business whose clients are local.",
        "Add {{appointment.timezone}} (or the zone) next to the time.",
        "Messages that name the timezone anywhere ({{appointment.timezone}}, 'time zone') are fine. A local business whose clients are all in its own zone (a neighbourhood clinic) can accept it.";
    ReminderWithoutContext = "reminder-without-context", Medium, Definition, Appointments, "messages after a wait before an appointment or event (directly or through if/else); their texts",
        "Reminder that does not say what for",
        "A reminder that never names the appointment, its day or its time (\"Hi! Just checking in\") does not remind anyone: contacts still miss the appointment, or reply asking what it is about.",
        "Say what and when, e.g. \"Your visit with {{appointment.user.name}} is {{appointment.start_time}}\".",
        "Messages after a wait after the appointment (a thank-you, a replay link) are follow-ups and are not judged, nor blank messages (empty-message reports them). Any clock time ('3 PM', '14h30'), date ('3/12'), weekday or month, 'in N minutes/hrs', or a whole word naming the appointment, visit, call, class, webinar or event counts as context (in English, Spanish, French or German: 'cita', 'rdv', 'Termin').";
    ReminderTimedFromBooking = "reminder-timed-from-booking", High, Triggers, Appointments, "appointment triggers, reminder texts, time and event-relative waits before them",
        "Reminder timed from the booking",
        "A reminder after a fixed wait counts from the booking, not from the appointment: it arrives days early or after the appointment.",
        "Use a wait relative to the appointment start (event/appointment wait).",
        "Reminders after a wait relative to the appointment are fine, and so are messages after a fixed wait that are not reminders (a thank-you a day after booking); workflows without an appointment trigger are not judged.";
    NoShowWithoutStatusCheck = "no-show-without-status-check", High, Triggers, Appointments, "no-show texts, trigger status filters, if/else steps before the text",
        "No-show follow-up without a status check",
        "A no-show message sent without checking the appointment's status reaches people who came, or who rescheduled.",
        "Trigger on the no-show status, or branch on the appointment status before the message.",
        "Workflows whose trigger is a no-show status, or filters on no-show or missed, are not judged, nor no-show messages behind any if/else; nor a workflow whose appointment trigger has no status filter at all, which trigger-without-filter reports (critical) for the same missing filter.";
    FirstTouchBehindWait = "first-touch-behind-wait", High, Triggers, Revenue, "new-lead triggers (form, survey, lead form, contact created); waits before the first message",
        "First touch held behind a wait",
        "Leads contacted in the first minutes convert several times better; a wait of an hour or more before the first message loses them.",
        "Send the first message (or call) right away and put waits after it.",
        "Only workflows started by a new lead (form, survey, lead form, contact created) are judged, and only when every path waits an hour or more (or for a reply or event) before the first message or call. A deliberate delay (leads handed to a person who calls first) still fires: accept it there.";
    PurchaseConfirmationPrePayment = "purchase-confirmation-pre-payment", Medium, Triggers, Revenue, "trigger types (abandoned cart, checkout started, invoice sent/created, estimate) and message texts",
        "Purchase confirmation before payment",
        "Thanking for a purchase on a trigger that fires before payment confirms orders that never happened.",
        "Move the confirmation to a payment or order-paid trigger.",
        "Workflows with any active trigger that fires on payment (order, payment received, invoice paid) are not judged, and messages about an open cart, invoice or estimate that do not thank for a purchase are fine.";
    CadenceWithoutPurchaseExit = "cadence-without-purchase-exit", High, Definition, Revenue, "selling words in message texts; goals, remove-from-workflow and if/else steps",
        "Selling cadence with no purchase exit",
        "A sales sequence with no goal, exit or branch keeps pitching to people who already bought.",
        "Add a goal (purchase / tag) or an if/else on the purchase that leaves the sequence.",
        "A single selling message, and any workflow with a goal, remove-from-workflow or if/else, is not reported (in a workflow started by an abandoned cart or checkout whose messages go out at two moments or more, every message counts as selling). Offers meant for buyers too (a newsletter with a repeat-customer coupon) still fire: accept them.";
    TagTriggerNeverAdded = "tag-trigger-never-added", Medium, SeveralWorkflows, Account, "tag triggers and add_contact_tag steps of every workflow in the bundle",
        "Tag trigger whose tag nothing adds",
        "No workflow in the account adds the tag this trigger waits for, so it only fires if someone tags by hand, by import or by API.",
        "Check the tag's spelling against the workflows that should add it, or document the manual step.",
        "Tags with merge fields are not judged. A tag added by hand, by import, by a form or by API is outside the bundle: if that is how the tag arrives, accept it.";
    ReminderLadderBackwards = "reminder-ladder-backwards", Medium, Definition, Appointments, "event-relative waits (startAfter value, unit, before/after) and the reminders after them, along each path",
        "Reminder ladder out of order",
        "A reminder timed further before the appointment than the one before it has already passed when its wait starts, so it goes out late or at once; a first reminder under two hours before leaves no time to reschedule.",
        "Order the reminders from the furthest (e.g. 24 hours before) to the nearest, and send the first one early enough to reschedule.",
        "Only workflows with two or more appointment-relative waits are judged, and waits without a readable before or after are skipped. A first reminder under two hours before in a business that books same-day (a walk-in salon) is intentional: accept it.";
    ReminderAfterCancellation = "reminder-after-cancellation", Critical, Triggers, Appointments, "appointment triggers and their status filters, reminder texts, goals, remove-from-workflow and appointment-status if/else steps",
        "Reminders continue after a cancellation",
        "With no status filter, goal or exit, a contact who cancels keeps getting reminders for an appointment that no longer exists.",
        "Add a goal (or an if/else before each reminder) on appointment status Cancelled, or filter the trigger to booked/confirmed appointments and remove cancelled ones from the workflow.",
        "Triggers filtered to booked or confirmed appointments (or status not cancelled), workflows with any goal or remove-from-workflow step, and reminders behind an if/else on the appointment status are fine; without triggers in the input the rule is skipped.";
    DeprecatedAppointmentType = "deprecated-appointment-type", Low, Definition, Appointments, "step and trigger types",
        "Deprecated appointment type",
        "Legacy appointment triggers and actions are no longer maintained by HighLevel and can stop firing or behave differently from the calendar they belong to.",
        "Replace it with the current Appointment Status / Customer Booked Appointment trigger or the current appointment action.",
        "Current appointment triggers and actions are not reported. The legacy list is a maintained starting point: a type HighLevel still supports may be on it, so tell us rather than change the workflow.";
    EmailWithoutPostalAddress = "email-without-postal-address", High, Definition, Deliverability, "email subject/html/body, transactional flag; address merge fields ({{location.address}}, {{location.full_address}}, ...) or a written postal address",
        "Marketing email without a postal address",
        "CAN-SPAM requires a valid physical postal address in every commercial email; without one the mail is unlawful and more likely to be filtered.",
        "Add the business address to the footer, e.g. {{location.full_address}}.",
        "Transactional emails (confirmations, reminders, receipts, what the contact asked for) are not judged, and an address written out (a street, a PO Box, a US ZIP or UK postcode) counts as much as {{location.full_address}}. An address carried only by a template the step names by id is not seen: accept it there.";
    BulkSmsWithoutConsent = "bulk-sms-without-consent", High, Triggers, Deliverability, "bulk/list triggers (scheduler, smart list, bulk action, import, manual) and their filters; consent/opt-in/DND if/else steps before each SMS",
        "SMS to a list without a consent check",
        "Texting a whole list or a bulk enrollment without checking consent sends marketing SMS to people who never opted in (TCPA fines per message).",
        "Filter the trigger, or branch before the first SMS, on an SMS consent / opt-in field (and DND off).",
        "Workflows not started by a bulk or list trigger (scheduler, smart list, bulk action, import, manual, recurring, added to list) are not judged, nor SMS behind a consent, opt-in, DND or subscription check in the trigger's filters or an if/else. A list made only of contacts who opted in still fires: add the check or accept it.";
    AiBranchUnconstrained = "ai-branch-unconstrained", High, Definition, Ai, "if/else conditions (branches[].conditions, conditions) on AI output ({{chatgpt.*}} ...) or on fields an update wrote from it; the AI step's prompt (\"only\", \"one of\", \"exactly\", yes/no) and options/enum/choices",
        "Branch on free-form AI output",
        "Branching on AI text that is not limited to a fixed set of answers sends contacts down the wrong path whenever the model words it differently.",
        "Tell the model to answer with exactly one of a fixed set of values (e.g. YES or NO) and branch on those values, with a None path for anything else.",
        "Branches on anything other than AI output are not judged, nor branches after an AI step whose prompt limits the answer ('answer with exactly one of YES or NO') or that sets options, enum or choices.";
    AiWithoutFailurePath = "ai-without-failure-path", High, Definition, Ai, "chatgpt/ai_agent steps (fallback/onError/errorPath, fail/error/timeout transitions); messages using their output (| default: fallbacks) and if/else steps between",
        "AI step with no failure path",
        "When the AI step fails or times out its output is empty, and the message built from it goes out blank.",
        "Give the AI step a failure path, or add a fallback to the merge field, e.g. {{chatgpt.response | default: \"...\"}}.",
        "An AI step with a fallback, error path or fail/timeout transition is fine, and so is output used with a non-empty | default: fallback or checked by an if/else before the message.";
    ConversationAiWithoutHuman = "conversation-ai-without-human", Medium, Definition, Ai, "conversation AI / AI bot steps, handoff settings, assign-user and internal-notification steps after them",
        "Conversation AI with no route to a human",
        "A bot that can never hand the conversation over strands contacts whose question it cannot answer.",
        "Enable the bot's human handoff, or assign a user / notify the team when it hands off or fails.",
        "A bot with handoff switched on, or followed by an assign-user step or an internal notification, is fine. A self-serve bot with no team behind it (after-hours FAQ) can accept it.";
    FailureAlertToNobody = "failure-alert-to-nobody", Medium, Definition, Integrations, "internal_notification recipients (userType, selectedUser, userId/users/emails/to/phone, all users, assigned user)",
        "Alert sent to nobody",
        "An internal notification with no recipient is silently dropped, so the failure it reports is never seen.",
        "Pick the users (or the assigned user) the notification should reach.",
        "Notifications to a user, an address, a phone number, all users or the assigned user are fine, as is a recipient type the analyzer does not know. A notification with no recipient setting at all (no user type, user, address or number) is reported at low, and at medium on a failure path, where the alert matters most.";
    AlertsToOneUser = "alerts-to-one-user", Medium, Users, Account, "internal_notification recipients across the bundle's workflows; the bundle's users",
        "Every alert goes to one user",
        "When every alert in the account goes to the same person, a holiday or a departure means nobody sees failures.",
        "Send alerts to a second user or a shared inbox too.",
        "Accounts with one active user, bundles with fewer than three notifications, and any notification to a second user, an address, a number, all users or the assigned user clear it. A team where one person owns every alert by design still fires: accept it, with a backup in mind.";
    RepeatedExternalLookup = "repeated-external-lookup", Medium, Definition, Integrations, "webhook/custom-code method, url and body along each path",
        "Same external lookup repeated",
        "Calling the same endpoint with the same data twice for one contact wastes rate limit and money and can disagree with itself.",
        "Save the first response (custom values or fields) and reuse it.",
        "A repeat after a wait is a poll and is not reported, nor calls that differ in method, URL or body; custom code is compared only when it calls an HTTP API.";
    CustomFieldTypeMismatch = "custom-field-type-mismatch", High, CustomFieldTypes, Data, "update_contact_field values (every entry of their fields list); the bundle's customFields with dataType",
        "Value does not fit the custom field",
        "Writing text into a number, date or checkbox field fails or stores nothing, silently.",
        "Write a value of the field's type (format dates and numbers first), or change the field's type.",
        "Numbers, empty values, merge fields (unless a whole text field goes into a number, date or checkbox field) and text fields are not judged; every field of an update is read (one finding per step, counting the others). Dates are recognised in ISO, day/month/year, month-name and timestamp forms: another format HighLevel accepts is reported wrongly, so accept it.";
    RefundRemovesNothing = "refund-removes-nothing", High, SeveralWorkflows, Account, "refund/cancellation triggers; remove-from-workflow, remove-tag, goal and DND steps; purchase-triggered workflows of the bundle",
        "Refund leaves the customer enrolled",
        "A refund or cancellation workflow that removes the customer from nothing leaves them in onboarding and upsell sequences for a product they returned.",
        "Remove the contact from the purchase workflows (or remove the tags that keep them there) in the refund workflow.",
        "Refund workflows with any goal, remove-from-workflow, remove-tag or DND step, or that add a tag another workflow's goal or if/else checks, are fine; only published workflows are read. Purchase workflows that end on their own after delivery need no removal: accept it there.";
    PipelineStageLoop = "pipeline-stage-loop", Medium, SeveralWorkflows, Account, "pipeline-stage triggers and their stage filters; opportunity updates' stageId across workflows",
        "Workflows re-trigger each other through pipeline stages",
        "Workflow A moves an opportunity into a stage that starts workflow B, which moves it back: the opportunity flips forever and contacts are re-messaged.",
        "Break the cycle: filter the triggers by the stage they came from, or move the opportunity to a stage no workflow starts on.",
        "Only published workflows' triggers count, and triggers filtered to the stage they came from break the chain. A loop an if/else always stops after one move still fires: accept it if you are sure.";
    TagChainDoubleConversation = "tag-chain-double-conversation", High, SeveralWorkflows, Account, "add_contact_tag steps followed by messages; tag-triggered workflows that message",
        "One event starts two conversations",
        "A workflow adds a tag that starts another messaging workflow and keeps messaging itself, so the contact gets two parallel conversations.",
        "Stop messaging in the first workflow once it hands off (add the tag last), or move the messages into one workflow.",
        "A hand-off that adds the tag after the workflow's last message, or that starts a workflow sending no messages (field updates, team notifications only), is fine; only published workflows are read.";
    StaleDraft = "stale-draft", Low, Metadata, Metadata, "status and updatedAt",
        "Stale draft",
        "A draft untouched for months clutters the account and may be published by mistake.",
        "Finish and publish it, or delete it.",
        "Published workflows and drafts changed within 90 days are not judged. A draft kept on purpose as a template to copy from still fires: name it as a template or accept it.";
    TestNamePublished = "test-name-published", Medium, Metadata, Metadata, "name and status",
        "Test workflow published",
        "A published workflow named like a test, copy or sandbox is probably running by mistake.",
        "Rename it, or switch it back to draft.",
        "Drafts are not judged, and only whole words count ('Contest winners' is fine). Workflows named as an experiment ('A/B', 'AB test', 'split test') or holding a split step (workflow_split) run a real test and are not reported. Another test run on purpose (a demo account) is fine: accept it.";
    GenericName = "generic-name", Info, Metadata, Metadata, "name",
        "Generic name",
        "\"New Workflow\" tells a teammate nothing about what the workflow does.",
        "Name the workflow after its trigger and purpose.",
        "Any word beyond new, workflow, untitled, my and numbers makes the name specific; info only, it never lowers the score.";
    BranchOnUnknownField = "branch-on-unknown-field", Medium, AccountLists, Data, "if/else contact_detail conditions and contact.x fields; the bundle's customFields; the workflow's steps that write fields",
        "If/else on a field nobody has",
        "An if/else comparing a contact field the account does not have, and that no step sets, is never true: every contact takes the None branch.",
        "Pick the right custom field in the condition (or create the field and set it before the if/else).",
        "Standard contact fields (first name, email, phone, tags...) are never judged, nor fields any step of the workflow writes; without the bundle's customFields list the rule says nothing, since a field filled by a form or an import looks the same. A field created after the bundle was exported is reported: export the account again.";
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
    /// Every wait step's kind, classified once (several families ask for each wait's).
    waits: Vec<Option<WaitKind>>,
    /// What every live outbound step's texts say, read once (the purpose, the compliance rules
    /// and the revenue rules all ask).
    wording: Vec<Wording>,
    /// What the workflow is for, and why (see [`transactional_purpose`]), for the rules and the
    /// result.
    purpose: crate::result::Purpose,
    /// Platform defaults a verdict rested on (rule, what was assumed), reported in the result.
    assumed: std::cell::RefCell<Vec<(Rule, &'static str)>>,
    /// Messages written so far per rule (see [`Ctx::emit`]).
    messages: std::cell::RefCell<Vec<u16>>,
    /// The thresholds of the rules that have one (configuration, else the catalogue's).
    pub options: crate::config::RuleOptions,
}

/// What a message's texts say, as several rules ask.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Wording {
    /// It sells: an offer, a discount, a purchase to make ([`revenue::sells`]).
    pub sells: bool,
    /// It uses transactional wording ([`messaging::TRANSACTIONAL`]).
    pub transactional: bool,
}

/// Findings of one rule in one workflow that get their own message (see [`Ctx::emit`]).
const MESSAGES_PER_RULE: u16 = 64;

impl<'a> Ctx<'a> {
    pub fn new(
        w: &'a Workflow<'a>,
        g: &'a Graph<'a>,
        now_unix: i64,
        account: Option<&'a AccountLists>,
        index: usize,
    ) -> Self {
        let waits: Vec<Option<WaitKind>> = w
            .steps
            .iter()
            .zip(&g.kinds)
            .map(|(s, k)| (*k == Kind::Wait).then(|| wait_kind(s)))
            .collect();
        let wording: Vec<Wording> = (0..g.len())
            .map(|i| {
                if g.kinds[i].is_outbound() && !g.disabled[i] {
                    Wording {
                        sells: g.texts(i).any(revenue::sells),
                        transactional: g.text_views(i).any(messaging::says_transactional),
                    }
                } else {
                    Wording::default()
                }
            })
            .collect();
        let purpose = transactional_purpose(w, g, &waits, &wording);
        Ctx {
            w,
            g,
            now_unix,
            account,
            index,
            waits,
            wording,
            purpose,
            assumed: Default::default(),
            messages: std::cell::RefCell::new(vec![0; Rule::ALL.len()]),
            options: crate::config::RuleOptions::default(),
        }
    }

    /// The same context with configured thresholds.
    pub fn with_options(mut self, options: crate::config::RuleOptions) -> Self {
        self.options = options;
        self
    }

    /// What step `i`'s texts say (nothing for a step that does not message the contact).
    pub fn wording(&self, i: usize) -> Wording {
        self.wording[i]
    }

    /// Record that a verdict of `rule` rests on a platform default (once per workflow).
    pub fn assume(&self, rule: Rule, what: &'static str) {
        let mut assumed = self.assumed.borrow_mut();
        if !assumed.iter().any(|(r, _)| *r == rule) {
            assumed.push((rule, what));
        }
    }

    /// The platform defaults this workflow's verdicts rested on.
    pub fn assumptions(&self) -> Vec<(Rule, &'static str)> {
        self.assumed.take()
    }

    /// Whether the workflow is transactional: the marketing-only rules (postal address,
    /// unsubscribe, SMS opt-out, stop on response, frequency) do not judge it.
    pub fn transactional(&self) -> bool {
        self.purpose.kind == crate::result::PurposeKind::Transactional
    }

    /// The workflow's purpose as the result reports it.
    pub fn purpose(&self) -> crate::result::Purpose {
        self.purpose.clone()
    }

    /// What step `i` waits for (classified once for wait steps).
    pub fn wait_kind(&self, i: usize) -> WaitKind {
        self.waits[i].unwrap_or_else(|| wait_kind(&self.w.steps[i]))
    }
}

impl Ctx<'_> {
    /// Report a finding of `rule` at its default severity. The message is written only for the
    /// first [`MESSAGES_PER_RULE`] findings of a rule in a workflow: an issue shows its first
    /// occurrence's message, and a hostile input that makes one rule fire on every step must
    /// not cost a formatted string per step.
    pub fn emit(
        &self,
        out: &mut Vec<Finding>,
        rule: Rule,
        step: Option<usize>,
        message: impl FnOnce() -> String,
    ) {
        self.emit_sev(out, rule, rule.default_severity(), step, message);
    }

    /// [`Ctx::emit`] at a given severity.
    pub fn emit_sev(
        &self,
        out: &mut Vec<Finding>,
        rule: Rule,
        severity: Severity,
        step: Option<usize>,
        message: impl FnOnce() -> String,
    ) {
        let mut written = self.messages.borrow_mut();
        let slot = &mut written[rule as usize];
        let message = if *slot < MESSAGES_PER_RULE {
            *slot += 1;
            message()
        } else {
            String::new()
        };
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

/// Trigger kinds that answer something the contact booked, bought or was billed for, or an
/// exchange they started (their call, their message or reply: a missed-call text-back).
const TRANSACTIONAL_TRIGGERS: &[&str] = &[
    "appointment",
    "booking",
    "order",
    "payment",
    "invoice",
    "two_step_form",
];

/// Trigger kinds of an exchange the contact started (their call, their message or reply): what
/// answers it in one or two messages (a missed-call text-back) is a conversation, not a campaign;
/// a longer drip started by a reply is marketing.
const CONVERSATION_TRIGGERS: &[&str] = &[
    "call_status",
    "call_details",
    "missed_call",
    "inbound_call",
    "customer_repl",
    "inbound_message",
];
/// Most messages a reply to the contact's own call or message sends.
const CONVERSATION_MESSAGES: usize = 2;

/// The purpose of a workflow, judged from the whole of it as a HighLevel builder would: it is
/// transactional when it answers an event of the contact's own (an appointment, an order, a
/// payment, their call or message), when its messages are timed to an appointment, or when it is
/// a single touch (at most two messages, no timed wait) delivering what the contact asked for; and
/// never when any of its messages sells. A workflow that messages nobody is internal; everything
/// else is marketing. The verdict comes with one sentence saying what it rests on.
fn transactional_purpose(
    w: &Workflow<'_>,
    g: &Graph<'_>,
    waits: &[Option<WaitKind>],
    wording: &[Wording],
) -> crate::result::Purpose {
    use crate::result::{Purpose, PurposeKind};
    let verdict = |kind, reason: String| Purpose { kind, reason };
    let outbound: Vec<usize> = (0..g.len())
        .filter(|&i| g.kinds[i].is_outbound() && !g.disabled[i])
        .collect();
    if outbound.is_empty() {
        return verdict(
            PurposeKind::Internal,
            "it sends the contact nothing (internal steps only)".to_owned(),
        );
    }
    if let Some(&i) = outbound.iter().find(|&&i| wording[i].sells) {
        return verdict(
            PurposeKind::Marketing,
            format!(
                "message {} sells (an offer, a discount, a purchase to make)",
                quoted(w.steps[i].label())
            ),
        );
    }
    let of_kind = |kinds: &[&str]| {
        w.triggers
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|t| t.active && contains_any_ci(&t.kind, kinds))
    };
    let event_trigger = of_kind(TRANSACTIONAL_TRIGGERS).or_else(|| {
        of_kind(CONVERSATION_TRIGGERS).filter(|_| outbound.len() <= CONVERSATION_MESSAGES)
    });
    if let Some(t) = event_trigger {
        return verdict(
            PurposeKind::Transactional,
            format!(
                "it answers the contact's own {} (trigger {})",
                quoted(&t.kind.replace('_', " ")),
                quoted(t.label())
            ),
        );
    }
    if waits
        .iter()
        .any(|k| matches!(k, Some(WaitKind::EventRelative)))
    {
        return verdict(
            PurposeKind::Transactional,
            "its messages are timed to the contact's appointment or event".to_owned(),
        );
    }
    let timed_waits = waits.iter().any(|k| matches!(k, Some(WaitKind::Time(_))));
    let asked_for = outbound.iter().find(|&&i| wording[i].transactional);
    match asked_for {
        Some(&i) if outbound.len() <= 2 && !timed_waits => verdict(
            PurposeKind::Transactional,
            format!(
                "a single touch delivering what the contact asked for ({})",
                quoted(w.steps[i].label())
            ),
        ),
        _ => verdict(
            PurposeKind::Marketing,
            format!(
                "{} not tied to a booking, order, payment, call or message of the contact's own, and not a single delivery of something they asked for",
                match outbound.len() {
                    1 => "a message".to_owned(),
                    n => format!("{n} messages"),
                }
            ),
        ),
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
    deliverability::run(ctx, out);
    ai::run(ctx, out);
    reliability::run(ctx, out);
    hygiene::run(ctx, out);
    hygiene::name_contradicts(ctx, out);
    appointments::run(ctx, out);
    revenue::run(ctx, out);
    metadata::run(ctx, out);
}

/// Run only the metadata rules (when no definition is available).
pub(crate) fn run_metadata(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    metadata::run(ctx, out);
}

/// The names inside `{{ ... }}` merge fields of a text (before any `|` filter), trimmed. A byte
/// scan that jumps between braces with memchr (a `str` pattern search builds a searcher per
/// call, which costs more than the search on short message texts).
pub(crate) fn merge_names(text: &str) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    // Where `cc` (a doubled brace) starts at or after `from`.
    let pair = move |from: usize, c: u8| {
        let mut at = from;
        while let Some(i) = b.get(at..).and_then(|rest| memchr::memchr(c, rest)) {
            if b.get(at + i + 1) == Some(&c) {
                return Some(at + i);
            }
            at += i + 1;
        }
        None
    };
    let mut at = 0;
    std::iter::from_fn(move || loop {
        let open = pair(at, b'{')?;
        let start = open + 2;
        let close = pair(start, b'}').unwrap_or(b.len());
        at = close.min(b.len());
        // `{`, `}` and `|` are ASCII, so these are char boundaries.
        let inner = &text[start..close.max(start)];
        let name = inner.split('|').next().unwrap_or("").trim();
        if !name.is_empty() {
            return Some(name);
        }
    })
}

/// Whether a merge-field name refers to an AI step's output.
pub(crate) fn is_ai_field(name: &str) -> bool {
    ["chatgpt", "openai", "gpt.", "gpt_", "ai.", "ai_"]
        .iter()
        .any(|p| starts_with_ci(name, p))
}

/// The attribute keys naming the field an `update_contact_field` step writes, in the order they
/// are tried.
pub(super) const FIELD_ATTRS: &[&str] = &["fieldId", "customFieldId", "field_id", "field"];

/// What a field update writes, as (field, value) pairs: the step's own field key and `value`, then
/// the entries of HighLevel's `fields: [{field, value, title, type}]` list, except a one-entry
/// list beside a field of the step's own (the parser lifted it there, or the step's own key wins
/// as it does there). One pass over the list; the caller checks the step's type.
pub(super) fn field_writes<'s, 'a>(
    s: &'s super::model::Step<'a>,
) -> impl Iterator<Item = (&'s str, Option<&'s Json<'a>>)> + 's {
    let own = s.attr_any(FIELD_ATTRS).map(|f| (f, s.attr("value")));
    let entries = match s.attr("fields") {
        Some(Json::Array(entries)) if !(own.is_some() && entries.len() == 1) => entries.as_slice(),
        _ => &[],
    };
    let listed = entries.iter().filter_map(|e| {
        let field = FIELD_ATTRS
            .iter()
            .find_map(|k| e.get(k).and_then(Json::as_str))?;
        Some((field, e.get("value")))
    });
    own.into_iter().chain(listed)
}

/// A field name as compared across steps and with the bundle's `customFields`: trimmed,
/// lower-cased, without `{{ }}` or a `contact.` prefix.
pub(super) fn field_key(name: &str) -> String {
    let t = name
        .trim()
        .trim_start_matches("{{")
        .trim_end_matches("}}")
        .trim();
    let l = t.to_ascii_lowercase();
    l.strip_prefix("contact.").map(str::to_owned).unwrap_or(l)
}

/// Whether step `i` is a switched-on step that takes the contact out of the workflow: a goal, a
/// remove-from-workflow or a remove-from-all-workflows action.
pub(super) fn exits_workflow(g: &Graph<'_>, i: usize) -> bool {
    !g.disabled[i]
        && (matches!(g.kinds[i], Kind::Goal | Kind::RemoveFromWorkflow)
            || g.steps[i].kind == "remove_from_all_workflows")
}

/// Whether a value holds something: a non-blank string, `true`, a number, a non-empty object, or
/// a list with such an item (iterative walk). `""` and `[]` (or `[""]`) hold nothing.
pub(super) fn filled(v: &Json) -> bool {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Json::String(s) if !s.trim().is_empty() => return true,
            Json::Bool(true) | Json::Number(_) => return true,
            Json::Object(o) if !o.is_empty() => return true,
            Json::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
    false
}

/// Whether any string of a JSON value (object keys included) contains a needle, case ignored.
/// Iterative: an explicit stack, linear in the value's size.
pub(super) fn json_mentions(v: &Json, needles: &[&str]) -> bool {
    let says = |t: &str| contains_any_ci(t, needles);
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Json::String(t) if says(t) => return true,
            Json::Array(items) => stack.extend(items),
            Json::Object(members) => {
                for (k, m) in members {
                    if says(k) {
                        return true;
                    }
                    stack.push(m);
                }
            }
            _ => {}
        }
    }
    false
}

/// Per step, whether it is a switched-on if/else whose conditions mention any needle: its name,
/// its kept attributes (`branches`, `conditions`, `field`, `value`...) and its branches' names and
/// attributes. Names count because the export format's branch conditions are not kept by the
/// parser, and a branch named "Cancelled" or "Opted in" is a check the builder shows. Each step's
/// text is read once, so sweeps that test the answer per edge stay linear.
pub(super) fn if_else_checks(g: &Graph<'_>, needles: &[&str]) -> Vec<bool> {
    let says: Vec<bool> = (0..g.len())
        .map(|v| {
            let s = &g.steps[v];
            matches!(g.roles[v], Role::IfElse | Role::Branch { .. })
                && (contains_any_ci(&s.name, needles)
                    || s.attributes.iter().any(|(_, a)| json_mentions(a, needles)))
        })
        .collect();
    (0..g.len())
        .map(|v| {
            g.roles[v] == Role::IfElse
                && !g.disabled[v]
                && (says[v]
                    || g.out(v).iter().any(|e| {
                        let b = e.to as usize;
                        matches!(g.roles[b], Role::Branch { .. }) && says[b]
                    }))
        })
        .collect()
}

/// The ASCII-alphanumeric words of a text as bytes (`'` and `-` split words), borrowed: compare
/// them with `eq_ignore_ascii_case` (no allocation, no UTF-8 decoding).
pub(crate) fn words(text: &str) -> impl Iterator<Item = &[u8]> {
    text.as_bytes()
        .split(|b| !b.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
}

/// `"name"` with quotes, for messages (names over 60 characters are cut to 57 and `...`). A
/// `Display` value, so a message is formatted in one allocation.
pub(crate) fn quoted(s: &str) -> Quoted<'_> {
    Quoted(s.trim())
}

/// See [`quoted`].
pub(crate) struct Quoted<'a>(&'a str);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(60) {
            None => write!(f, "\"{}\"", self.0),
            Some(_) => {
                let cut = self
                    .0
                    .char_indices()
                    .nth(57)
                    .map_or(self.0.len(), |(i, _)| i);
                write!(f, "\"{}...\"", &self.0[..cut])
            }
        }
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

    #[test]
    fn merge_names_are_the_trimmed_names_between_doubled_braces() {
        fn names(t: &str) -> Vec<&str> {
            merge_names(t).collect()
        }
        assert_eq!(
            names("Hi {{ contact.first_name | default: 'there' }}, {{user.name}}!"),
            ["contact.first_name", "user.name"]
        );
        assert_eq!(names("{ {a}} {b} }} {{c"), ["c"]);
        assert_eq!(names("{{{a}}}"), ["{a"]);
        assert_eq!(names("}}{{b}}{{ }}{{"), ["b"]);
        assert_eq!(names("€{{é}}€"), ["é"]);
        assert!(names("").is_empty() && names("{").is_empty() && names("{{").is_empty());
    }
}
