//! Where each step sits in the analyzed document, as RFC 6901 JSON pointers: SARIF locates its
//! results with them and fixes patch there. Read in one pass straight from the document's bytes
//! (or from a decoded `serde_json::Value`), building nothing but the pointers of the steps: a
//! second full decode into a `Value` cost the CLI more than the analysis itself.
//!
//! Steps are the objects with a string `id` inside `templates`, `steps` or (export branches)
//! `actions` arrays; a bundle's workflows are the items of `/workflows` (or, when that is not an
//! array, `/bundle/workflows`). A repeated id keeps its shallowest holder's place (a workflow's
//! own step before one nested in another step's attributes), the first in document order among
//! equals. Bounded: at most [`MAX_FOUND`] steps are recorded and a pointer longer than
//! [`MAX_POINTER`] bytes is not (a real one is well under 200), so a hostile document cannot make
//! pointers cost more than a few megabytes.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::{self, Write};

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::attributes::CowStr;

/// Steps recorded at most (the parser refuses more than `MAX_STEPS` per input).
const MAX_FOUND: usize = 4 * crate::MAX_STEPS;
/// The longest pointer recorded, in bytes.
const MAX_POINTER: usize = 1024;

/// The pointers of a document's steps.
#[derive(Debug, Default)]
pub struct StepPointers {
    /// (workflow index in a bundle, step id) to the step's pointer.
    steps: HashMap<(Option<usize>, String), String>,
    bundle_root: Option<&'static str>,
    single_root: &'static str,
}

impl StepPointers {
    /// The pointers of a JSON document; `None` when the bytes are not JSON.
    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        // Validated once here: read as bytes, serde_json would validate every string it meets.
        let text = std::str::from_utf8(bytes).ok()?;
        let mut d = serde_json::Deserializer::from_str(text);
        let pointers = Self::read(&mut d).ok()?;
        d.end().ok()?;
        Some(pointers)
    }

    /// The pointers of an already-decoded document.
    pub fn from_value(doc: &Value) -> Self {
        // A `Value` always reads (its deserializer has no errors for a well-formed tree).
        Self::read(doc).unwrap_or_default()
    }

    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut scan = Scan::default();
        Node {
            scan: &mut scan,
            spot: Spot::Top,
            workflow: None,
            in_steps: false,
        }
        .deserialize(d)?;
        let root = if scan.roots[0] {
            Some(Root::Workflows)
        } else if scan.roots[1] {
            Some(Root::BundleWorkflows)
        } else {
            None
        };
        let mut steps: HashMap<(Option<usize>, String), (usize, String)> =
            HashMap::with_capacity(scan.found.len());
        for (workflow, id, depth, pointer) in scan.found {
            let wf = workflow.and_then(|(r, i)| (Some(r) == root).then_some(i));
            match steps.entry((wf, id.into_owned())) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    if depth < e.get().0 {
                        e.insert((depth, pointer));
                    }
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert((depth, pointer));
                }
            }
        }
        let steps = steps.into_iter().map(|(k, (_, p))| (k, p)).collect();
        Ok(StepPointers {
            steps,
            bundle_root: root.map(Root::pointer),
            single_root: if scan.top_workflow { "/workflow" } else { "" },
        })
    }

    /// The pointer of step `id` (of bundle workflow `wf`).
    pub(crate) fn step(&self, wf: Option<usize>, id: &str) -> Option<&str> {
        self.steps.get(&(wf, id.to_owned())).map(String::as_str)
    }

    /// `/workflows` or `/bundle/workflows` when the document is a bundle.
    pub(crate) fn bundle_root(&self) -> Option<&'static str> {
        self.bundle_root
    }

    /// The pointer of a single workflow: `/workflow` when it is wrapped, else the document.
    pub(crate) fn single_root(&self) -> &'static str {
        self.single_root
    }
}

/// The two places a bundle keeps its workflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Workflows,
    BundleWorkflows,
}

impl Root {
    fn pointer(self) -> &'static str {
        match self {
            Root::Workflows => "/workflows",
            Root::BundleWorkflows => "/bundle/workflows",
        }
    }
}

