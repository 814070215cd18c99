//! Data rules of one workflow: opportunity steps without stage, pipeline or an identified
//! record, and field updates whose value the custom field's type cannot hold.

use super::{field_key, field_writes, merge_names, quoted, Ctx, Finding, Rule};
use crate::model::{Json, Kind, Role, Step};

pub(crate) const CREATE_OPP: &[&str] = &["create_opportunity", "internal_create_opportunity"];
pub(crate) const UPDATE_OPP: &[&str] = &["internal_update_opportunity", "update_opportunity"];

pub(crate) fn stage_of<'s>(s: &'s Step<'_>) -> Option<&'s str> {
    const STAGE: &[&str] = &[
        "pipelineStageId",
        "stageId",
        "pipeline_stage_id",
        "stage_id",
    ];
    s.attr_any(STAGE).or_else(|| custom_input(s, STAGE))
}

pub(crate) fn pipeline_of<'s>(s: &'s Step<'_>) -> Option<&'s str> {
    const PIPELINE: &[&str] = &["pipelineId", "pipeline_id"];
    s.attr_any(PIPELINE).or_else(|| custom_input(s, PIPELINE))
}

/// A value the builder's internal opportunity actions keep in their input list:
/// `__customInputFields__: [{filterField: "pipeline_id", value: "eq", secondValue: "<id>"}]` (the
/// find step: `value` is the operator) or `{filterField: "pipelineStageId", value: "<id>"}`.
fn custom_input<'s>(s: &'s Step<'_>, fields: &[&str]) -> Option<&'s str> {
    let Some(Json::Array(inputs)) = s.attr("__customInputFields__") else {
        return None;
    };
    inputs.iter().find_map(|i| {
        let field = i.get("filterField").and_then(Json::as_str)?;
        fields
            .iter()
            .any(|f| f.eq_ignore_ascii_case(field))
            .then(|| {
                let filled = |k: &str| {
                    i.get(k)
                        .and_then(Json::as_str)
                        .filter(|v| !v.trim().is_empty())
                };
                filled("secondValue").or_else(|| filled("value"))
            })
            .flatten()
    })
}

/// Standard contact fields, as [`field_norm`] writes them (`first_name`, `firstName` and
/// `First Name` are one field): HighLevel has them on every contact, so the bundle's
/// `customFields` never lists them. Any key starting or ending with `dnd` is standard too (the
/// per-channel DND flags).
const STANDARD_FIELDS: &[&str] = &[
    "id",
    "name",
    "firstname",
    "lastname",
    "fullname",
    "email",
    "phone",
    "phonenumber",
    "tags",
    "tag",
    "companyname",
    "company",
    "businessname",
    "address1",
    "address",
    "city",
    "state",
    "postalcode",
    "country",
    "website",
    "dateofbirth",
    "dob",
    "source",
    "attributionsource",
    "lastattributionsource",
    "timezone",
    "assignedto",
    "assigneduser",
    "type",
    "contacttype",
    "dateadded",
    "datecreated",
    "dateupdated",
    "lastactivity",
    "gender",
    "additionalemails",
    "additionalphones",
];

/// A field key compared across spellings: lower-cased, without `_`, `-` and spaces.
pub(crate) fn field_norm(key: &str) -> String {
    key.chars()
        .filter(|c| !matches!(c, '_' | ' ' | '-'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether a field key (as [`field_key`] writes it) is a standard contact field.
fn standard_field(key: &str) -> bool {
    let n = field_norm(key);
    n.starts_with("dnd") || n.ends_with("dnd") || STANDARD_FIELDS.contains(&n.as_str())
}

/// The contact fields an if/else's conditions compare: a `contact_detail` condition's
/// `conditionSubType` (HighLevel's shape), or a `contact.x` field (`field`, `fieldKey`,
/// `conditionSubType`) in other shapes. Iterative walk of the condition tree.
fn compared_contact_fields<'v>(v: &'v Json<'_>, found: &mut Vec<&'v str>) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Json::Array(a) => stack.extend(a.iter()),
            Json::Object(o) => {
                let detail = v
                    .get("conditionType")
                    .and_then(Json::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("contact_detail"));
                for key in ["conditionSubType", "field", "fieldKey"] {
                    if let Some(f) = v.get(key).and_then(Json::as_str) {
                        let f = f.trim();
                        let scoped = f
                            .trim_start_matches("{{")
                            .trim()
                            .get(..8)
                            .is_some_and(|p| p.eq_ignore_ascii_case("contact."));
                        if !f.is_empty() && (scoped || (detail && key == "conditionSubType")) {
                            found.push(f);
                        }
                    }
                }
                stack.extend(o.iter().map(|(_, m)| m));
            }
            _ => {}
        }
    }
}

