//! Format A, the native builder JSON (`workflowData.templates[]`): one reader builds each step,
//! from a `Value` tree or straight from the bytes on the fast typed path, which reads the common
//! request body `{"workflow": {native}, "triggers": [...]}` without building a tree (strings
//! borrowed from the input) and gives up on anything unusual.

use std::borrow::Cow;

use serde::de::{Deserializer, IgnoredAny};
use serde::Deserialize;
use serde_json::Value;

use super::{bool_of, kind_of, parse_settings, parse_triggers, step_object, Budget};
use crate::attributes::CowStr;
use crate::error::InputError;
use crate::model::{Attributes, Input, Next, SourceFormat, Step, Workflow};
use crate::MAX_STEPS;

pub(super) fn native_steps(
    v: Option<Value>,
    ptr: &str,
    budget: &mut Budget,
) -> Result<Vec<Step<'static>>, InputError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(other) => {
            return Err(InputError::not_workflow(
                ptr,
                format!(
                    "`templates` must be an array of steps, found {}",
                    kind_of(&other)
                ),
            ))
        }
    };
    budget.take(list.len())?;
    let mut steps = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let sptr = || format!("{ptr}/{i}");
        let o = step_object(item, &sptr())?;
        let step = serde::de::DeserializeSeed::deserialize(StepSeed::new(&sptr), Value::Object(o))
            .map_err(|e| InputError::not_workflow(&sptr(), e.to_string()))??;
        steps.push(step);
    }
    Ok(steps)
}

/// The fields of a native step, as read by both the fast typed path (strings borrowed from the
/// input) and the `Value` path (owned), so both build exactly the same [`Step`].
#[derive(Default)]
struct RawStep<'a> {
    id: Loose<'a>,
    underscore_id: Loose<'a>,
    kind: Loose<'a>,
    name: Loose<'a>,
    order: Option<Value>,
    next: RawNext<'a>,
    parent_key: Loose<'a>,
    parent: Loose<'a>,
    cat: Loose<'a>,
    node_type: Loose<'a>,
    attributes: Option<Attributes<'a>>,
    canvas: Option<CanvasMeta>,
    disabled: Option<Value>,
    comments: Option<Value>,
}

/// The part of a step's `advanceCanvasMeta` the analyzer reads; the rest (positions, sizes) is
/// skipped without building a value tree for every step. Anything but an object reads as empty,
/// as before.
#[derive(Default)]
struct CanvasMeta {
    is_disabled: Option<Value>,
}

