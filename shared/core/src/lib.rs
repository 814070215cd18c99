//! The core of the HighLevel workflow analyzer backend.
//!
//! Every Lambda in `functions/` is a thin binary over this crate: configuration, secrets, AWS
//! clients, the HTTP edge (envelope, errors, headers, CORS), storage, billing and telemetry live
//! here. The analyzer engine is its own crate, `workflow_analyzer`, which this one depends on.

pub mod app;
pub mod auth;
pub mod aws;
pub mod billing;
pub mod clock;
pub mod comparison;
pub mod config;
pub mod erasure;
pub mod highlevel;
pub mod http;
pub mod idempotency;
pub mod install;
pub mod lambda;
pub mod plans;
pub mod secrets;
pub mod sentry;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod upstream;

pub use app::App;