/// branch-on-unknown-field (A: the bundle's `customFields`), on a live if/else comparing a contact
/// field that is not standard, that the account's custom fields do not list (by key or id), and
/// that no step of the workflow mentions outside messages and if/else steps (a field update, a
/// saved webhook response, an AI or math step writing it). Without `customFields` in the input it
/// says nothing: without the list, a field set by a form or an import looks the same.
fn branch_on_unknown_field(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    use std::collections::{HashMap, HashSet};
    let Some(fields) = ctx.account.and_then(|a| a.custom_fields.as_ref()) else {
        return;
    };
    let spellings = ctx.account.and_then(|a| a.custom_field_spellings.as_ref());
    let g = ctx.g;
    let steps = &ctx.w.steps;
    // 1. Per if/else or branch node, walked once (several if/elses may share a branch node):
    //    the fields it compares that are neither standard nor listed.
    let mut found = Vec::new();
    let mut candidates: Vec<Vec<(&str, String)>> = vec![Vec::new(); g.len()];
    let mut wanted: HashSet<String> = HashSet::new();
    for v in (0..g.len()).filter(|&v| matches!(g.roles[v], Role::IfElse | Role::Branch { .. })) {
        found.clear();
        for c in ["branches", "conditions", "condition"]
            .iter()
            .filter_map(|k| steps[v].attr(k))
        {
            compared_contact_fields(c, &mut found);
        }
        for f in &found {
            let key = field_key(f);
            if !key.is_empty()
                && key.len() <= MAX_FIELD_KEY
                && !standard_field(&key)
                && !fields.contains(key.as_str())
                && !spellings.is_some_and(|s| s.contains(field_norm(&key).as_str()))
            {
                wanted.insert(key.clone());
                candidates[v].push((*f, key));
            }
        }
    }
    if wanted.is_empty() {
        return;
    }
    // 2. One pass over the steps that may write a field: which wanted keys they name, as a
    //    word (`contact.x`, `{{contact.x}}` or `x`), each text read once.
    let mut written: HashSet<String> = HashSet::new();
    let mut buf = String::new();
    let mut stack = Vec::new();
    for j in (0..g.len()).filter(|&j| {
        !g.disabled[j]
            && !g.kinds[j].is_outbound()
            && !matches!(g.roles[j], Role::IfElse | Role::Branch { .. })
    }) {
        stack.extend(steps[j].attributes.iter().map(|(_, a)| a));
        while let Some(v) = stack.pop() {
            let mut see = |t: &str| {
                for w in t
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
                    .map(|w| w.trim_matches('.'))
                    .filter(|w| !w.is_empty() && w.len() <= MAX_FIELD_KEY + 8)
                {
                    buf.clear();
                    buf.extend(w.chars().map(|c| c.to_ascii_lowercase()));
                    let key = buf.strip_prefix("contact.").unwrap_or(&buf);
                    if wanted.contains(key) && !written.contains(key) {
                        written.insert(key.to_owned());
                    }
                }
            };
            match v {
                Json::String(t) => see(t),
                Json::Array(a) => stack.extend(a.iter()),
                Json::Object(o) => {
                    for (k, m) in o.iter() {
                        see(k);
                        stack.push(m);
                    }
                }
                _ => {}
            }
        }
    }
    // 3. Per node its first unknown field, once; per if/else, its own and its branches'.
    let first: HashMap<usize, &str> = candidates
        .iter()
        .enumerate()
        .filter_map(|(v, c)| {
            c.iter()
                .find(|(_, key)| !written.contains(key.as_str()))
                .map(|(f, _)| (v, *f))
        })
        .collect();
    for i in (0..g.len()).filter(|&i| g.roles[i] == Role::IfElse && !g.disabled[i]) {
        let branch_nodes = g
            .out(i)
            .iter()
            .map(|e| e.to as usize)
            .filter(|&b| matches!(g.roles[b], Role::Branch { .. }));
        let unknown = std::iter::once(i)
            .chain(branch_nodes)
            .find_map(|v| first.get(&v).copied());
        if let Some(f) = unknown {
            ctx.emit(out, Rule::BranchOnUnknownField, Some(i), || {
                format!(
                    "If/else {} branches on the contact field {}, which no step of the workflow sets and the account's custom fields do not list: contacts always take the None branch.",
                    quoted(steps[i].label()),
                    quoted(f.trim_start_matches("{{").trim_end_matches("}}").trim())
                )
            });
        }
    }
}

