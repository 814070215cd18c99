//! The integration test binary: one module per area, each test against real parts (moto for
//! DynamoDB and Secrets Manager, the functions' real handlers, the sample events in events/).

mod analyze;
mod auth;
mod billing;
mod edge;
mod erasure;
mod events;
mod every_route;
mod faults;
mod ghl_webhook;
mod health;
mod idempotency;
mod log_scan;
mod no_scan;
mod openapi;
mod report_browser;
mod routes;
mod secrets;
mod sentry;
mod toolkit;
mod webhook;
