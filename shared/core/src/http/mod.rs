//! The HTTP edge shared by every function: errors, replies, routing, request parsing.

mod domain;
mod edge;
mod error;
mod reply;
pub mod request;
pub mod routes;
pub mod webhook;

pub use edge::{render_error, Edge, HTML_CSP, MAX_BODY_BYTES};
pub use error::ApiError;
pub use reply::{Reply, ReplyBody};
pub use routes::{HandlerResult, Route, RouteMatch};
