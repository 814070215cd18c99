//! Generated inputs shared by the benchmark and the cost test: the realistic mix, and the hostile
//! shapes of the security review (docs/RELIABILITY.md), each of which once cost a request tens
//! to hundreds of times a benign body of its size.
#![allow(dead_code)] // each including target uses its own subset

use serde_json::{json, Value};

/// A native-format body with exactly `n` steps: repeated blocks of an SMS, a wait, an email, an
/// if/else whose yes branch ends in a goal and whose None branch carries the sequence on, a
/// webhook, a tag and a field update.
pub fn workflow(n: usize) -> Vec<u8> {
    serde_json::to_vec(&workflow_value(n)).unwrap_or_default()
}

/// The realistic mix at about `bytes` bytes (never smaller than one block).
pub fn benign_of_size(bytes: usize) -> Vec<u8> {
    let per_step = workflow(100).len() / 100;
    workflow((bytes / per_step).max(10))
}

pub fn workflow_value(n: usize) -> Value {
    let mut steps: Vec<Value> = Vec::with_capacity(n);
    let mut prev: Option<String> = None;
    let mut k = 0usize;
    while steps.len() < n {
        let id = |s: &str| format!("{s}-{k}");
        let window = json!({"start": "09:00", "end": "18:00"});
        let block = vec![
            json!({"id": id("sms"), "type": "sms", "name": format!("SMS {k}"), "next": id("wait"),
                   "attributes": {"body": "Hi {{contact.first_name | default: \"there\"}}, quick update. Reply STOP to opt out."}}),
            json!({"id": id("wait"), "type": "wait", "name": format!("Wait {k}"), "next": id("email"),
                   "attributes": {"type": "time", "startAfter": {"type": "days", "value": 1, "when": "after"}, "window": window}}),
            json!({"id": id("email"), "type": "email", "name": format!("Email {k}"), "next": id("cond"),
                   "attributes": {"subject": "News", "html": "<p>Hello</p><a href=\"{{unsubscribe_link}}\">Unsubscribe</a>"}}),
            json!({"id": id("cond"), "type": "if_else", "name": format!("Replied {k}?"), "cat": "conditions",
                   "nodeType": "condition-node", "next": [id("yes"), id("no")], "attributes": {}}),
            json!({"id": id("yes"), "type": "if_else", "name": "Replied", "nodeType": "branch-yes", "next": id("goal"), "attributes": {}}),
            json!({"id": id("no"), "type": "if_else", "name": "None", "nodeType": "branch-no", "next": id("hook"), "attributes": {}}),
            json!({"id": id("goal"), "type": "workflow_goal", "name": "Goal", "attributes": {}}),
            json!({"id": id("hook"), "type": "custom_webhook", "name": format!("CRM {k}"), "next": id("tag"),
                   "attributes": {"url": "{{custom_values.crm_url}}", "method": "POST", "saveResponse": true,
                                  "headers": [{"key": "Authorization", "value": "Bearer {{custom_values.crm_token}}"}]}}),
            json!({"id": id("tag"), "type": "add_contact_tag", "name": format!("Tag {k}"), "next": id("field"),
                   "attributes": {"tags": ["nurtured"]}}),
            json!({"id": id("field"), "type": "update_contact_field", "name": format!("Field {k}"),
                   "attributes": {"fieldId": "cf_stage", "value": "nurtured"}}),
        ];
        for mut s in block {
            if steps.len() == n {
                break;
            }
            if let Some(p) = &prev {
                s["parentKey"] = json!(p);
            }
            prev = s["id"].as_str().map(str::to_owned);
            steps.push(s);
        }
        // Link this block's last step to the next block's first.
        let more = steps.len() < n;
        if let Some(last) = steps.last_mut() {
            if last["type"] == "update_contact_field" && more {
                last["next"] = json!(format!("sms-{}", k + 1));
            }
        }
        k += 1;
    }
    json!({
        "workflow": {"_id": "bench", "name": "Benchmark nurture", "status": "published", "stopOnResponse": true,
                     "workflowData": {"templates": steps}},
        "triggers": [{"type": "form_submission", "conditions": [{"field": "formId", "value": "f1"}]}]
    })
}

