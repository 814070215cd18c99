//! The one workflow model every input format is parsed into: workflows, steps, triggers and the
//! account's reference lists.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::Value;

pub use super::attributes::{Attributes, Json};

/// A parsed input: one workflow, or an account bundle of several plus the account's lists.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<'a> {
    /// One workflow (native builder JSON or the simple export).
    Single(Workflow<'a>),
    /// Several workflows and the account's reference lists (format C).
    Bundle(Bundle<'a>),
}

impl<'a> Input<'a> {
    /// Every workflow of the input, in input order.
    pub fn workflows(&self) -> &[Workflow<'a>] {
        match self {
            Input::Single(w) => std::slice::from_ref(w),
            Input::Bundle(b) => &b.workflows,
        }
    }
}

/// An account bundle: several workflows and the reference lists account rules check against.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bundle<'a> {
    /// The workflows, in input order.
    pub workflows: Vec<Workflow<'a>>,
    /// The account's reference lists; each is `None` when the bundle did not include it.
    pub account: AccountLists,
}

/// Where a workflow came from, kept for diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceFormat {
    /// HighLevel's builder JSON (`workflowData.templates[]`).
    #[default]
    Native,
    /// The community export (`steps[]` with `meta`).
    Export,
}

/// One workflow, whatever format it arrived in.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Workflow<'a> {
    /// HighLevel's workflow id (`_id` or `id`); empty when the input had none.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `draft`, `published`, or whatever the input said.
    pub status: Option<String>,
    /// Version counter from the builder.
    pub version: Option<i64>,
    /// Last update as sent (ISO 8601 or epoch milliseconds, normalised to a string).
    pub updated_at: Option<String>,
    /// Creation time as sent.
    pub created_at: Option<String>,
    /// Workflow-level settings.
    pub settings: Settings,
    /// Steps in input order (nested export branches are flattened in document order).
    pub steps: Vec<Step<'a>>,
    /// Triggers; `None` when the input did not include them (trigger rules are then skipped).
    pub triggers: Option<Vec<Trigger>>,
    /// Which format the workflow was read from.
    pub format: SourceFormat,
}

impl Workflow<'_> {
    /// Whether the workflow is published (the status HighLevel reports).
    pub fn is_published(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("published"))
    }

    /// Whether the workflow is a draft (it runs nothing until it is published).
    pub fn is_draft(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("draft"))
    }
}

/// Workflow-level settings that rules read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings {
    /// Contacts may enter the workflow more than once (`allowMultiple`; false when absent, so the
    /// rules that object to re-entry being on stay silent on input that does not say).
    pub allow_multiple: bool,
    /// The input said `allowMultiple` at all. The builder always writes it, so its absence says
    /// nothing about the setting: a rule that objects to re-entry being off needs the input to
    /// say so.
    pub allow_multiple_stated: bool,
    /// Several opportunities may be created per contact.
    pub allow_multiple_opportunity: bool,
    /// The workflow stops when the contact replies; `None` when the input did not say.
    pub stop_on_response: Option<bool>,
    /// Workflow timezone.
    pub timezone: Option<String>,
    /// A workflow-wide sending window, when the input had one.
    pub sending_window: Option<Json<'static>>,
    /// The workflow-level event start date (`eventStartDate`, the builder's older setting that the
    /// Set Event Start Date action replaced) is filled: event-relative waits have their date.
    pub event_start_date: bool,
}