/// Where a value is, as far as the bundle roots care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spot {
    /// The document itself.
    Top,
    /// `/bundle`.
    Bundle,
    /// One of the bundle roots (an array there is the bundle's workflows).
    Root(Root),
    Elsewhere,
}

/// One token of the current path.
enum Segment<'de> {
    Key(Cow<'de, str>),
    Index(usize),
}

/// A step found: its bundle root and workflow index, its id, its depth (path segments), its
/// pointer.
type Found<'de> = (Option<(Root, usize)>, Cow<'de, str>, usize, String);

#[derive(Default)]
struct Scan<'de> {
    /// The path of the value being read, and about its length as a pointer in bytes.
    path: Vec<Segment<'de>>,
    path_bytes: usize,
    /// Steps found, in document order.
    found: Vec<Found<'de>>,
    /// Whether `/workflows` and `/bundle/workflows` are arrays.
    roots: [bool; 2],
    /// Whether the document has a top-level `workflow` key.
    top_workflow: bool,
}

impl<'de> Scan<'de> {
    fn push(&mut self, segment: Segment<'de>) {
        self.path_bytes += 1 + match &segment {
            Segment::Key(k) => k.len(),
            Segment::Index(i) => i.checked_ilog10().unwrap_or(0) as usize + 1,
        };
        self.path.push(segment);
    }

    fn pop(&mut self) {
        if let Some(segment) = self.path.pop() {
            self.path_bytes -= 1 + match &segment {
                Segment::Key(k) => k.len(),
                Segment::Index(i) => i.checked_ilog10().unwrap_or(0) as usize + 1,
            };
        }
    }

    fn pointer(&self) -> String {
        let mut p = String::new();
        for segment in &self.path {
            match segment {
                Segment::Key(k) => {
                    p.push('/');
                    p.push_str(&super::sarif::escape(k));
                }
                Segment::Index(i) => {
                    let _ = write!(p, "/{i}");
                }
            }
        }
        p
    }
}

/// One value of the document, read for the steps inside it.
struct Node<'s, 'de> {
    scan: &'s mut Scan<'de>,
    spot: Spot,
    workflow: Option<(Root, usize)>,
    /// Whether the value is an item of a steps array (an object there is a step).
    in_steps: bool,
}

impl<'de> DeserializeSeed<'de> for Node<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A step's `id`: a string, or anything else (which names no step).
struct Id<'de>(Option<Cow<'de, str>>);

