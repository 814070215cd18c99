//! What a handler answers: a status, data for the envelope (or a whole HTML page, or nothing),
//! extra headers and cookies.
//! The edge wraps it in the envelope, so handlers never deal with request ids or meta.

use lambda_http::http::header::{HeaderName, HeaderValue, LOCATION, SET_COOKIE};
use lambda_http::http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use super::ApiError;

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: ReplyBody,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// What a reply carries.
#[derive(Debug)]
pub enum ReplyBody {
    /// Data for the success envelope.
    Data(Value),
    /// A whole HTML page (the analysis report), served as `text/html` under the report's
    /// Content-Security-Policy instead of the envelope.
    Html(String),
    /// No body (204, redirects).
    Empty,
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
            body: ReplyBody::Data(data),
            headers: Vec::new(),
        })
    }

    /// 200 with a self-contained HTML page (it must escape everything it did not write itself).
    pub fn html(page: String) -> Self {
        Self {
            status: StatusCode::OK,
            body: ReplyBody::Html(page),
            headers: Vec::new(),
        }
    }

    pub fn no_content() -> Self {
        Self {
            status: StatusCode::NO_CONTENT,
            body: ReplyBody::Empty,
            headers: Vec::new(),
        }
    }

    /// 302 to `location` (an URL this service built, never one taken from the request).
    pub fn redirect(location: &str) -> Result<Self, ApiError> {
        Self {
            status: StatusCode::FOUND,
            body: ReplyBody::Empty,
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
