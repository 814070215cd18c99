//! The history cursor decoder: arbitrary cursors decode to nothing (they are not signed by us),
//! never panic; and any page key we encode decodes back to itself for its own account only.
#![no_main]

use backend_core::auth::LocationId;
use backend_core::secrets::EncryptionKey;
use backend_core::store::cursor::{decode, encode};
use backend_core::store::results::PageKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = EncryptionKey::from_hex(&"12".repeat(32)).expect("key");
    let location = LocationId::parse("LocFuzz01").expect("location");
    let text = String::from_utf8_lossy(data);
    assert_eq!(
        decode(&key, &location, "", &text),
        None,
        "an unsigned cursor decoded"
    );

    // Round trip: a page key made of the input's lines.
    let mut page = PageKey::new();
    page.insert("locationId".to_owned(), "LocFuzz01".to_owned());
    for (i, line) in text.lines().take(4).enumerate() {
        page.insert(format!("k{i}"), line.to_owned());
    }
    let cursor = encode(&key, &location, "grade=Good", page.clone());
    if cursor.len() <= 2048 {
        assert_eq!(decode(&key, &location, "grade=Good", &cursor), Some(page));
    }
    let other = LocationId::parse("LocFuzz02").expect("location");
    assert_eq!(
        decode(&key, &other, "grade=Good", &cursor),
        None,
        "cross-account cursor"
    );
    assert_eq!(
        decode(&key, &location, "grade=Poor", &cursor),
        None,
        "cursor under other filters"
    );
});
