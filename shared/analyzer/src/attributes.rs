//! A step's attributes, kept compactly: only the keys some rule reads are stored (interned), the
//! rest is skipped while parsing, and values use [`Json`], a lean JSON tree whose strings are
//! borrowed from the input and whose objects are small vectors. Parsing dominated the analyzer's
//! time while every attribute of every step allocated a B-tree node and owned strings.

use std::borrow::Cow;
use std::fmt;
use std::hash::BuildHasherDefault;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// A JSON value with vector-backed objects and borrowed strings. Nesting is bounded by
/// serde_json's recursion limit (128) for parsed input. Equality ignores object member order (as
/// JSON does), so both parse paths compare equal.
#[derive(Debug, Clone, Default)]
pub enum Json<'a> {
    /// `null`.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (as f64: attribute numbers are durations and counts).
    Number(f64),
    /// A string, borrowed from the input when it had no escapes.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Json<'a>>),
    /// An object, in input order (a later duplicate key wins on lookup).
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl PartialEq for Json<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Json::Null, Json::Null) => true,
            (Json::Bool(a), Json::Bool(b)) => a == b,
            (Json::Number(a), Json::Number(b)) => a == b,
            (Json::String(a), Json::String(b)) => a == b,
            (Json::Array(a), Json::Array(b)) => a == b,
            (Json::Object(a), Json::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| other.get(k) == Some(v) && self.get(k) == Some(v))
            }
            _ => false,
        }
    }
}

impl<'a> Json<'a> {
    /// A member of an object.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(o) => o.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }
    /// The items, if this is an array.
    pub fn as_array(&self) -> Option<&Vec<Json<'a>>> {
        match self {
            Json::Array(a) => Some(a),
            _ => None,
        }
    }
    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&Vec<(Cow<'a, str>, Json<'a>)>> {
        match self {
            Json::Object(o) => Some(o),
            _ => None,
        }
    }
    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(n) => Some(*n),
            _ => None,
        }
    }
    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }
    /// A string, or a number written as an id.
    pub fn id_string(&self) -> Option<String> {
        match self {
            Json::String(s) => Some(s.to_string()),
            Json::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

impl From<Value> for Json<'static> {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(b),
            Value::Number(n) => n.as_f64().map_or(Json::Null, Json::Number),
            Value::String(s) => Json::String(Cow::Owned(s)),
            Value::Array(a) => Json::Array(a.into_iter().map(Json::from).collect()),
            Value::Object(o) => Json::Object(
                o.into_iter()
                    .map(|(k, v)| (Cow::Owned(k), Json::from(v)))
                    .collect(),
            ),
        }
    }
}

impl From<&Value> for Json<'static> {
    fn from(v: &Value) -> Self {
        Json::from(v.clone())
    }
}