/// Shape 1: `steps` steps whose `parentKey` and `parent` name no step, beside `triggers` empty
/// triggers (each dangling key was once checked against every trigger).
pub fn dangling_parents(steps: usize, triggers: usize) -> Vec<u8> {
    let templates: Vec<Value> = (0..steps)
        .map(|i| {
            json!({"id": format!("s{i}"), "type": "sms", "parentKey": format!("gone{i}"),
                        "parent": format!("lost{i}"), "attributes": {"body": "Hi"}})
        })
        .collect();
    let triggers: Vec<Value> = (0..triggers).map(|_| json!({})).collect();
    serde_json::to_vec(
        &json!({"workflow": {"name": "w", "workflowData": {"templates": templates}},
                               "triggers": triggers}),
    )
    .unwrap_or_default()
}

/// Shape 2: a bundle where one workflow starts on tag `t` (listed `listed` times over its
/// triggers' conditions) and another adds `t` `added` times in one step (each listing once
/// multiplied each addition).
pub fn tag_fanout(listed: usize, added: usize) -> Vec<u8> {
    let per_condition = 100usize;
    let mut conditions: Vec<Value> = Vec::new();
    let mut left = listed;
    while left > 0 {
        let k = left.min(per_condition);
        conditions.push(
            json!({"field": "tagsAdded", "operator": "index-of-true", "value": vec!["t"; k]}),
        );
        left -= k;
    }
    let triggers: Vec<Value> = conditions
        .chunks(50)
        .map(|c| json!({"type": "contact_tag", "active": true, "conditions": c}))
        .collect();
    serde_json::to_vec(&json!({"workflows": [
        {"workflow": {"_id": "a", "name": "Starts on t", "workflowData": {"templates": [
            {"id": "a1", "type": "sms", "attributes": {"body": "Hi. Reply STOP to opt out."}}]}},
         "triggers": triggers},
        {"workflow": {"_id": "b", "name": "Adds t", "workflowData": {"templates": [
            {"id": "b1", "type": "add_contact_tag", "attributes": {"tags": vec!["t"; added]}}]}},
         "triggers": [{"type": "form_submission", "conditions": [{"field": "formId", "value": "f"}]}]}
    ]}))
    .unwrap_or_default()
}

/// Shape 3: a bundle with one workflow named by `name_bytes` bytes and `steps` steps without a
/// type (each finding once copied the whole name).
pub fn long_name_typeless(name_bytes: usize, steps: usize) -> Vec<u8> {
    let templates: Vec<Value> = (0..steps).map(|i| json!({"id": format!("s{i}")})).collect();
    serde_json::to_vec(&json!({"workflows": [
        {"_id": "w1", "name": "n".repeat(name_bytes), "workflowData": {"templates": templates}},
        {"_id": "w2", "name": "other", "workflowData": {"templates": []}}
    ]}))
    .unwrap_or_default()
}

/// The step-id hasher the analyzer used until 2026-12 (Fx multiply-rotate over 8-byte words from
/// a zero state, then murmur3's finaliser): fixed and unkeyed, so colliding ids can be computed.
fn old_hash(bytes: &[u8]) -> u64 {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h = 0u64;
    for c in bytes.chunks(8) {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(SEED);
    }
    // str's Hash also writes a 0xff terminator byte.
    h = (h.rotate_left(5) ^ 0xff).wrapping_mul(SEED);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

const ALPHABET: &[u8; 62] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// `n` distinct 16-byte ASCII ids that all share one hash under the old hasher: the second word
/// is solved for from the first so that the state after both is the same constant.
pub fn colliding_ids(n: usize) -> Vec<String> {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let target = 0x1234_5678_9abc_def0u64;
    let mut ids = Vec::with_capacity(n);
    let mut i = 0u64;
    while ids.len() < n {
        i += 1;
        // Eight base-62 digits of i.
        let mut first = [b'0'; 8];
        let mut rest = i;
        for b in &mut first {
            *b = ALPHABET[(rest % 62) as usize];
            rest /= 62;
        }
        let w1 = u64::from_le_bytes(first);
        let w2 = (w1.wrapping_mul(SEED)).rotate_left(5) ^ target;
        let second = w2.to_le_bytes();
        // Printable ASCII without the JSON specials, so the id is written as is.
        if second
            .iter()
            .all(|b| (0x20..0x7f).contains(b) && *b != b'"' && *b != b'\\')
        {
            let mut id = first.to_vec();
            id.extend_from_slice(&second);
            ids.push(String::from_utf8(id).unwrap_or_default());
        }
    }
    debug_assert!(ids
        .windows(2)
        .all(|p| old_hash(p[0].as_bytes()) == old_hash(p[1].as_bytes())));
    ids
}

/// Shape 4: `n` chained steps whose ids all collide under the old hasher, with go-to steps that
/// make every id a lookup.
pub fn colliding_steps(n: usize) -> Vec<u8> {
    let ids = colliding_ids(n);
    let templates: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let target = &ids[(i * 7919) % ids.len()];
            json!({"id": id, "type": "goto", "name": format!("Go {i}"), "attributes": {"targetNodeId": target}})
        })
        .collect();
    serde_json::to_vec(&json!({"workflow": {"name": "w", "workflowData": {"templates": templates}},
                               "triggers": [{"type": "form_submission", "conditions": [{"field": "formId", "value": "f"}]}]}))
    .unwrap_or_default()
}

