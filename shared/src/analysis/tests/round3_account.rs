//! Issue 11, account-level (A)/(X) rules of the third batch: custom-field types, alerts to one user, refunds, pipeline-stage loops, tag chains: each fires on the right step, has a near miss, and needs-data rules are
//! skipped with their reason when the data is absent.