impl<'de> Deserialize<'de> for CanvasMeta {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = CanvasMeta;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("the step's canvas metadata")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<CanvasMeta, A::Error> {
                let mut meta = CanvasMeta::default();
                while let Some(key) = map.next_key::<CowStr<'de>>()? {
                    if &*key.0 == "isDisabled" {
                        meta.is_disabled = Some(map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(meta)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<CanvasMeta, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(CanvasMeta::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<CanvasMeta, E> {
                Ok(CanvasMeta::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<CanvasMeta, E> {
                Ok(CanvasMeta::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<CanvasMeta, E> {
                Ok(CanvasMeta::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<CanvasMeta, E> {
                Ok(CanvasMeta::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<CanvasMeta, E> {
                Ok(CanvasMeta::default())
            }
            fn visit_unit<E>(self) -> Result<CanvasMeta, E> {
                Ok(CanvasMeta::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads one step object and builds the [`Step`] (or the pointered error) in place; the same
/// code serves both parse paths. A later duplicate key wins, as in a `serde_json::Map`.
struct StepSeed<'a, 'p> {
    ptr: &'p dyn Fn() -> String,
    _input: std::marker::PhantomData<&'a ()>,
}

impl<'a, 'p> StepSeed<'a, 'p> {
    fn new(ptr: &'p dyn Fn() -> String) -> Self {
        StepSeed {
            ptr,
            _input: std::marker::PhantomData,
        }
    }
}

impl<'de: 'a, 'a> serde::de::DeserializeSeed<'de> for StepSeed<'a, '_> {
    type Value = Result<Step<'a>, InputError>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> serde::de::Visitor<'de> for StepSeed<'a, '_> {
    type Value = Result<Step<'a>, InputError>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a step object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut raw = RawStep::default();
        while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
            match &*key {
                "id" => raw.id = map.next_value()?,
                "_id" => raw.underscore_id = map.next_value()?,
                "type" => raw.kind = map.next_value()?,
                "name" => raw.name = map.next_value()?,
                "order" => raw.order = map.next_value()?,
                "next" => raw.next = map.next_value()?,
                "parentKey" => raw.parent_key = map.next_value()?,
                "parent" => raw.parent = map.next_value()?,
                "cat" => raw.cat = map.next_value()?,
                "nodeType" => raw.node_type = map.next_value()?,
                "attributes" => raw.attributes = map.next_value()?,
                "advanceCanvasMeta" => raw.canvas = map.next_value()?,
                "disabled" => raw.disabled = map.next_value()?,
                "comments" | "notes" => raw.comments = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(build_step(raw, self.ptr))
    }
}

/// A string (borrowed when possible) or a number written as one; anything else is absent.
#[derive(Default)]
struct Loose<'a>(Option<Cow<'a, str>>);

/// A float as serde_json writes it (so both parse paths agree on float ids).
fn float_text(n: f64) -> Option<String> {
    serde_json::Number::from_f64(n).map(|n| n.to_string())
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Loose<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Loose<'a>, E> {
                Ok(Loose(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E>(self, s: &str) -> Result<Loose<'a>, E> {
                Ok(Loose(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E>(self, s: String) -> Result<Loose<'a>, E> {
                Ok(Loose(Some(Cow::Owned(s))))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Loose<'a>, E> {
                Ok(Loose(Some(Cow::Owned(n.to_string()))))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Loose<'a>, E> {
                Ok(Loose(Some(Cow::Owned(n.to_string()))))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Loose<'a>, E> {
                Ok(Loose(float_text(n).map(Cow::Owned)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Loose<'a>, E> {
                Ok(Loose(None))
            }
            fn visit_unit<E>(self) -> Result<Loose<'a>, E> {
                Ok(Loose(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Loose<'a>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Loose<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// `next` as written: kept raw so that a wrong type becomes the same pointered error on both
/// parse paths.
#[derive(Default)]
enum RawNext<'a> {
    #[default]
    Absent,
    Ids(Next<'a>),
    Bad(&'static str),
    BadItem(usize, &'static str),
}

/// One item of a `next` list.
enum NextItem<'a> {
    Id(Cow<'a, str>),
    Bad(&'static str),
}

struct ItemVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for ItemVisitor<'a> {
    type Value = NextItem<'a>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a step id")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Id(Cow::Borrowed(s)))
    }
    fn visit_str<E>(self, s: &str) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Id(Cow::Owned(s.to_owned())))
    }
    fn visit_string<E>(self, s: String) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Id(Cow::Owned(s)))
    }
    fn visit_i64<E>(self, n: i64) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Id(Cow::Owned(n.to_string())))
    }
    fn visit_u64<E>(self, n: u64) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Id(Cow::Owned(n.to_string())))
    }
    fn visit_f64<E>(self, n: f64) -> Result<NextItem<'a>, E> {
        Ok(float_text(n).map_or(NextItem::Bad("a number"), |t| NextItem::Id(Cow::Owned(t))))
    }
    fn visit_bool<E>(self, _: bool) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Bad("a boolean"))
    }
    fn visit_unit<E>(self) -> Result<NextItem<'a>, E> {
        Ok(NextItem::Bad("null"))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NextItem<'a>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(NextItem::Bad("an array"))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<NextItem<'a>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(NextItem::Bad("an object"))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for NextItem<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ItemVisitor(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawNext<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = RawNext<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a step id or a list of step ids")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Ids(if s.is_empty() {
                    Next::None
                } else {
                    Next::One(Cow::Borrowed(s))
                }))
            }
            fn visit_str<E>(self, s: &str) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Ids(if s.is_empty() {
                    Next::None
                } else {
                    Next::One(Cow::Owned(s.to_owned()))
                }))
            }
            fn visit_string<E>(self, s: String) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Ids(if s.is_empty() {
                    Next::None
                } else {
                    Next::One(Cow::Owned(s))
                }))
            }
            fn visit_i64<E>(self, n: i64) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Ids(Next::One(Cow::Owned(n.to_string()))))
            }
            fn visit_u64<E>(self, n: u64) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Ids(Next::One(Cow::Owned(n.to_string()))))
            }
            fn visit_f64<E>(self, n: f64) -> Result<RawNext<'a>, E> {
                Ok(float_text(n).map_or(RawNext::Bad("a number"), |t| {
                    RawNext::Ids(Next::One(Cow::Owned(t)))
                }))
            }
            fn visit_bool<E>(self, _: bool) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Bad("a boolean"))
            }
            fn visit_unit<E>(self) -> Result<RawNext<'a>, E> {
                Ok(RawNext::Ids(Next::None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawNext<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(RawNext::Bad("an object"))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawNext<'a>, A::Error> {
                let mut ids = Vec::new();
                let mut bad = None;
                while let Some(item) = seq.next_element::<NextItem<'a>>()? {
                    match item {
                        NextItem::Id(id) => ids.push(id),
                        NextItem::Bad(what) => {
                            bad.get_or_insert((ids.len(), what));
                        }
                    }
                }
                Ok(match bad {
                    Some((i, what)) => RawNext::BadItem(i, what),
                    None => RawNext::Ids(Next::Many(ids)),
                })
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

fn build_step<'a>(raw: RawStep<'a>, ptr: &dyn Fn() -> String) -> Result<Step<'a>, InputError> {
    let disabled = raw
        .canvas
        .as_ref()
        .and_then(|m| bool_of(m.is_disabled.as_ref()))
        .or_else(|| bool_of(raw.disabled.as_ref()))
        .unwrap_or(false);
    let next = match raw.next {
        RawNext::Absent => Next::None,
        RawNext::Ids(n) => n,
        RawNext::Bad(what) => {
            return Err(InputError::not_workflow(
                &format!("{}/next", ptr()),
                format!("`next` must be a step id or a list of step ids, found {what}"),
            ))
        }
        RawNext::BadItem(i, what) => {
            return Err(InputError::not_workflow(
                &format!("{}/next/{i}", ptr()),
                format!("`next` lists step ids, found {what}"),
            ))
        }
    };
    let non_empty = |l: Loose<'a>| l.0.filter(|s| !s.is_empty());
    let mut step = Step {
        id: raw
            .id
            .0
            .or(raw.underscore_id.0)
            .unwrap_or_else(|| Cow::Owned(ptr())),
        kind: raw.kind.0.unwrap_or_default(),
        name: raw.name.0.unwrap_or_default(),
        order: raw.order.as_ref().and_then(Value::as_i64),
        next,
        parent_key: non_empty(raw.parent_key),
        parent: non_empty(raw.parent),
        cat: raw.cat.0,
        node_type: raw.node_type.0,
        attributes: raw.attributes.unwrap_or_default(),
        disabled,
        ignores: raw
            .comments
            .as_ref()
            .map(super::audit_ignores)
            .unwrap_or_default(),
        known_role: None,
    };
    step.known_role = Some(step.derive_role());
    Ok(step)
}