/// The next step(s) of a step as written in the input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Next<'a> {
    /// A last step.
    #[default]
    None,
    /// A plain step's follower.
    One(Cow<'a, str>),
    /// A container's branches or transitions.
    Many(Vec<Cow<'a, str>>),
}

impl<'a> Next<'a> {
    /// The ids in written order.
    pub fn ids(&self) -> &[Cow<'a, str>] {
        match self {
            Next::None => &[],
            Next::One(id) => std::slice::from_ref(id),
            Next::Many(ids) => ids,
        }
    }
}

/// One step of a workflow (including the builder's structural nodes: if/else branches and
/// multi-path transitions).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Step<'a> {
    /// Step id (synthesised from the JSON pointer when the input had none).
    pub id: Cow<'a, str>,
    /// Action key, e.g. `sms`, `wait`, `if_else`.
    pub kind: Cow<'a, str>,
    /// Display name.
    pub name: Cow<'a, str>,
    /// The builder's `order`, when present.
    pub order: Option<i64>,
    /// Following step(s).
    pub next: Next<'a>,
    /// The step before this one.
    pub parent_key: Option<Cow<'a, str>>,
    /// The enclosing branch container.
    pub parent: Option<Cow<'a, str>>,
    /// Builder category, e.g. `conditions`, `multi-path`.
    pub cat: Option<Cow<'a, str>>,
    /// Builder node type, e.g. `condition-node`, `branch-yes`, `branch-no`.
    pub node_type: Option<Cow<'a, str>>,
    /// Type-specific attributes (`meta` in the export format), the keys rules read.
    pub attributes: Attributes<'a>,
    /// The step is switched off in the builder.
    pub disabled: bool,
    /// `audit-ignore: <rule-id> <reason>` directives found in the step's builder notes
    /// (`comments`): the rule's findings on this step are reported as suppressed.
    pub ignores: Vec<InlineIgnore>,
    /// The structural role as the parser derived it while the step was at hand ([`Step::role`]);
    /// `None` (a step built by hand) derives it from the fields when asked. Reading it later
    /// meant a cache miss per step on its attributes.
    pub known_role: Option<Role>,
}

/// An inline suppression written in a step's note: `audit-ignore: <rule-id> <reason>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InlineIgnore {
    /// The rule id it silences on this step.
    pub rule: String,
    /// The text after the rule id (may be empty; the result then says so).
    pub reason: String,
}

/// A step type as the rules group it, computed once per step into a dense array so that rule
/// passes over 10,000 steps do not each walk the (large) step structs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `sms`.
    Sms,
    /// `email`.
    Email,
    /// Another type that messages the contact (WhatsApp, DM, voicemail, drip...).
    OtherOutbound,
    /// A wait.
    Wait,
    /// A go-to.
    Goto,
    /// `webhook` / `custom_webhook`.
    Webhook,
    /// `custom_code`.
    CustomCode,
    /// Creates an opportunity.
    CreateOpportunity,
    /// Updates an opportunity.
    UpdateOpportunity,
    /// `find_opportunity`.
    FindOpportunity,
    /// `create_contact`.
    CreateContact,
    /// `add_contact_tag`.
    AddTag,
    /// `remove_contact_tag`.
    RemoveTag,
    /// `add_to_workflow`.
    AddToWorkflow,
    /// `workflow_goal`.
    Goal,
    /// `remove_from_workflow`.
    RemoveFromWorkflow,
    /// Sets the date an event-relative wait needs: set event start date (`set_event_start_date`,
    /// HighLevel's `event_start_date`), booking (`book_appointment`, the conversation AI's
    /// `conversationai_book_appointment`), appointment status.
    EventAnchor,
    /// `internal_notification`.
    InternalNotification,
    /// An AI step (`chatgpt`, `ai_agent`, the conversation AI bots `conversation_ai`,
    /// `conversation_ai_bot`, `ai_bot`, and HighLevel's AI branching steps
    /// `workflow_ai_decision_maker` and `conversationai_ai_splitter`).
    Ai,
    /// `update_contact_field`.
    UpdateField,
    /// `dnd`, and HighLevel's own `dnd_contact`.
    Dnd,
    /// `find_contact`.
    FindContact,
    /// `math_operation`.
    MathOperation,
    /// Any other known type.
    OtherKnown,
    /// A type the analyzer does not know.
    Unknown,
}

impl Kind {
    /// The group of a step type.
    pub fn of(kind: &str) -> Kind {
        match kind {
            "sms" => Kind::Sms,
            "email" => Kind::Email,
            "wait" | "event_start_date_wait" => Kind::Wait,
            "goto" => Kind::Goto,
            "webhook" | "custom_webhook" => Kind::Webhook,
            "custom_code" => Kind::CustomCode,
            "create_opportunity" | "internal_create_opportunity" => Kind::CreateOpportunity,
            "internal_update_opportunity" | "update_opportunity" => Kind::UpdateOpportunity,
            "find_opportunity" => Kind::FindOpportunity,
            "create_contact" => Kind::CreateContact,
            "add_contact_tag" => Kind::AddTag,
            "remove_contact_tag" => Kind::RemoveTag,
            "add_to_workflow" => Kind::AddToWorkflow,
            "workflow_goal" => Kind::Goal,
            "remove_from_workflow" => Kind::RemoveFromWorkflow,
            "set_event_start_date"
            | "event_start_date"
            | "book_appointment"
            | "conversationai_book_appointment"
            | "update_appointment_status" => Kind::EventAnchor,
            "internal_notification" => Kind::InternalNotification,
            "chatgpt"
            | "ai_agent"
            | "conversation_ai"
            | "conversation_ai_bot"
            | "ai_bot"
            | "workflow_ai_decision_maker"
            | "conversationai_ai_splitter" => Kind::Ai,
            "update_contact_field" => Kind::UpdateField,
            "dnd" | "dnd_contact" => Kind::Dnd,
            "find_contact" => Kind::FindContact,
            "math_operation" => Kind::MathOperation,
            k if is_outbound_kind(k) => Kind::OtherOutbound,
            k if is_known_kind(k) => Kind::OtherKnown,
            _ => Kind::Unknown,
        }
    }