/// A string borrowed from the input when possible (no escapes), owned otherwise.
pub(crate) struct CowStr<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = CowStr<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<CowStr<'a>, E> {
                Ok(CowStr(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<CowStr<'a>, E> {
                Ok(CowStr(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<CowStr<'a>, E> {
                Ok(CowStr(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Json<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Json<'a>, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Json<'a>, E> {
                Ok(Json::Number(n as f64))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Json<'a>, E> {
                Ok(Json::Number(n as f64))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Json<'a>, E> {
                Ok(Json::Number(n))
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Json<'a>, E> {
                Ok(Json::String(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Json<'a>, E> {
                Ok(Json::String(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Json<'a>, E> {
                Ok(Json::String(Cow::Owned(s)))
            }
            fn visit_unit<E>(self) -> Result<Json<'a>, E> {
                Ok(Json::Null)
            }
            fn visit_none<E>(self) -> Result<Json<'a>, E> {
                Ok(Json::Null)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Json<'a>, D2::Error> {
                Json::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element::<Json<'a>>()? {
                    out.push(v);
                }
                Ok(Json::Array(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some(CowStr(k)) = map.next_key::<CowStr<'a>>()? {
                    let v = map.next_value::<Json<'a>>()?;
                    out.push((k, v));
                }
                Ok(Json::Object(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Attribute keys the rules read. Anything else in `attributes` (or `meta`) is not kept.
pub const KEPT_KEYS: &[&str] = &[
    // HighLevel builder keys (docs/ANALYZER.md, "Real shapes").
    "appointmentStartAfter",
    "user_list",
    "traffic_split",
    "templateId",
    "template_id",
    "template",
    "templatesource",
    "attachments",
    // messages
    "body",
    "message",
    "subject",
    "html",
    "text",
    "content",
    "transactional",
    "from_email",
    "fromEmail",
    "from",
    "fromAddress",
    "replyTo",
    "reply_to",
    // AI steps
    "prompt",
    "instructions",
    "maxTokens",
    "max_tokens",
    "maxLength",
    "max_length",
    "options",
    "enum",
    "choices",
    "fallback",
    "onError",
    "errorPath",
    "mode",
    "agentType",
    "humanHandoff",
    "handoff",
    "transferToHuman",
    "escalate",
    // if/else conditions
    "branches",
    "conditions",
    "condition",
    // goal events (the tag or event a goal waits for)
    "goal",
    "goals",
    // internal notification recipients
    "assignedUser",
    "to",
    "toEmail",
    "emails",
    "email",
    "phone",
    "recipients",
    "recipientType",
    "sendTo",
    "userType",
    "selectedUser",
    // the channel objects of HighLevel's internal notification (`Attributes::lift_channel`)
    "sms",
    "notification",
    "whatsapp",
    // DND and field updates
    "action",
    "dndAction",
    "dnd",
    "dnd_contact",
    "specific_channels",
    "status",
    "field",
    "fields",
    "value",
    // retries
    "retry",
    "retries",
    "retryCount",
    "maxRetries",
    "retryOnFailure",
    // waits
    "type",
    "startAfter",
    "timeout",
    "timeoutEnabled",
    "transitions",
    "dateField",
    "eventField",
    "customField",
    "eventDate",
    "window",
    "sendingWindow",
    "advanceWindow",
    // go-to
    "targetNodeId",
    "target",
    // webhooks and code
    "url",
    "webhookUrl",
    "endpoint",
    "method",
    "headers",
    "params",
    "query",
    "data",
    "payload",
    "customData",
    "code",
    "script",
    "auth",
    "authorization",
    "apiKey",
    "api_key",
    "token",
    "password",
    "secret",
    "saveResponse",
    "save_response",
    "storeResponse",
    "responseMapping",
    "customDataMapping",
    "responseFields",
    // opportunities
    "pipelineId",
    "pipeline_id",
    "pipelineStageId",
    "stageId",
    "pipeline_stage_id",
    // the builder's internal opportunity actions keep their pipeline and stage here
    "__customInputFields__",
    "stage_id",
    // account references
    "userId",
    "user_id",
    "userIds",
    "users",
    "assignedTo",
    "calendarId",
    "calendar_id",
    "fieldId",
    "customFieldId",
    "field_id",
    "tags",
    "tag",
    "workflowId",
    "workflow_id",
    "workflowIds",
    "workflows",
];

/// The kept key equal to `key`: one hash lookup in a set of [`KEPT_KEYS`] built once (every
/// attribute key of every step is looked up; a linear scan of ~170 keys, or a binary search with
/// its string comparisons, cost 5 to 8% of a parse). The set is fixed, so its hash needs no
/// secret key (input keys only look up: a crafted key costs at most a probe of the whole small
/// table, never a longer chain), and FNV-1a hashes these short keys in a third of SipHash's time.
fn intern(key: &str) -> Option<&'static str> {
    type Kept = std::collections::HashMap<&'static str, (), BuildHasherDefault<Fnv1a>>;
    static KEPT: std::sync::OnceLock<Kept> = std::sync::OnceLock::new();
    KEPT.get_or_init(|| KEPT_KEYS.iter().map(|&k| (k, ())).collect())
        .get_key_value(key)
        .map(|(k, ())| *k)
}

/// FNV-1a, for the fixed set of kept keys only ([`intern`]).
#[derive(Default)]
struct Fnv1a(u64);

impl std::hash::Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

/// The kept attributes of a step, in input order (a later duplicate key wins on lookup).
/// Equality ignores order, like [`Json`]'s.
#[derive(Debug, Clone, Default)]
pub struct Attributes<'a>(Vec<(&'static str, Json<'a>)>);

impl PartialEq for Attributes<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && self
                .0
                .iter()
                .all(|(k, v)| other.get(k) == Some(v) && self.get(k) == Some(v))
    }
}

impl<'a> Attributes<'a> {
    /// Keep the known keys of a JSON object; anything that is not an object gives no attributes.
    pub fn from_value(v: Value) -> Attributes<'static> {
        match v {
            Value::Object(map) => Attributes(
                map.into_iter()
                    .filter_map(|(k, v)| intern(&k).map(|k| (k, Json::from(v))))
                    .collect(),
            ),
            _ => Attributes::default(),
        }
    }

    /// The value under `key`, if kept and present.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.0.iter().rev().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// HighLevel's internal notification keeps its message and its recipients in an object under
    /// the channel it sends on: `{"type": "sms", "sms": {"body", "userType", "selectedUser",
    /// ...}}` (likewise `email` with `subject`/`html`, `notification` with `title`/`body`,
    /// `whatsapp`; docs/ANALYZER.md, "Real shapes"). Read that object's kept keys as the step's
    /// own (a key the step has itself wins) and drop the object, so the message rules and the
    /// recipient reader see the message and the recipients where the flat shape has them.
    pub(crate) fn lift_channel(&mut self) {
        let channel = match self.get("type").and_then(Json::as_str) {
            Some("email") => "email",
            Some("sms") => "sms",
            Some("notification") => "notification",
            Some("whatsapp") => "whatsapp",
            _ => return,
        };
        let Some(Json::Object(inner)) = self.get(channel) else {
            return;
        };
        // The builder's object carries the message or its recipient type; anything else (an
        // address object under `email`) stays as it is.
        const BUILDER_KEYS: [&str; 7] = [
            "subject",
            "html",
            "body",
            "title",
            "template_id",
            "templateId",
            "userType",
        ];
        if !inner
            .iter()
            .any(|(k, _)| BUILDER_KEYS.contains(&k.as_ref()))
        {
            return;
        }
        // The step's own keys, once (a lookup per lifted key would be quadratic in a hostile
        // step that repeats keys).
        let own: std::collections::HashSet<&'static str> = self.0.iter().map(|(k, _)| *k).collect();
        let lifted: Vec<(&'static str, Json<'a>)> = inner
            .iter()
            .filter_map(|(k, v)| intern(k).map(|k| (k, v)))
            .filter(|(k, _)| *k != channel && !own.contains(k))
            .map(|(k, v)| (k, v.clone()))
            .collect();
        self.0.retain(|(k, _)| *k != channel);
        self.0.extend(lifted);
    }

    /// HighLevel's field update lists what it writes: `{"fields": [{"field": "dnd", "value":
    /// false, "title", "type"}]}` (docs/ANALYZER.md, "Real shapes"). When it writes exactly one
    /// field and the step has no field key of its own, read that entry's field key (`field`,
    /// `fieldId`...) and `value` as the step's, so the rules that judge one field update read it. (A
    /// list of several is left as it is: the rules read every entry through `field_writes`.)
    pub(crate) fn lift_single_field(&mut self) {
        const FIELD_KEYS: [&str; 4] = ["fieldId", "customFieldId", "field_id", "field"];
        if FIELD_KEYS.iter().any(|k| self.get(k).is_some()) {
            return;
        }
        let Some(Json::Array(entries)) = self.get("fields") else {
            return;
        };
        let [Json::Object(entry)] = entries.as_slice() else {
            return;
        };
        let lifted: Vec<(&'static str, Json<'a>)> = FIELD_KEYS
            .iter()
            .chain(&["value"])
            .filter(|k| self.get(k).is_none())
            .filter_map(|&k| {
                entry
                    .iter()
                    .rev()
                    .find(|(e, _)| e == k)
                    .map(|(_, v)| (k, v.clone()))
            })
            .collect();
        self.0.extend(lifted);
    }

    /// Every kept key and value.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Json<'a>)> {
        self.0.iter().map(|(k, v)| (*k, v))
    }

    /// Whether nothing was kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Value> for Attributes<'static> {
    fn from(v: Value) -> Self {
        Attributes::from_value(v)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Attributes<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Attributes<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an attributes object")
            }
            fn visit_unit<E>(self) -> Result<Attributes<'a>, E> {
                Ok(Attributes::default())
            }
            // Anything but an object carries no attributes (as `Attributes::from_value`).
            fn visit_bool<E>(self, _: bool) -> Result<Attributes<'a>, E> {
                Ok(Attributes::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<Attributes<'a>, E> {
                Ok(Attributes::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<Attributes<'a>, E> {
                Ok(Attributes::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<Attributes<'a>, E> {
                Ok(Attributes::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<Attributes<'a>, E> {
                Ok(Attributes::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Attributes<'a>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Attributes::default())
            }
            fn visit_none<E>(self) -> Result<Attributes<'a>, E> {
                Ok(Attributes::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attributes<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some(CowStr(key)) = map.next_key::<CowStr<'a>>()? {
                    match intern(&key) {
                        Some(k) => out.push((k, map.next_value::<Json<'a>>()?)),
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Attributes(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}