/// A string or a number as a string.
fn string_of(v: Option<Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Deserialize a field whose mere presence matters (even as `null`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

/// Deserialize a field to `Some(value)` even when it is `null`.
fn some_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// The common request body `{"workflow": {native}, "triggers": [...]}`, read with typed serde
/// (no intermediate `Value` tree). Anything unusual makes it give up, and the `Value` path —
/// which produces the pointered errors — reads the input instead.
#[derive(Deserialize)]
struct FastBody<'a> {
    #[serde(default, borrow)]
    workflow: Option<FastWorkflow<'a>>,
    #[serde(default, deserialize_with = "some_value")]
    triggers: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    bundle: bool,
    #[serde(default, deserialize_with = "present")]
    workflows: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FastWorkflow<'a> {
    #[serde(default, rename = "_id")]
    underscore_id: Option<Value>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    status: Option<Value>,
    #[serde(default)]
    version: Option<Value>,
    #[serde(default)]
    updated_at: Option<Value>,
    #[serde(default)]
    created_at: Option<Value>,
    #[serde(default, borrow)]
    workflow_data: Option<FastData<'a>>,
    #[serde(default, deserialize_with = "some_value")]
    triggers: Option<Value>,
    #[serde(default)]
    allow_multiple: Option<Value>,
    #[serde(default)]
    allow_multiple_opportunity: Option<Value>,
    #[serde(default)]
    stop_on_response: Option<Value>,
    #[serde(default)]
    timezone: Option<Value>,
    #[serde(default)]
    sending_window: Option<Value>,
    #[serde(default)]
    window: Option<Value>,
    #[serde(default)]
    event_start_date: Option<Value>,
    #[serde(default)]
    settings: Option<Value>,
}

#[derive(Deserialize)]
struct FastData<'a> {
    #[serde(default, borrow)]
    templates: Option<Templates<'a>>,
}