/// Longer than any real field key: not judged (and never searched for).
const MAX_FIELD_KEY: usize = 100;

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    custom_field_type_mismatch(ctx, out);
    branch_on_unknown_field(ctx, out);
    let g = ctx.g;
    let steps = &ctx.w.steps;
    let mut identified: Option<Vec<bool>> = None;
    for i in 0..g.len() {
        let create = g.live(i, Kind::CreateOpportunity);
        let update = g.live(i, Kind::UpdateOpportunity);
        if !create && !update {
            continue;
        }
        let s = &steps[i];
        let problem = if create && stage_of(s).is_none() {
            Some("creates an opportunity without a stage".to_owned())
        } else if stage_of(s).is_some() && pipeline_of(s).is_none() {
            Some("sets a stage without its pipeline".to_owned())
        } else if update
            && ctx.w.triggers.is_some()
            && !ctx.has_trigger_like("opportunity")
            && !ctx.has_trigger_like("pipeline")
        {
            let after = identified.get_or_insert_with(|| {
                g.after(
                    (0..g.len()).filter(|&j| {
                        matches!(g.kinds[j], Kind::FindOpportunity | Kind::CreateOpportunity)
                    }),
                    |_| false,
                )
            });
            (!after[i]).then(|| {
                "updates an opportunity but nothing before it finds or creates one".to_owned()
            })
        } else {
            None
        };
        if let Some(p) = problem {
            ctx.emit(out, Rule::OpportunityMisconfigured, Some(i), || {
                format!("Step {} {p}.", quoted(s.label()))
            });
        }
    }
}

/// Standard contact fields that always hold text (merge-field sources checked against numeric,
/// date and checkbox fields).
const TEXT_SOURCES: &[&str] = &[
    "contact.email",
    "contact.first_name",
    "contact.last_name",
    "contact.name",
    "contact.full_name",
    "contact.company_name",
    "contact.address1",
    "contact.city",
    "contact.website",
];

/// Boolean-ish values a checkbox accepts.
const BOOLEANISH: &[&str] = &[
    "true",
    "false",
    "yes",
    "no",
    "1",
    "0",
    "on",
    "off",
    "checked",
    "unchecked",
];