    /// Whether the step messages the contact.
    pub fn is_outbound(self) -> bool {
        matches!(self, Kind::Sms | Kind::Email | Kind::OtherOutbound)
    }
}

/// Whether `haystack` contains `needle` ignoring ASCII case, without allocating (rules scan
/// every message text; lower-casing copies would dominate their cost).
pub(crate) fn contains_ci(haystack: &str, needle: &str) -> bool {
    needle.is_empty()
        || matches_ci(haystack.as_bytes(), needle.as_bytes())
            .next()
            .is_some()
}

/// The first of `needles` (in list order) that `haystack` contains, ignoring ASCII case.
pub(crate) fn find_any_ci<'n>(haystack: &str, needles: &[&'n str]) -> Option<&'n str> {
    needles.iter().copied().find(|n| contains_ci(haystack, n))
}

/// Whether `haystack` contains any of `needles`, ignoring ASCII case ([`find_any_ci`]).
pub(crate) fn contains_any_ci(haystack: &str, needles: &[&str]) -> bool {
    find_any_ci(haystack, needles).is_some()
}

/// Whether `haystack` contains any of `phrases` as whole words, ignoring ASCII case: no letter or
/// digit right before or after it ("we missed you" is not in "we missed your call").
pub(crate) fn contains_any_phrase_ci(haystack: &str, phrases: &[&str]) -> bool {
    let h = haystack.as_bytes();
    let word = |i: Option<usize>| {
        i.and_then(|i| h.get(i))
            .is_some_and(u8::is_ascii_alphanumeric)
    };
    phrases.iter().any(|p| {
        let n = p.as_bytes();
        n.is_empty()
            || matches_ci(h, n).any(|i| !word(i.checked_sub(1)) && !word(Some(i + n.len())))
    })
}

/// Where a non-empty `n` starts in `h`, ignoring ASCII case: memchr's vectorised search jumps
/// between candidate first bytes (either case).
pub(crate) fn matches_ci<'h>(h: &'h [u8], n: &'h [u8]) -> impl Iterator<Item = usize> + 'h {
    let (first, rest) = n.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
    let candidates = h
        .len()
        .checked_sub(n.len())
        .filter(|_| !n.is_empty())
        .map(|last_start| {
            let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
            memchr::memchr2_iter(lo, up, &h[..=last_start])
        });
    candidates
        .into_iter()
        .flatten()
        .filter(move |&i| h[i + 1..i + n.len()].eq_ignore_ascii_case(rest))
}

/// The adjacent byte pairs of a text folded into 256 bits: a phrase with a pair the text lacks
/// cannot occur in it, which rules most phrases out in a few instructions instead of a scan each
/// (every message is checked against dozens of phrases). Case is folded by keeping a byte's low
/// five bits, which ASCII upper and lower case letters share, so a case-insensitive match always
/// passes: the filter never hides a match, it only skips scans that would find nothing.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pairs([u64; 4]);

impl Pairs {
    fn slot(a: u8, b: u8) -> u32 {
        ((u32::from(a & 31) << 3) ^ u32::from(b & 31)) & 255
    }

    /// The pairs of `text`.
    pub fn of(text: &str) -> Pairs {
        let mut bits = [0u64; 4];
        for w in text.as_bytes().windows(2) {
            let s = Pairs::slot(w[0], w[1]);
            bits[(s >> 6) as usize] |= 1 << (s & 63);
        }
        Pairs(bits)
    }

    /// Whether a text with these pairs may contain `needle`, ASCII case ignored (`false`: it
    /// certainly does not).
    pub fn may_contain(&self, needle: &str) -> bool {
        needle.as_bytes().windows(2).all(|w| {
            let s = Pairs::slot(w[0], w[1]);
            self.0[(s >> 6) as usize] >> (s & 63) & 1 == 1
        })
    }
}