thread_local! {
    /// How many steps the fast path expects, from the input's size: JSON gives no length for
    /// arrays, and growing a 10,000-step vector by doubling copied megabytes.
    static STEPS_HINT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Bytes per native step assumed by [`STEPS_HINT`] (real steps are larger, so this over-reserves).
const BYTES_PER_STEP_HINT: usize = 96;

/// The native steps, built one by one while reading (no intermediate list of raw steps).
struct Templates<'a>(Vec<Step<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Templates<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Templates<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of steps")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Templates<'a>, A::Error> {
                use serde::de::Error;
                let hint = STEPS_HINT.with(std::cell::Cell::get);
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(hint).min(MAX_STEPS));
                loop {
                    let i = out.len();
                    let ptr = || format!("/workflow/workflowData/templates/{i}");
                    match seq.next_element_seed(StepSeed::new(&ptr))? {
                        // One step more than the limit: the `Value` path reports it properly.
                        // (Checked after reading, so exactly MAX_STEPS steps stay on this path.)
                        Some(_) if i >= MAX_STEPS => {
                            return Err(A::Error::custom("too many steps"))
                        }
                        Some(Ok(step)) => out.push(step),
                        Some(Err(e)) => return Err(A::Error::custom(e)),
                        None => break,
                    }
                }
                Ok(Templates(out))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

pub(super) fn fast_native(input: &[u8]) -> Option<Result<Input<'_>, InputError>> {
    STEPS_HINT.with(|h| h.set(input.len() / BYTES_PER_STEP_HINT));
    // Validate UTF-8 once (vectorised) so the reader does not re-check every string it borrows;
    // invalid UTF-8 falls through to the slow path, which reports where.
    let text = std::str::from_utf8(input).ok()?;
    let body: FastBody<'_> = serde_json::from_str(text).ok()?;
    if body.bundle || body.workflows {
        return None;
    }
    let mut fw = body.workflow?;
    let templates = fw
        .workflow_data
        .take()?
        .templates
        .map_or_else(Vec::new, |t| t.0);
    Some(fast_workflow(fw, templates, body.triggers))
}

fn fast_workflow<'a>(
    fw: FastWorkflow<'a>,
    steps: Vec<Step<'a>>,
    outer_triggers: Option<Value>,
) -> Result<Input<'a>, InputError> {
    let nested = fw.settings.as_ref().and_then(Value::as_object);
    let settings = parse_settings(|key| {
        let own = match key {
            "allowMultiple" => fw.allow_multiple.as_ref(),
            "allowMultipleOpportunity" => fw.allow_multiple_opportunity.as_ref(),
            "stopOnResponse" => fw.stop_on_response.as_ref(),
            "timezone" => fw.timezone.as_ref(),
            "sendingWindow" => fw.sending_window.as_ref(),
            "window" => fw.window.as_ref(),
            "eventStartDate" => fw.event_start_date.as_ref(),
            _ => None,
        };
        own.or_else(|| nested.and_then(|n| n.get(key)))
    });
    let triggers = match (fw.triggers, outer_triggers) {
        (Some(t), _) => Some(parse_triggers(t, "/workflow/triggers")?),
        (None, Some(t)) => Some(parse_triggers(t, "/triggers")?),
        (None, None) => None,
    };
    Ok(Input::Single(Workflow {
        id: string_of(fw.underscore_id)
            .or_else(|| string_of(fw.id))
            .unwrap_or_default(),
        name: string_of(fw.name).unwrap_or_default(),
        status: string_of(fw.status),
        version: fw.version.as_ref().and_then(Value::as_i64),
        updated_at: string_of(fw.updated_at),
        created_at: string_of(fw.created_at),
        settings,
        steps,
        triggers,
        format: SourceFormat::Native,
    }))
}
