//! The `Stripe-Signature` header parser on arbitrary text: parsed or refused, never a panic; and
//! verification of an arbitrary header over arbitrary bytes never accepts a forged signature.
#![no_main]

use backend_core::billing::signature;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = signature::parse(&text);
    // Header and body split at the first newline; a random header must not verify.
    if let Some((header, body)) = text.split_once('\n') {
        let secret = secrecy::SecretString::from("whsec_fuzz_0123456789abcdef");
        let now = 1_795_478_400;
        if signature::verify(Some(header), body.as_bytes(), &secret, now).is_ok() {
            let genuine = signature::sign(&secret, now, body.as_bytes());
            assert!(
                header.contains(genuine.split(",v1=").nth(1).unwrap_or("-")),
                "forged: {header:?}"
            );
        }
    }
});
