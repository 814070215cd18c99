//! Format C, the account bundle: `{"workflows": [...]}` (or `{"bundle": {...}}`), each workflow in
//! the native or the export shape, with the account's reference lists (users, calendars,
//! pipelines, forms, custom fields and values, tags, phone numbers, email domains) and the
//! location's settings.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::{bool_of, id_of, kind_of, parse_workflow, Budget};
use crate::error::{InputError, Limit};
use crate::model::{AccountLists, Bundle, CustomFieldType, DomainAuth, PhoneNumber};
use crate::MAX_WORKFLOWS;

pub(super) fn parse_bundle(
    value: Value,
    ptr: &str,
    budget: &mut Budget,
) -> Result<Bundle<'static>, InputError> {
    let Value::Object(mut obj) = value else {
        return Err(InputError::not_workflow(
            ptr,
            format!("a bundle must be an object, found {}", kind_of(&value)),
        ));
    };
    let wptr = format!("{ptr}/workflows");
    let list = match obj.remove("workflows") {
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(InputError::not_workflow(
                &wptr,
                format!("`workflows` must be an array, found {}", kind_of(&other)),
            ))
        }
        None => {
            return Err(InputError::not_workflow(
                ptr,
                "a bundle needs a `workflows` array",
            ))
        }
    };
    if list.len() > MAX_WORKFLOWS {
        return Err(InputError::TooLarge {
            what: Limit::Workflows,
            limit: MAX_WORKFLOWS,
            actual: list.len(),
        });
    }
    let mut workflows = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let iptr = format!("{wptr}/{i}");
        let workflow = match item {
            Value::Object(mut o) if o.get("workflow").is_some_and(Value::is_object) => {
                let triggers = o
                    .remove("triggers")
                    .map(|t| (t, format!("{iptr}/triggers")));
                let w = o.remove("workflow").unwrap_or(Value::Null);
                parse_workflow(w, &format!("{iptr}/workflow"), triggers, budget)?
            }
            other => parse_workflow(other, &iptr, None, budget)?,
        };
        workflows.push(workflow);
    }
    let account = parse_account(&mut obj, ptr)?;
    Ok(Bundle { workflows, account })
}

fn list<'a>(
    obj: &'a Map<String, Value>,
    ptr: &str,
    key: &str,
) -> Result<Option<&'a Vec<Value>>, InputError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(InputError::not_workflow(
            &format!("{ptr}/{key}"),
            format!("`{key}` must be an array, found {}", kind_of(other)),
        )),
    }
}