impl<'de> serde::Deserialize<'de> for Id<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Id<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Id<'de>, E> {
                Ok(Id(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E>(self, s: &str) -> Result<Id<'de>, E> {
                Ok(Id(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E>(self, s: String) -> Result<Id<'de>, E> {
                Ok(Id(Some(Cow::Owned(s))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Id<'de>, E> {
                Ok(Id(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Id<'de>, E> {
                Ok(Id(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Id<'de>, E> {
                Ok(Id(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Id<'de>, E> {
                Ok(Id(None))
            }
            fn visit_unit<E>(self) -> Result<Id<'de>, E> {
                Ok(Id(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Id<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Id(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Id<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Id(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Visitor<'de> for Node<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let root = match self.spot {
            Spot::Root(r) => {
                self.scan.roots[r as usize] = true;
                Some(r)
            }
            _ => None,
        };
        for i in 0.. {
            self.scan.push(Segment::Index(i));
            let item = Node {
                scan: &mut *self.scan,
                spot: Spot::Elsewhere,
                workflow: root.map_or(self.workflow, |r| Some((r, i))),
                in_steps: self.in_steps,
            };
            let more = seq.next_element_seed(item)?.is_some();
            self.scan.pop();
            if !more {
                break;
            }
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(CowStr(key)) = map.next_key::<CowStr<'de>>()? {
            if self.in_steps && key == "id" {
                if let Id(Some(id)) = map.next_value()? {
                    let scan = &mut *self.scan;
                    if scan.found.len() < MAX_FOUND && scan.path_bytes <= MAX_POINTER {
                        let pointer = scan.pointer();
                        let depth = scan.path.len();
                        scan.found.push((self.workflow, id, depth, pointer));
                    }
                }
                continue;
            }
            let spot = match (self.spot, &*key) {
                (Spot::Top, "workflows") => Spot::Root(Root::Workflows),
                (Spot::Top, "bundle") => Spot::Bundle,
                (Spot::Bundle, "workflows") => Spot::Root(Root::BundleWorkflows),
                _ => Spot::Elsewhere,
            };
            self.scan.top_workflow |= self.spot == Spot::Top && key == "workflow";
            let in_steps = matches!(&*key, "templates" | "steps" | "actions");
            self.scan.push(Segment::Key(key));
            map.next_value_seed(Node {
                scan: &mut *self.scan,
                spot,
                workflow: self.workflow,
                in_steps,
            })?;
            self.scan.pop();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn steps_are_found_with_escaped_paths_and_their_first_holder() {
        let doc = json!({
            "a/b~c": {"templates": [
                {"id": "s1", "attributes": {"actions": [{"id": "inner"}]}},
                {"id": "s1"},
                "not a step",
                {"name": "no id"},
                {"id": 7},
            ]},
            "workflows": [{"steps": [{"id": "s1"}]}, {"steps": [{"id": "x"}, {"id": "y"}]}],
            "bundle": {"workflows": [{"steps": [{"id": "z"}]}]},
        });
        let bytes = serde_json::to_vec(&doc).unwrap();
        for p in [
            StepPointers::from_json(&bytes).unwrap(),
            StepPointers::from_value(&doc),
        ] {
            assert_eq!(p.bundle_root(), Some("/workflows"));
            assert_eq!(p.single_root(), "");
            assert_eq!(p.step(None, "s1"), Some("/a~1b~0c/templates/0"));
            assert_eq!(
                p.step(None, "inner"),
                Some("/a~1b~0c/templates/0/attributes/actions/0")
            );
            assert_eq!(p.step(Some(0), "s1"), Some("/workflows/0/steps/0"));
            assert_eq!(p.step(Some(1), "y"), Some("/workflows/1/steps/1"));
            // Not under the bundle root that counts: no workflow index.
            assert_eq!(p.step(None, "z"), Some("/bundle/workflows/0/steps/0"));
            assert_eq!(p.steps.len(), 6);
            for ((_, id), ptr) in &p.steps {
                assert_eq!(doc.pointer(&format!("{ptr}/id")).unwrap(), id.as_str());
            }
        }
    }

    #[test]
    fn a_bundle_under_bundle_and_a_wrapped_workflow_are_recognised() {
        let bundle =
            json!({"bundle": {"workflows": [{"workflowData": {"templates": [{"id": "a"}]}}]}});
        let p = StepPointers::from_value(&bundle);
        assert_eq!(p.bundle_root(), Some("/bundle/workflows"));
        assert_eq!(
            p.step(Some(0), "a"),
            Some("/bundle/workflows/0/workflowData/templates/0")
        );
        let wrapped = br#"{"workflow": {"templates": [{"id": "a\"b"}]}, "triggers": []}"#;
        let p = StepPointers::from_json(wrapped).unwrap();
        assert_eq!(p.single_root(), "/workflow");
        assert_eq!(p.step(None, "a\"b"), Some("/workflow/templates/0"));
        assert!(StepPointers::from_json(b"{\"workflow\": ").is_none());
        assert!(StepPointers::from_json(b"{} trailing").is_none());
    }

    #[test]
    fn a_workflow_s_own_step_wins_over_a_nested_one_and_long_paths_are_not_recorded() {
        let doc = json!({"workflow": {"workflowData": {"templates": [
            {"id": "x", "attributes": {"actions": [{"id": "y"}]}},
            {"id": "y"},
        ]}}});
        let p = StepPointers::from_value(&doc);
        assert_eq!(
            p.step(None, "y"),
            Some("/workflow/workflowData/templates/1")
        );
        // A key far longer than any real pointer: its steps are not recorded (memory stays
        // bounded), the workflow's own still are.
        let long = "k".repeat(MAX_POINTER + 1);
        let doc = json!({long: {"steps": [{"id": "a"}]},
                         "workflow": {"workflowData": {"templates": [{"id": "b"}]}}});
        let p = StepPointers::from_json(&serde_json::to_vec(&doc).unwrap()).unwrap();
        assert_eq!(p.step(None, "a"), None);
        assert_eq!(
            p.step(None, "b"),
            Some("/workflow/workflowData/templates/0")
        );
    }
}