/// A message text with its [`Pairs`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Text<'a> {
    pub text: &'a str,
    pub pairs: &'a Pairs,
}

impl Text<'_> {
    /// Whether the text contains `needle`, ASCII case ignored ([`contains_ci`]).
    pub fn has(&self, needle: &str) -> bool {
        self.pairs.may_contain(needle) && contains_ci(self.text, needle)
    }

    /// Whether the text contains any of `needles` ([`contains_any_ci`]).
    pub fn has_any(&self, needles: &[&str]) -> bool {
        needles.iter().any(|n| self.has(n))
    }

    /// Whether the text contains any of `phrases` as whole words ([`contains_any_phrase_ci`]).
    pub fn has_any_phrase(&self, phrases: &[&str]) -> bool {
        phrases.iter().any(|p| {
            self.pairs.may_contain(p) && contains_any_phrase_ci(self.text, std::slice::from_ref(p))
        })
    }
}

/// Whether `s` starts with `prefix` ignoring ASCII case, without allocating.
pub(crate) fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// What a step is structurally, derived from its type, category and node type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An ordinary action.
    Action,
    /// An if/else container whose `next` lists its branches.
    IfElse,
    /// One branch of an if/else; `none` for the "None" (else) path.
    Branch { none: bool },
    /// A multi-path step (wait with timeout, find step) whose `next` lists its transitions.
    MultiPath,
    /// One path of a multi-path step.
    Transition,
}

impl Role {
    /// Structural nodes are not actions a contact experiences.
    pub fn is_structural(self) -> bool {
        matches!(self, Role::Branch { .. } | Role::Transition)
    }
}

impl<'a> Step<'a> {
    /// The step's structural role.
    pub fn role(&self) -> Role {
        self.known_role.unwrap_or_else(|| self.derive_role())
    }

    /// The structural role from the type, category, node type, name and `transitions`.
    pub fn derive_role(&self) -> Role {
        let nt = self.node_type.as_deref().unwrap_or("");
        if nt.starts_with("branch") || self.kind == "branch" {
            let none = nt == "branch-no"
                || nt == "branch-none"
                || ["none", "else", "no"]
                    .iter()
                    .any(|n| self.name.trim().eq_ignore_ascii_case(n));
            return Role::Branch { none };
        }
        if self.kind == "transition" || nt == "transition" {
            return Role::Transition;
        }
        if nt == "condition-node"
            || self.kind == "if_else"
            || self.cat.as_deref() == Some("conditions")
        {
            return Role::IfElse;
        }
        if self.cat.as_deref() == Some("multi-path")
            || self
                .attr("transitions")
                .and_then(Json::as_array)
                .is_some_and(|t| !t.is_empty())
        {
            return Role::MultiPath;
        }
        Role::Action
    }

    /// An attribute by key.
    pub fn attr(&self, key: &str) -> Option<&Json<'a>> {
        self.attributes.get(key).filter(|v| !v.is_null())
    }

    /// A non-empty string attribute by key.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attr(key)
            .and_then(Json::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// The first non-empty string attribute among several spellings.
    pub fn attr_any(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.attr_str(k))
    }

    /// The name to show in messages: the display name, else the type, else the id.
    pub fn label(&self) -> &str {
        if !self.name.trim().is_empty() {
            &self.name
        } else if !self.kind.is_empty() {
            &self.kind
        } else {
            &self.id
        }
    }

    /// Whether the step sends something to the contact.
    pub fn is_outbound_message(&self) -> bool {
        is_outbound_kind(&self.kind)
    }

    /// Whether the step is a wait.
    pub fn is_wait(&self) -> bool {
        self.kind == "wait" || self.kind == "event_start_date_wait"
    }

    /// The user-visible texts of a message step (body, subject, html).
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        ["body", "message", "subject", "html", "text", "content"]
            .into_iter()
            .filter_map(|k| self.attributes.get(k).and_then(Json::as_str))
    }
}

