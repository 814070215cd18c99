//! Optional error reports to Sentry, only when `SENTRY_DSN` is set: one event per internal error
//! (a 500), sent before the invocation's response so nothing is lost when Lambda freezes the
//! container. Events carry the error text, the route template, the request id, the stage and the
//! release: never cookies, tokens, bodies, IP addresses or user ids (`send_default_pii` off).

use std::time::Duration;

use serde_json::json;
use url::Url;

/// Where and how to send events, parsed from a DSN `https://<key>@<host>/<project>`.
#[derive(Debug, Clone)]
pub struct Sentry {
    endpoint: Url,
    auth: String,
    environment: String,
    http: reqwest::Client,
}

impl Sentry {
    /// `None` when the DSN is absent; an error naming the problem when it is malformed.
    pub fn from_dsn(dsn: Option<&str>, environment: &str) -> Result<Option<Self>, String> {
        let Some(dsn) = dsn.map(str::trim).filter(|d| !d.is_empty()) else {
            return Ok(None);
        };
        let url = Url::parse(dsn).map_err(|_| "SENTRY_DSN is not a URL".to_owned())?;
        let key = url.username();
        let project = url.path().trim_matches('/');
        let host = url.host_str().unwrap_or_default();
        if key.is_empty()
            || project.is_empty()
            || host.is_empty()
            || !project.bytes().all(|b| b.is_ascii_digit())
        {
            return Err("SENTRY_DSN must look like https://<key>@<host>/<project id>".into());
        }
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let endpoint = Url::parse(&format!(
            "{}://{host}{port}/api/{project}/store/",
            url.scheme()
        ))
        .map_err(|_| "SENTRY_DSN has an unusable host".to_owned())?;
        Ok(Some(Self {
            endpoint,
            auth: format!(
                "Sentry sentry_version=7, sentry_client=ghl-workflow-analyzer/{}, sentry_key={key}",
                env!("CARGO_PKG_VERSION")
            ),
            environment: environment.to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap_or_default(),
        }))
    }

    /// Sends one error event and waits for it (at most 2 s): the report is flushed before the
    /// invocation ends. Failures to report are logged, never raised.
    pub async fn report(&self, detail: &str, route: &str, request_id: &str) {
        let event = json!({
            "event_id": hex::encode(rand::random::<[u8; 16]>()),
            "timestamp": crate::clock::now_rfc3339(),
            "platform": "rust",
            "level": "error",
            "logger": "backend_core::http",
            "environment": self.environment,
            "release": concat!("ghl-workflow-analyzer@", env!("CARGO_PKG_VERSION")),
            "server_name": std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into()),
            "message": { "formatted": detail },
            "tags": { "route": route, "request_id": request_id },
        });
        let sent = self
            .http
            .post(self.endpoint.clone())
            .header("x-sentry-auth", &self.auth)
            .json(&event)
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => tracing::warn!(
                status = response.status().as_u16(),
                "Sentry refused an error report"
            ),
            Err(_) => tracing::warn!("Sentry unreachable; error report dropped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_dsn_and_refuses_a_malformed_one() {
        let sentry = Sentry::from_dsn(Some("https://abc123@o1.ingest.sentry.io/4567"), "prod")
            .unwrap()
            .unwrap();
        assert_eq!(
            sentry.endpoint.as_str(),
            "https://o1.ingest.sentry.io/api/4567/store/"
        );
        assert!(sentry.auth.contains("sentry_key=abc123"));
        assert!(Sentry::from_dsn(None, "dev").unwrap().is_none());
        assert!(Sentry::from_dsn(Some(""), "dev").unwrap().is_none());
        assert!(Sentry::from_dsn(Some("https://o1.ingest.sentry.io/4567"), "dev").is_err());
        assert!(Sentry::from_dsn(Some("not a url"), "dev").is_err());
    }
}