fn ids(items: &[Value], keys: &[&str]) -> HashSet<String> {
    let mut out = HashSet::new();
    for item in items {
        match item {
            Value::String(s) => {
                out.insert(s.to_ascii_lowercase());
            }
            Value::Object(o) => {
                for k in keys {
                    if let Some(s) = id_of(o.get(*k)) {
                        out.insert(s.to_ascii_lowercase());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The bundle's reference lists. HighLevel's API answers arrays of objects; exporters and
/// auditors also write name -> value objects (`"customValues": {"booking_link": "https://..."}`):
/// both are read, an object entry becoming `{id, key, name: <its name>, value}` (an object value
/// keeps its own fields and gains the missing ones).
const ACCOUNT_LISTS: [&str; 9] = [
    "users",
    "calendars",
    "forms",
    "pipelines",
    "customFields",
    "customValues",
    "tags",
    "phoneNumbers",
    "emailDomains",
];

fn lists_as_arrays(obj: &mut Map<String, Value>) {
    for key in ACCOUNT_LISTS {
        let Some(Value::Object(entries)) = obj.get_mut(key) else {
            continue;
        };
        let items = std::mem::take(entries)
            .into_iter()
            .map(|(name, value)| {
                let mut item = match value {
                    Value::Object(o) => o,
                    other => {
                        let mut o = Map::new();
                        o.insert("value".into(), other);
                        o
                    }
                };
                for field in ["id", "key", "name"] {
                    item.entry(field)
                        .or_insert_with(|| Value::String(name.clone()));
                }
                Value::Object(item)
            })
            .collect();
        obj.insert(key.to_owned(), Value::Array(items));
    }
}

/// One of the location's settings that decide platform defaults (docs/ANALYZER.md, "Platform
/// defaults"): the first of `keys` given as a boolean in `locationSettings` (or `settings`).
fn location_setting(obj: &Map<String, Value>, keys: &[&str]) -> Option<bool> {
    let settings = obj
        .get("locationSettings")
        .or_else(|| obj.get("settings"))?;
    keys.iter().find_map(|k| bool_of(settings.get(*k)))
}

fn parse_account(obj: &mut Map<String, Value>, ptr: &str) -> Result<AccountLists, InputError> {
    let mut a = AccountLists::default();
    lists_as_arrays(obj);
    a.unsubscribe_footer = location_setting(
        obj,
        &[
            "defaultUnsubscribeLink",
            "unsubscribeLink",
            "emailUnsubscribeFooter",
        ],
    );
    a.sms_opt_out_appended = location_setting(obj, &["smsOptOutMessage", "smsComplianceOptOut"]);
    a.sms_sender_appended = location_setting(obj, &["smsSenderInfo", "smsComplianceSenderInfo"]);
    a.duplicate_opportunities = location_setting(
        obj,
        &[
            "allowDuplicateOpportunity",
            "allowDuplicateOpportunities",
            "duplicateOpportunities",
        ],
    );
    if let Some(users) = list(obj, ptr, "users")? {
        let mut map = HashMap::new();
        for u in users {
            if let Some(id) = id_of(u.get("id")).or_else(|| id_of(u.get("_id"))) {
                let deleted = bool_of(u.get("deleted")).unwrap_or(false);
                let active = bool_of(u.get("active")).unwrap_or(true) && !deleted;
                map.insert(id.to_ascii_lowercase(), active);
            }
        }
        a.users = Some(map);
    }
    if let Some(c) = list(obj, ptr, "calendars")? {
        a.calendars = Some(ids(c, &["id", "_id"]));
    }
    if let Some(f) = list(obj, ptr, "forms")? {
        a.forms = Some(ids(f, &["id", "_id"]));
    }
    if let Some(p) = list(obj, ptr, "pipelines")? {
        let mut map = HashMap::new();
        for pipe in p {
            let Some(id) = id_of(pipe.get("id")).or_else(|| id_of(pipe.get("_id"))) else {
                continue;
            };
            let stages = pipe
                .get("stages")
                .and_then(Value::as_array)
                .map(|s| ids(s, &["id", "_id"]))
                .unwrap_or_default();
            map.insert(id.to_ascii_lowercase(), stages);
        }
        a.pipelines = Some(map);
    }
    if let Some(f) = list(obj, ptr, "customFields")? {
        let mut set = ids(f, &["id", "_id", "fieldKey", "key"]);
        let stripped: Vec<String> = set
            .iter()
            .filter_map(|k| k.strip_prefix("contact.").map(str::to_owned))
            .collect();
        set.extend(stripped);
        // Each key as `branch-on-unknown-field` compares spellings (`Lead Score` = `lead_score`).
        a.custom_field_spellings = Some(Box::new(
            set.iter().map(|k| crate::rules::field_norm(k)).collect(),
        ));
        a.custom_fields = Some(set);
        let types = custom_field_types(f);
        a.custom_field_types = (!types.is_empty()).then(|| Box::new(types));
    }
    if let Some(v) = list(obj, ptr, "customValues")? {
        let mut set = ids(v, &["id", "_id", "fieldKey", "key", "name"]);
        let stripped: Vec<String> = set
            .iter()
            .filter_map(|k| {
                k.trim_start_matches("{{")
                    .trim_end_matches("}}")
                    .trim()
                    .strip_prefix("custom_values.")
                    .map(str::to_owned)
            })
            .collect();
        set.extend(stripped);
        a.custom_values = Some(set);
    }
    if let Some(t) = list(obj, ptr, "tags")? {
        a.tags = Some(ids(t, &["name", "id"]));
    }
    if let Some(p) = list(obj, ptr, "phoneNumbers")? {
        a.phone_numbers = Some(p.iter().map(phone_number).collect());
    }
    if let Some(d) = list(obj, ptr, "emailDomains")? {
        let mut map = HashMap::new();
        for item in d {
            let Some(name) = id_of(item.get("domain")).or_else(|| id_of(item.get("name"))) else {
                continue;
            };
            let status = |k: &str| match item.get(k) {
                Some(Value::Bool(b)) => Some(*b),
                Some(Value::String(s)) => {
                    let s = s.trim().to_ascii_lowercase();
                    if ["verified", "pass", "valid", "ok", "active", "true"].contains(&s.as_str()) {
                        Some(true)
                    } else if s.is_empty() {
                        None
                    } else {
                        Some(false)
                    }
                }
                Some(Value::Object(o)) => o.get("verified").and_then(Value::as_bool),
                _ => None,
            };
            map.insert(
                name.trim().to_ascii_lowercase(),
                DomainAuth {
                    spf: status("spf"),
                    dkim: status("dkim"),
                    dmarc: status("dmarc"),
                },
            );
        }
        a.email_domains = Some(map);
    }
    Ok(a)
}

/// The `dataType` (upper-cased) and listed options (`picklistOptions` or `options`: strings, or
/// objects with a `label`, `value`, `name` or `key`; lower-cased) of each `customFields` entry
/// that has a type, under its id and key (lower-cased, without a `contact.` prefix).
fn custom_field_types(fields: &[Value]) -> HashMap<String, CustomFieldType> {
    let mut types = HashMap::new();
    for field in fields {
        let Some(data_type) = field
            .get("dataType")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            continue;
        };
        let ty = CustomFieldType {
            data_type: data_type.to_ascii_uppercase(),
            options: ["picklistOptions", "options"]
                .iter()
                .filter_map(|k| field.get(*k).and_then(Value::as_array))
                .flatten()
                // An option object may be written by its label, value, name or key: keep each.
                .flat_map(|o| match o {
                    Value::Object(m) => ["label", "value", "name", "key"]
                        .iter()
                        .filter_map(|k| m.get(*k).and_then(Value::as_str))
                        .collect::<Vec<_>>(),
                    other => other.as_str().into_iter().collect(),
                })
                .map(|o| o.trim().to_lowercase())
                .filter(|o| !o.is_empty())
                .collect(),
        };
        for k in ["id", "_id", "fieldKey", "key"] {
            let Some(key) = id_of(field.get(k)) else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let key = key.strip_prefix("contact.").unwrap_or(&key);
            if !key.is_empty() {
                types.insert(key.to_owned(), ty.clone());
            }
        }
    }
    types
}

/// One `phoneNumbers` entry: a string, or `{number|phoneNumber, capabilities: {sms}, smsEnabled,
/// status}`.
fn phone_number(v: &Value) -> PhoneNumber {
    match v {
        Value::String(s) => PhoneNumber {
            number: s.clone(),
            can_sms: true,
        },
        Value::Object(o) => {
            let sms_off = o
                .get("capabilities")
                .and_then(|c| c.get("sms").or_else(|| c.get("SMS")))
                .and_then(Value::as_bool)
                == Some(false)
                || bool_of(o.get("smsEnabled")) == Some(false);
            let dead = o.get("status").and_then(Value::as_str).is_some_and(|s| {
                ["inactive", "released", "suspended", "pending"]
                    .contains(&s.trim().to_ascii_lowercase().as_str())
            });
            PhoneNumber {
                number: id_of(o.get("number"))
                    .or_else(|| id_of(o.get("phoneNumber")))
                    .unwrap_or_default(),
                can_sms: !sms_off && !dead,
            }
        }
        _ => PhoneNumber::default(),
    }
}