/// The four shapes at the sizes the review measured (the first two as far as the input limits
/// now let them through; beyond, they are refused with 413 before any analysis).
pub fn hostile() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("dangling_parents", dangling_parents(20_000, 100)),
        (
            "dangling_parents_20k_triggers",
            dangling_parents(20_000, 20_000),
        ),
        ("tag_fanout", tag_fanout(4_096, 4_096)),
        ("long_name_typeless", long_name_typeless(200_000, 2_000)),
        ("colliding_ids", colliding_steps(12_000)),
        ("unknown_fields", unknown_fields(2_000, 200)),
        ("shared_branch", shared_branch(2_000, 20_000)),
        ("long_field_key", long_field_key(1_500_000, 300_000)),
        ("repeated_channel_keys", repeated_channel_keys(50_000)),
        ("consent_lookback", consent_lookback(80_000)),
        ("many_field_writes", many_field_writes(30_000)),
        ("many_field_ids", many_field_ids(30_000)),
    ]
}

/// The account bundle around one workflow's steps, with a custom-fields list (so
/// `branch-on-unknown-field` runs).
fn with_custom_fields(templates: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "customFields": [{"id": "cf1", "fieldKey": "contact.budget"}],
        "workflows": [{"workflow": {"_id": "w1", "name": "Fields", "status": "published",
            "workflowData": {"templates": templates}},
            "triggers": [{"type": "form_submission", "conditions": [{"field": "formId", "value": "f"}]}]}]
    }))
    .unwrap_or_default()
}

/// An if/else comparing `contact.<key>` (HighLevel's contact_detail condition).
fn compares(id: &str, key: &str, next: Value) -> Value {
    json!({"id": id, "type": "if_else", "nodeType": "condition-node", "next": next,
           "attributes": {"branches": [{"conditions": [{"conditionType": "contact_detail",
               "conditionSubType": format!("contact.{key}")}]}]}})
}

/// Shape 6 (`branch-on-unknown-field`, 2026-12): `n` tag steps with `tag_bytes`-byte tags, then `n`
/// if/elses each on a field nothing sets; the rule once searched every step's texts per if/else.
pub fn unknown_fields(n: usize, tag_bytes: usize) -> Vec<u8> {
    let mut steps: Vec<Value> = (0..n)
        .map(|i| {
            json!({"id": format!("t{i}"), "type": "add_contact_tag", "next": format!("t{}", i + 1),
                        "attributes": {"tags": ["a".repeat(tag_bytes)]}})
        })
        .collect();
    if let Some(last) = steps.last_mut() {
        last["next"] = json!("c0");
    }
    steps.extend((0..n).map(|i| {
        compares(
            &format!("c{i}"),
            &format!("field_{i}"),
            json!([format!("c{}", i + 1)]),
        )
    }));
    with_custom_fields(steps)
}

/// Shape 7: one branch node with `conditions` conditions that `n` if/elses all list as their
/// branch; each if/else once walked the shared node's conditions again.
pub fn shared_branch(n: usize, conditions: usize) -> Vec<u8> {
    let mut steps = vec![
        json!({"id": "B", "type": "if_else", "nodeType": "branch-yes",
        "attributes": {"conditions": vec![json!({"f": 1}); conditions]}}),
    ];
    steps.extend((0..n).map(|i| {
        json!({"id": format!("c{i}"), "type": "if_else",
        "nodeType": "condition-node", "next": ["B"], "attributes": {}})
    }));
    with_custom_fields(steps)
}

