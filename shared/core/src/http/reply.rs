//! What a handler answers: a status, optional data for the envelope, extra headers and cookies.
//! The edge wraps it in the envelope, so handlers never deal with request ids or meta.

use lambda_http::http::header::{HeaderName, HeaderValue, LOCATION, SET_COOKIE};
use lambda_http::http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::ApiError;

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    /// `Some` renders the success envelope; `None` an empty body (204, redirects).
    pub data: Option<Value>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Reply {
    /// 200 with `data` in the envelope.
    pub fn ok(data: &impl Serialize) -> Result<Self, ApiError> {
        Self::with_status(StatusCode::OK, data)
    }

    pub fn created(data: &impl Serialize) -> Result<Self, ApiError> {
        Self::with_status(StatusCode::CREATED, data)
    }

    pub fn with_status(status: StatusCode, data: &impl Serialize) -> Result<Self, ApiError> {
        let data = serde_json::to_value(data).map_err(ApiError::internal)?;
        Ok(Self {
            status,
            data: Some(data),
            headers: Vec::new(),
        })
    }

    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            data: None,
            headers: Vec::new(),
        }
    }

    /// 302 to `location` (an URL this service built, never one taken from the request).
    pub fn redirect(location: &str) -> Result<Self, ApiError> {
        Self {
            status: StatusCode::FOUND,
            data: None,
            headers: Vec::new(),
        }
        .header(LOCATION, location)
    }

    pub fn header(mut self, name: HeaderName, value: &str) -> Result<Self, ApiError> {
        let value = HeaderValue::from_str(value).map_err(ApiError::internal)?;
        self.headers.push((name, value));
        Ok(self)
    }

    /// Adds a `Set-Cookie` (lambda_http moves it to the v2 `cookies` array).
    pub fn cookie(self, cookie: &str) -> Result<Self, ApiError> {
        self.header(SET_COOKIE, cookie)
    }
}