macro_rules! kind_list {
    ($(#[$doc:meta])* $list:ident, $(#[$fdoc:meta])* $f:ident: $($k:literal),* $(,)?) => {
        $(#[$doc])*
        pub const $list: &[&str] = &[$($k),*];
        $(#[$fdoc])*
        pub fn $f(kind: &str) -> bool {
            matches!(kind, $($k)|*)
        }
    };
}

kind_list! {
    /// Step types that send something to the contact.
    OUTBOUND_KINDS,
    /// Whether a step type sends something to the contact (a `match`, not a list scan: it runs
    /// for every step in several rules).
    is_outbound_kind:
    "sms",
    "email",
    "whatsapp",
    "facebook_messenger",
    "instagram_dm",
    "gmb_message",
    "live_chat",
    "voicemail",
    "drip",
}

kind_list! {
    /// Step types the analyzer knows; anything else is reported by `unknown-step-type`.
    KNOWN_KINDS,
    /// Whether the analyzer knows a step type.
    is_known_kind:
    "sms",
    "email",
    "wait",
    "if_else",
    "goto",
    "webhook",
    "custom_webhook",
    "internal_notification",
    "add_contact_tag",
    "remove_contact_tag",
    "update_contact_field",
    "assign_user",
    "remove_assigned_user",
    "create_opportunity",
    "internal_create_opportunity",
    "internal_update_opportunity",
    "update_opportunity",
    "find_opportunity",
    "find_contact",
    "create_contact",
    "add_to_workflow",
    "remove_from_workflow",
    "remove_from_all_workflows",
    "workflow_goal",
    "math_operation",
    "custom_code",
    "drip",
    "chatgpt",
    "ai_agent",
    "conversation_ai",
    "conversation_ai_bot",
    "ai_bot",
    "transition",
    "branch",
    "whatsapp",
    "facebook_messenger",
    "instagram_dm",
    "gmb_message",
    "live_chat",
    "voicemail",
    "call",
    "manual_action",
    "add_note",
    "add_task",
    // the builder's Add Task action as live-editing scripts record it
    // (`attributes.type: "task_notification"`)
    "task-notification",
    "task_notification",
    "send_review_request",
    "update_appointment_status",
    "book_appointment",
    "set_event_start_date",
    "event_start_date",
    "event_start_date_wait",
    "conversationai_book_appointment",
    "workflow_ai_decision_maker",
    "conversationai_ai_splitter",
    "dnd",
    "dnd_contact",
    "date_formatter",
    "number_formatter",
    "text_formatter",
    "slack_message",
    "google_sheets",
    "split",
    "workflow_split",
}

/// A workflow trigger.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trigger {
    /// Trigger id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Trigger type, e.g. `contact_tag`, `form_submission`.
    pub kind: String,
    /// Inactive triggers do not enroll anyone.
    pub active: bool,
    /// Filters (`conditions` natively, `filters` in the export).
    pub conditions: Vec<Condition>,
}

impl Trigger {
    /// The name to show in messages.
    pub fn label(&self) -> &str {
        if self.name.trim().is_empty() {
            &self.kind
        } else {
            &self.name
        }
    }
}

/// One trigger filter.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Condition {
    /// The field filtered on.
    pub field: String,
    /// The operator, as sent.
    pub operator: String,
    /// The value, as sent.
    pub value: Value,
}

impl Condition {
    /// A filter with a field and a non-empty value actually narrows the trigger.
    pub fn has_value(&self) -> bool {
        match &self.value {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        }
    }

    /// The value's strings (a string, or the strings of a list).
    pub fn value_strings(&self) -> Vec<&str> {
        match &self.value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// The account's reference lists from a bundle; `None` for a list the bundle did not include.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AccountLists {
    /// User id to whether the user is active.
    pub users: Option<HashMap<String, bool>>,
    /// Calendar ids.
    pub calendars: Option<HashSet<String>>,
    /// Pipeline id to its stage ids.
    pub pipelines: Option<HashMap<String, HashSet<String>>>,
    /// Form ids.
    pub forms: Option<HashSet<String>>,
    /// Custom field ids and keys (keys lower-cased, without a `contact.` prefix).
    pub custom_fields: Option<HashSet<String>>,
    /// The same keys as spellings compare them (lower-cased, without `_`, `-` and spaces:
    /// `Lead Score` is `lead_score`), for `branch-on-unknown-field`.
    pub custom_field_spellings: Option<Box<HashSet<String>>>,
    /// Custom field id and key (lower-cased, without a `contact.` prefix) to its type and
    /// options; `None` when no field had a `dataType`. Boxed to keep [`Input`] small (clippy's
    /// `large_enum_variant`: a bundle's lists are much larger than a single workflow).
    pub custom_field_types: Option<Box<HashMap<String, CustomFieldType>>>,
    /// Custom value keys (lower-cased).
    pub custom_values: Option<HashSet<String>>,
    /// Tag names (lower-cased).
    pub tags: Option<HashSet<String>>,
    /// The account's phone numbers (optional `phoneNumbers` list).
    pub phone_numbers: Option<Vec<PhoneNumber>>,
    /// Sending domain (lower-cased) to its authentication (optional `emailDomains` list).
    pub email_domains: Option<HashMap<String, DomainAuth>>,
    /// Whether LC Email's default unsubscribe footer is on for the location (`None`: not said,
    /// and HighLevel's default is on).
    pub unsubscribe_footer: Option<bool>,
    /// Whether the location's SMS compliance settings append opt-out language ("Reply STOP to
    /// unsubscribe") to a first text that lacks it (`None`: not said; not assumed on).
    pub sms_opt_out_appended: Option<bool>,
    /// Whether they append the sender's identification to a first text that lacks it.
    pub sms_sender_appended: Option<bool>,
    /// Whether the location allows duplicate opportunities in one pipeline (Objects >
    /// Opportunities > Details; `None`: not said, and HighLevel's default is off: a create step
    /// moves the contact's open opportunity instead of adding one).
    pub duplicate_opportunities: Option<bool>,
}

/// The type of one `customFields` entry, for checking the values workflows write to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomFieldType {
    /// HighLevel's `dataType`, upper-cased: `TEXT`, `NUMERICAL`, `MONETORY` (sic), `DATE`,
    /// `CHECKBOX`, `SINGLE_OPTIONS`, `MULTIPLE_OPTIONS`, `RADIO`...
    pub data_type: String,
    /// The options it lists (`picklistOptions` or `options`), trimmed and lower-cased; empty when
    /// the bundle listed none (values are then not judged against options).
    pub options: HashSet<String>,
}

/// One entry of a bundle's `phoneNumbers` list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PhoneNumber {
    /// The number as sent.
    pub number: String,
    /// Whether it can send SMS: not `capabilities.sms: false`, not `smsEnabled: false`, and not
    /// in an `inactive`/`released`/`suspended`/`pending` status.
    pub can_sms: bool,
}

