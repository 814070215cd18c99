//! Reading requests at the edge: typed access to ids, cookies, client address and JSON bodies.

use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::routes::PathParams;
use super::ApiError;

/// Deepest JSON nesting accepted from a client (serde_json would recurse further).
pub const MAX_JSON_DEPTH: usize = 128;

/// The request id: the caller's `X-Request-ID` when it is a sane token, else API Gateway's.
pub fn request_id(req: &Request) -> String {
    let inbound = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane_token(v));
    if let Some(id) = inbound {
        return id.to_owned();
    }
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .request_id
            .clone()
            .filter(|v| is_sane_token(v))
            .unwrap_or_else(random_id),
        _ => random_id(),
    }
}

fn is_sane_token(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn random_id() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}

/// The raw value of the matched route's `{name}` path parameter (empty when the route has none);
/// handlers parse it into a domain type.
pub fn path_param<'a>(req: &'a Request, name: &str) -> &'a str {
    req.extensions()
        .get::<PathParams>()
        .map_or("", |params| params.get(name))
}

/// The caller's IP as API Gateway saw it (never a client-supplied header).
pub fn client_ip(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .http
            .source_ip
            .clone()
            .unwrap_or_else(|| "unknown".into()),
        _ => "unknown".into(),
    }
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    cookies(req, name).into_iter().next()
}

/// Every value of cookie `name` the request carries, in order (across `Cookie` headers).
pub fn cookies<'a>(req: &'a Request, name: &str) -> Vec<&'a str> {
    req.headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .collect()
}

/// A query parameter (first value), empty values treated as absent.
pub fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The raw bytes of a JSON body after checking content type (415), size (413), emptiness and
/// nesting depth (400), for callers that parse the body themselves.
pub fn json_bytes(req: &Request, limit: usize) -> Result<&[u8], ApiError> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let essence = v
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json"))
        })
        .unwrap_or(false);
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::validation(
            "request body is empty; a JSON object is expected",
        ));
    }
    if json_depth(body) > MAX_JSON_DEPTH {
        return Err(ApiError::Validation {
            message: format!("JSON nesting is deeper than {MAX_JSON_DEPTH} levels"),
            details: Vec::new(),
        });
    }
    Ok(body)
}

/// Parses a JSON body after the checks of [`json_bytes`]; parse errors name the path and
/// position of the problem.
pub fn json_body<T: DeserializeOwned>(req: &Request, limit: usize) -> Result<T, ApiError> {
    let body = json_bytes(req, limit)?;
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        invalid_json(&path, &err.into_inner())
    })?;
    de.end().map_err(|err| invalid_json(".", &err))?;
    Ok(value)
}

fn invalid_json(path: &str, err: &serde_json::Error) -> ApiError {
    ApiError::Validation {
        message: format!("request body is not valid: {err}"),
        details: vec![json!({ "path": path, "line": err.line(), "column": err.column() })],
    }
}

/// The deepest nesting of arrays/objects, counted without parsing (strings skipped).
pub fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_ignores_brackets_inside_strings() {
        assert_eq!(json_depth(br#"{"a":[1,{"b":"[[[["}]}"#), 3);
        assert_eq!(json_depth(br#""\"{""#), 0);
    }

    #[test]
    fn insane_request_ids_are_replaced() {
        assert!(is_sane_token("abc-123_x.y"));
        assert!(!is_sane_token("has space"));
        assert!(!is_sane_token(&"x".repeat(129)));
        assert!(!is_sane_token("<script>"));
    }
}
