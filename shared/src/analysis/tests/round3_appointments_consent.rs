//! Issue 11, appointment and consent rules of the third batch: reminder ladders, reminders after cancellation, deprecated appointment types, postal addresses, bulk SMS consent: each fires on the right step, has a near miss, and needs-data rules are
//! skipped with their reason when the data is absent.