/// SPF, DKIM and DMARC status of one `emailDomains` entry; `None` when the entry did not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DomainAuth {
    /// SPF passes.
    pub spf: Option<bool>,
    /// DKIM passes.
    pub dkim: Option<bool>,
    /// DMARC record present and passing.
    pub dmarc: Option<bool>,
}

impl DomainAuth {
    /// What is missing or failing, by name (`None` counts as not failing: never guessed).
    pub fn failing(&self) -> Vec<&'static str> {
        [
            ("SPF", self.spf),
            ("DKIM", self.dkim),
            ("DMARC", self.dmarc),
        ]
        .into_iter()
        .filter(|(_, v)| *v == Some(false))
        .map(|(n, _)| n)
        .collect()
    }
}

impl AccountLists {
    /// Whether any list was provided, i.e. whether account rules can run at all.
    pub fn any(&self) -> bool {
        self.users.is_some()
            || self.calendars.is_some()
            || self.pipelines.is_some()
            || self.forms.is_some()
            || self.custom_fields.is_some()
            || self.custom_values.is_some()
            || self.tags.is_some()
            || self.phone_numbers.is_some()
            || self.email_domains.is_some()
            || self.unsubscribe_footer.is_some()
            || self.sms_opt_out_appended.is_some()
            || self.sms_sender_appended.is_some()
            || self.duplicate_opportunities.is_some()
    }
}

/// What HighLevel's public API returns for a workflow (`GET /workflows/`): enough for the
/// metadata-only checks when no definition was sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(default, rename_all = "camelCase")]
pub struct WorkflowMeta {
    /// Workflow id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `draft` or `published`.
    pub status: String,
    /// Version counter.
    pub version: Option<i64>,
    /// ISO 8601 creation time.
    pub created_at: Option<String>,
    /// ISO 8601 last update.
    pub updated_at: Option<String>,
    /// The sub-account.
    pub location_id: Option<String>,
}

impl WorkflowMeta {
    /// The metadata as a workflow without steps or triggers.
    pub fn to_workflow(&self) -> Workflow<'static> {
        Workflow {
            id: self.id.clone(),
            name: self.name.clone(),
            status: Some(self.status.clone()),
            version: self.version,
            updated_at: self.updated_at.clone(),
            created_at: self.created_at.clone(),
            ..Workflow::default()
        }
    }
}