/// Month names and their short forms, lower-case (dates in field values; reminders' context).
pub(super) const MONTHS: &[&str] = &[
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// custom-field-type-mismatch (A): an update_contact_field writing a literal (or a clearly textual
/// merge field) that the field's `dataType` cannot hold.
fn custom_field_type_mismatch(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some(acc) = ctx.account else { return };
    let Some(types) = &acc.custom_field_types else {
        return;
    };
    let g = ctx.g;
    for i in (0..g.len()).filter(|&i| g.live(i, Kind::UpdateField)) {
        let s = &ctx.w.steps[i];
        // Every write of the step (HighLevel's update lists several); the first misfit is
        // reported, with how many more there are.
        let mut misfits = field_writes(s).filter_map(|(field, value)| {
            let ty = types.get(&field_key(field))?;
            let data_type = ty.data_type.as_str();
            let options = (!ty.options.is_empty()).then_some(&ty.options);
            misfit(data_type, value?, options).map(|problem| (field, data_type, problem))
        });
        let Some((field, data_type, problem)) = misfits.next() else {
            continue;
        };
        let more = misfits.count();
        ctx.emit(out, Rule::CustomFieldTypeMismatch, Some(i), || {
            let more = match more {
                0 => String::new(),
                1 => " (and 1 more field of the step)".to_owned(),
                n => format!(" (and {n} more fields of the step)"),
            };
            format!(
                "Step {} writes to the {data_type} field {}: {problem}{more}.",
                quoted(s.label()),
                quoted(field)
            )
        });
    }
}

/// Why `value` does not fit a field of `data_type` (as a message fragment), or `None` when it
/// fits or cannot be judged (other types, empty values, mixed merge-field text).
fn misfit(
    data_type: &str,
    value: &Json<'_>,
    options: Option<&std::collections::HashSet<String>>,
) -> Option<String> {
    let text = match value {
        Json::String(t) => t.trim(),
        // A number fits numbers, checkboxes (1/0) and dates (epoch); options are not judged.
        Json::Number(_) => return None,
        Json::Bool(_) => {
            return matches!(data_type, "NUMERICAL" | "MONETORY" | "DATE")
                .then(|| "a true/false value".to_owned());
        }
        Json::Array(items) => {
            let multi = matches!(data_type, "MULTIPLE_OPTIONS" | "CHECKBOX");
            let options = options.filter(|_| multi)?;
            let bad = items
                .iter()
                .filter_map(Json::as_str)
                .map(str::trim)
                .find(|v| !v.contains("{{") && !options.contains(&v.to_lowercase()))?;
            return Some(format!("{}, which is not one of its options", quoted(bad)));
        }
        _ => return None,
    };
    if text.is_empty() {
        return None;
    }
    if text.contains("{{") {
        // Only a value that is exactly one merge field of a known text field.
        let mut names = merge_names(text);
        let name = names.next()?;
        let whole = names.next().is_none()
            && text.starts_with("{{")
            && text.ends_with("}}")
            && text.matches("{{").count() == 1;
        let textual = TEXT_SOURCES
            .iter()
            .any(|t| t.eq_ignore_ascii_case(name.trim()));
        return (whole
            && textual
            && matches!(data_type, "NUMERICAL" | "MONETORY" | "DATE" | "CHECKBOX"))
        .then(|| format!("{{{{{name}}}}}, a text field,"));
    }
    let lower = text.to_lowercase();
    let listed = |v: &str| options.is_some_and(|o| o.contains(v.trim()));
    let fits = match data_type {
        "NUMERICAL" => is_number(text),
        "MONETORY" => is_money(text),
        "DATE" => is_date(&lower),
        "CHECKBOX" => {
            BOOLEANISH.contains(&lower.as_str())
                || options.is_none()
                || lower.split(',').all(listed)
        }
        "SINGLE_OPTIONS" | "RADIO" => options.is_none() || listed(&lower),
        "MULTIPLE_OPTIONS" => options.is_none() || lower.split(',').all(listed),
        _ => true,
    };
    if fits {
        return None;
    }
    let what = match data_type {
        "SINGLE_OPTIONS" | "RADIO" | "MULTIPLE_OPTIONS" | "CHECKBOX" => {
            ", which is not one of its options"
        }
        "DATE" => ", which is not a date",
        _ => ", which is not a number",
    };
    Some(format!("{}{what}", quoted(text)))
}

/// A plain decimal number: optional sign, digits, at most one decimal point.
fn is_number(t: &str) -> bool {
    let d = t.strip_prefix(['-', '+']).unwrap_or(t);
    let mut dots = 0;
    let mut digits = 0;
    for b in d.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return false,
        }
    }
    digits > 0 && dots <= 1
}

/// An amount: a number with currency symbols or codes, thousands separators and spaces allowed.
fn is_money(t: &str) -> bool {
    let cleaned: String = t
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '$' | '€' | '£' | '¥' | '₹' | '\'' | '_'))
        .collect();
    let letters = cleaned.trim_matches(|c: char| c.is_ascii_alphabetic());
    let code_len = cleaned.len() - letters.len();
    (code_len == 0 || code_len == 3) && is_number(letters)
}

/// An ISO date (optionally with a time), a numeric date (`12/31/2026`, `31.12.26`,
/// `2026/12/31`), a date with a month name (`Dec 31, 2026`, `31 December 2026`), an epoch
/// timestamp, or `today`/`now`/`tomorrow`/`yesterday`. Expects lower-case.
fn is_date(t: &str) -> bool {
    if matches!(t, "today" | "now" | "tomorrow" | "yesterday") {
        return true;
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.len() == 10 || t.len() == 13;
    }
    let date = t
        .split(['t', ' '])
        .next()
        .unwrap_or(t)
        .trim_end_matches(',');
    let parts: Vec<&str> = date.split(['-', '/', '.']).collect();
    if parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        let l: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        return (l[0] == 4 && l[1] <= 2 && l[2] <= 2)
            || (l[0] <= 2 && l[1] <= 2 && matches!(l[2], 2 | 4));
    }
    let words: Vec<&str> = t
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let month = words.iter().any(|w| MONTHS.contains(w));
    let day_or_year = words
        .iter()
        .any(|w| (1..=4).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_digit()));
    month && day_or_year
}