/// Shape 8: a field key of `key_bytes` bytes compared by an if/else, and a tag of `tag_bytes`
/// bytes; the key was once the needle of a substring search through every text.
pub fn long_field_key(tag_bytes: usize, key_bytes: usize) -> Vec<u8> {
    let key = format!("{}b", "a".repeat(key_bytes));
    with_custom_fields(vec![
        json!({"id": "t0", "type": "add_contact_tag", "next": "c0",
               "attributes": {"tags": ["a".repeat(tag_bytes)]}}),
        compares("c0", &key, json!([])),
    ])
}

/// Shape 9 (2026-12, fourth session): an internal notification whose attributes repeat a kept key
/// `n` times beside a channel object that repeats another `n` times (JSON allows repeated keys;
/// a `json!` map cannot hold them, so the body is written out). Reading the channel object as the
/// step's own looked each of its keys up among the step's: `n` x `n`.
pub fn repeated_channel_keys(n: usize) -> Vec<u8> {
    let own = vec![r#""body":"a""#; n].join(",");
    let channel = vec![r#""userType":"all""#; n].join(",");
    format!(
        r#"{{"workflow":{{"_id":"w1","name":"Alerts","status":"published","workflowData":{{"templates":[{{"id":"n","type":"internal_notification","name":"Alert","attributes":{{{own},"type":"sms","sms":{{{channel}}}}}}}]}}}},"triggers":[{{"type":"form_submission","conditions":[{{"field":"formId","value":"f"}}]}}]}}"#
    )
    .into_bytes()
}

/// Shape 10 (2026-12, fourth session, the review of the change): an email whose text is one
/// "because" and then transactional wording `n` times with no sentence end; the consent-line check
/// once looked back to the sentence's start from every occurrence: `n` x `n`.
pub fn consent_lookback(n: usize) -> Vec<u8> {
    let html = format!("because {}", "your order ".repeat(n));
    serde_json::to_vec(&json!({
        "workflow": {"_id": "w1", "name": "Orders", "status": "published",
            "workflowData": {"templates": [{"id": "e", "type": "email", "name": "Order",
                "attributes": {"subject": "Hi", "html": html}}]}},
        "triggers": [{"type": "form_submission", "conditions": [{"field": "formId", "value": "f"}]}]
    }))
    .unwrap_or_default()
}

/// Shape 11 (2026-12, issue 17): two field updates in a row, each writing `n` fields (HighLevel's
/// `fields: [{field, value}]` list), the second rewriting none of the first's but its last, and
/// phone-named fields with local numbers. Comparing every write of one with every write of the
/// other would be `n` x `n`.
pub fn many_field_writes(n: usize) -> Vec<u8> {
    let fields = |prefix: &str| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"field": format!("{prefix}_phone_{i}"), "value": "(512) 555-0100", "title": "f", "type": "string"}))
            .chain(std::iter::once(json!({"field": "cf_last", "value": "x"})))
            .collect()
    };
    serde_json::to_vec(&json!({
        "workflow": {"_id": "w1", "name": "Fields", "status": "published",
            "workflowData": {"templates": [
                {"id": "a", "type": "update_contact_field", "name": "A", "next": "b",
                 "attributes": {"fields": fields("a")}},
                {"id": "b", "type": "update_contact_field", "name": "B", "parentKey": "a",
                 "attributes": {"fields": fields("b")}}]}},
        "triggers": [{"type": "form_submission", "conditions": [{"field": "formId", "value": "f"}]}]
    }))
    .unwrap_or_default()
}

/// Shape 9 (2026-12, the fifth session's review): a bundle with a custom-fields list and one field
/// update listing `n` distinct record ids none of which exists; each was once checked against
/// every id before it (quadratic) to avoid reporting one twice.
pub fn many_field_ids(n: usize) -> Vec<u8> {
    let fields: Vec<Value> = (0..n)
        .map(|i| json!({"field": format!("Zz9GoneFieldId{i:07}"), "value": "x"}))
        .collect();
    with_custom_fields(vec![
        json!({"id": "a", "type": "update_contact_field", "name": "A",
               "attributes": {"fields": fields}}),
    ])
}
