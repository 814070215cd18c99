//! Issue 11, AI and integration rules of the third batch: branches on AI output, AI failure paths, conversation AI handoff, alerts to nobody, repeated lookups: each fires on the right step, has a near miss, and needs-data rules are
//! skipped with their reason when the data is absent.
