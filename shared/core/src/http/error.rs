//! The one place errors become HTTP: each variant has its status and stable error code.

use lambda_http::http::StatusCode;
use serde_json::Value;

/// Every way a request can fail, as the API promises it (docs/openapi.yaml lists each code).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Validation {
        message: String,
        details: Vec<Value>,
    },
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method {method} is not allowed on this route")]
    MethodNotAllowed { method: String, allow: String },
    #[error("{0}")]
    Conflict(String),
    #[error("request body exceeds the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("content type must be application/json")]
    UnsupportedMediaType,
    #[error("{message}")]
    PlanLimitReached { message: String, details: Value },
    #[error("too many requests, retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64, limit: u32 },
    #[error("{service} is unavailable, please retry later")]
    UpstreamUnavailable {
        service: &'static str,
        retry_after_secs: Option<u64>,
    },
    #[error("{message}")]
    ServiceUnavailable {
        message: String,
        retry_after_secs: Option<u64>,
    },
    /// The inner text goes to the logs only; clients see "internal error" and the request id.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn validation(message: impl Into<String>) -> Self {
        ApiError::Validation {
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        ApiError::Internal(detail.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Validation { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PlanLimitReached { .. } => StatusCode::PAYMENT_REQUIRED,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::UpstreamUnavailable { .. } => StatusCode::BAD_GATEWAY,
            ApiError::ServiceUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation { .. } => "VALIDATION_ERROR",
            ApiError::Unauthenticated => "UNAUTHENTICATED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            ApiError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::PlanLimitReached { .. } => "PLAN_LIMIT_REACHED",
            ApiError::RateLimited { .. } => "RATE_LIMITED",
            ApiError::UpstreamUnavailable { .. } => "UPSTREAM_UNAVAILABLE",
            ApiError::ServiceUnavailable { .. } => "SERVICE_UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// Structured details for the envelope's `error.details`.
    pub fn details(&self) -> Vec<Value> {
        match self {
            ApiError::Validation { details, .. } => details.clone(),
            ApiError::PlanLimitReached { details, .. } => vec![details.clone()],
            ApiError::PayloadTooLarge { limit } => vec![serde_json::json!({ "limitBytes": limit })],
            _ => Vec::new(),
        }
    }

    /// Seconds a client should wait before retrying, sent as `Retry-After`.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ApiError::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            ApiError::UpstreamUnavailable {
                retry_after_secs, ..
            }
            | ApiError::ServiceUnavailable {
                retry_after_secs, ..
            } => *retry_after_secs,
            _ => None,
        }
    }
}
