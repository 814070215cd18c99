//! The workflow parser and analyzer on arbitrary bytes: an answer or an input error, never a panic.
#![no_main]

use workflow_analyzer::{analyze, AnalyzeOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(result) = analyze(data, &AnalyzeOptions::at(1_795_478_400)) {
        // Whatever was found must serialize (it is what the API stores and answers).
        serde_json::to_vec(&result).expect("an analysis result serializes");
    }
});
