//! Every domain error as the API answers it: the domain modules know nothing of HTTP, and each
//! `From` here decides a status, a stable code and what the log keeps.

use serde_json::json;

use super::ApiError;
use crate::auth::session::SessionError;
use crate::auth::InvalidLocationId;
use crate::billing::stripe::{StripeError, SERVICE as STRIPE};
use crate::highlevel::{HighLevelError, InvalidWorkflowId};
use crate::install::InvalidDelivery;
use crate::plans::{KeepError, ProRequired, QuotaReached};
use crate::secrets::SecretsError;
use crate::settings::InvalidSettings;
use crate::store::rate_limits::RateLimitError;
use crate::store::results::{InvalidAnalysisId, PutError, MAX_ITEM_BYTES};
use crate::store::StoreError;
use crate::upstream::UpstreamError;

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "storage unavailable");
                ApiError::ServiceUnavailable {
                    message: "storage is temporarily unavailable, please retry".into(),
                    retry_after_secs: Some(2),
                }
            }
            StoreError::Failed(detail) => ApiError::Internal(detail),
        }
    }
}

impl From<UpstreamError> for ApiError {
    fn from(err: UpstreamError) -> Self {
        match err {
            UpstreamError::Unavailable {
                service,
                detail,
                retry_after_secs,
            } => {
                tracing::warn!(service, detail = %detail, "upstream unavailable");
                ApiError::UpstreamUnavailable {
                    service,
                    retry_after_secs: retry_after_secs.or(Some(5)),
                }
            }
            UpstreamError::Rejected {
                service, status, ..
            } => {
                tracing::warn!(service, status, "upstream refused the request");
                ApiError::UpstreamUnavailable {
                    service,
                    retry_after_secs: None,
                }
            }
        }
    }
}

impl From<StripeError> for ApiError {
    fn from(err: StripeError) -> Self {
        match err {
            StripeError::Upstream(err) => err.into(),
            StripeError::Refused {
                status,
                kind,
                code,
                message,
            } => {
                // Our request was wrong (configuration, stale ids): the user can do nothing about
                // it, so it is a 502 with the reason in the log only.
                tracing::warn!(status, kind = %kind, code = %code, message = %message, "Stripe refused the request");
                ApiError::UpstreamUnavailable {
                    service: STRIPE,
                    retry_after_secs: None,
                }
            }
            StripeError::Decode(detail) => {
                tracing::warn!(detail = %detail, "unexpected Stripe response");
                ApiError::UpstreamUnavailable {
                    service: STRIPE,
                    retry_after_secs: None,
                }
            }
        }
    }
}

impl From<SecretsError> for ApiError {
    /// Unavailable is worth a retry (503); malformed needs an operator (500, detail in the log).
    fn from(err: SecretsError) -> Self {
        match err {
            SecretsError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "secret unavailable");
                ApiError::ServiceUnavailable {
                    message: "configuration store is temporarily unavailable".into(),
                    retry_after_secs: Some(5),
                }
            }
            SecretsError::Malformed(detail) => ApiError::Internal(detail),
            err @ SecretsError::NotGranted(_) => ApiError::Internal(err.to_string()),
        }
    }
}

impl From<HighLevelError> for ApiError {
    fn from(err: HighLevelError) -> Self {
        match err {
            HighLevelError::NotConnected => ApiError::Unauthenticated,
            HighLevelError::Busy {
                message,
                retry_after_secs,
            } => ApiError::ServiceUnavailable {
                message: message.into(),
                retry_after_secs: Some(retry_after_secs),
            },
            HighLevelError::BadResponse => ApiError::UpstreamUnavailable {
                service: "HighLevel",
                retry_after_secs: None,
            },
            HighLevelError::Upstream(err) => err.into(),
            HighLevelError::Secrets(err) => err.into(),
            HighLevelError::Store(err) => err.into(),
        }
    }
}

impl From<SessionError> for ApiError {
    fn from(err: SessionError) -> Self {
        match err {
            SessionError::Missing => ApiError::Unauthenticated,
            SessionError::Store(err) => err.into(),
        }
    }
}

impl From<RateLimitError> for ApiError {
    fn from(err: RateLimitError) -> Self {
        match err {
            RateLimitError::Exceeded {
                retry_after_secs,
                limit,
            } => ApiError::RateLimited {
                retry_after_secs,
                limit,
            },
            RateLimitError::Store(err) => err.into(),
        }
    }
}

impl From<QuotaReached> for ApiError {
    fn from(err: QuotaReached) -> Self {
        ApiError::PlanLimitReached {
            message: err.to_string(),
            details: json!({ "limit": err.limit, "resetsAt": err.resets_at }),
        }
    }
}

impl From<ProRequired> for ApiError {
    fn from(err: ProRequired) -> Self {
        ApiError::PlanLimitReached {
            message: err.to_string(),
            details: json!({ "plan": "free", "requires": "pro" }),
        }
    }
}

impl From<InvalidSettings> for ApiError {
    /// One detail per problem, so a client can show each beside what it concerns.
    fn from(err: InvalidSettings) -> Self {
        ApiError::Validation {
            message: err.to_string(),
            details: err.0.iter().map(|p| json!({ "problem": p })).collect(),
        }
    }
}

impl From<InvalidLocationId> for ApiError {
    fn from(err: InvalidLocationId) -> Self {
        ApiError::validation(err.to_string())
    }
}

impl From<InvalidWorkflowId> for ApiError {
    fn from(err: InvalidWorkflowId) -> Self {
        ApiError::validation(format!("workflowId {err}"))
    }
}

impl From<InvalidAnalysisId> for ApiError {
    fn from(err: InvalidAnalysisId) -> Self {
        ApiError::validation(err.to_string())
    }
}

impl From<InvalidDelivery> for ApiError {
    fn from(err: InvalidDelivery) -> Self {
        ApiError::validation(err.0)
    }
}

impl From<KeepError> for ApiError {
    fn from(err: KeepError) -> Self {
        match err {
            KeepError::QuotaReached(err) => err.into(),
            KeepError::Put(PutError::TooLarge(size)) => ApiError::Validation {
                message: format!(
                    "the analysis is too large to keep ({size} bytes once compressed); split the bundle or send fewer workflows"
                ),
                details: vec![json!({ "limitBytes": MAX_ITEM_BYTES })],
            },
            KeepError::Put(PutError::Store(err)) | KeepError::Store(err) => err.into(),
        }
    }
}
