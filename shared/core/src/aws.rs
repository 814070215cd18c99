//! AWS clients, built once per container and shared by every invocation, and the trust roots of
//! every HTTPS client of the process.
//!
//! **Trust roots.** The SDK's HTTP client and the outbound `reqwest` client (see
//! [`crate::upstream`]) trust the Mozilla root set compiled into the binary (`webpki-root-certs`),
//! never the system store: no filesystem scan at start (on a Debian machine the system store is a
//! bundle plus ~300 files of `/etc/ssl/certs`, most of the functions' init time), and the same
//! roots on every machine. A private CA (a local TLS endpoint, a corporate proxy) is added with
//! [`EXTRA_CA_FILE_ENV`], a PEM file read once per process.
//!
//! **Configuration.** Inside Lambda ([`ConfigPlan::Lambda`]) the SDK configuration is built from
//! the variables Lambda sets (region, the execution role's credentials, `AWS_ENDPOINT_URL` for
//! local runs), without the default chain: no profile files, no IMDS, no SSO or web-identity
//! providers, none of which can answer there. Anywhere else (developers' machines, the tests) the
//! default chain of `aws-config` runs as before, which honours `AWS_ENDPOINT_URL` and the
//! per-service `AWS_ENDPOINT_URL_DYNAMODB` (and `_SQS`); that is how the local stack and the tests point the
//! real SDK at a moto server.
//!
//! **The Lambda packages leave the chain out.** `cargo lambda build` (so `make build` and
//! `sam build`) enables the feature `lambda-only` (root Cargo.toml,
//! `[workspace.metadata.lambda.build]`): the chain and aws-sdk-sts are not linked (about 3,000
//! start-up relocations, 11 RELRO pages and 0.5 MB of zip fewer; docs/PERFORMANCE.md), and such a
//! binary started outside Lambda uses the environment's region, static credentials and
//! `AWS_ENDPOINT_URL` only, logging an error that says so. Every other build keeps the chain.

use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{SharedCredentialsProvider, SharedHttpClient};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use base64::Engine as _;

/// Names a PEM file whose certificates every HTTPS client of the process trusts **in addition**
/// to the compiled-in roots (for a local TLS endpoint: `bench/coldstart/coldstart.py --tls`).
/// Read once per process; an unreadable file or one without a certificate is logged and ignored.
pub const EXTRA_CA_FILE_ENV: &str = "TLS_EXTRA_CA_FILE";

/// `1`/`true`: open the DynamoDB connection (TCP + TLS handshake) during init, with one
/// `DescribeEndpoints` call whose answer is ignored, instead of on the first request. Lambda plan
/// only; off unless set (the measurement and the trade: docs/PERFORMANCE.md, "TLS").
pub const CONNECT_AT_INIT_ENV: &str = "AWS_CONNECT_AT_INIT";

/// The AWS clients of a process, each built on its first use from one shared configuration:
/// building an SDK client costs 1 to 2 ms of CPU (its runtime plugins and endpoint resolver), so a
/// function pays only for the clients it uses, and at the first request that needs them rather
/// than in init (the health function's `/health` and the webhooks' refusals need none; only the
/// install webhook sends to SQS). Clones share the clients.
#[derive(Clone, Debug)]
pub struct AwsClients {
    config: SdkConfig,
    dynamodb: Arc<OnceLock<aws_sdk_dynamodb::Client>>,
    secrets: Arc<OnceLock<aws_sdk_secretsmanager::Client>>,
    sqs: Arc<OnceLock<aws_sdk_sqs::Client>>,
}

impl AwsClients {
    /// Builds the configuration from the environment (see [`ConfigPlan`]); no client yet and no
    /// network call (unless `AWS_CONNECT_AT_INIT` asks for one). Retries use the SDK's standard
    /// mode; timeouts stay well inside the Lambda timeout so a stuck call ends as a clean 503
    /// instead of a killed invocation.
    pub async fn from_env() -> Self {
        let plan = ConfigPlan::from_vars(|name| std::env::var(name).ok());
        let connect = matches!(plan, ConfigPlan::Lambda { .. })
            && std::env::var(CONNECT_AT_INIT_ENV)
                .is_ok_and(|v| matches!(v.trim(), "1" | "true" | "TRUE" | "True"));
        let clients = Self::new(sdk_config(plan).await);
        if connect {
            clients.connect().await;
        }
        clients
    }

    /// Clients of `config`, built when first used.
    pub fn new(config: SdkConfig) -> Self {
        Self {
            config,
            dynamodb: Arc::default(),
            secrets: Arc::default(),
            sqs: Arc::default(),
        }
    }

    /// The same, with this DynamoDB client instead (tests point it at a proxy).
    pub fn with_dynamodb(self, client: aws_sdk_dynamodb::Client) -> Self {
        Self {
            dynamodb: Arc::new(OnceLock::from(client)),
            ..self
        }
    }

    pub fn dynamodb(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamodb
            .get_or_init(|| aws_sdk_dynamodb::Client::new(&self.config))
    }

    pub fn secrets(&self) -> &aws_sdk_secretsmanager::Client {
        self.secrets
            .get_or_init(|| aws_sdk_secretsmanager::Client::new(&self.config))
    }

    /// The erasure queue's client (the install webhook sends, the tests read).
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs
            .get_or_init(|| aws_sdk_sqs::Client::new(&self.config))
    }

    /// Opens the pooled DynamoDB connection now: any answer will do (an access denial too), the
    /// point is the handshake, which the first request then skips.
    pub async fn connect(&self) {
        if let Err(err) = self.dynamodb().describe_endpoints().send().await {
            tracing::debug!(error = %err, "connect at init: DescribeEndpoints failed (ignored)");
        }
    }
}

fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(3)
}

fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(6))
        .build()
}

/// Where the SDK configuration comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigPlan {
    /// In a Lambda sandbox: region from `AWS_REGION`, credentials from `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, endpoint from `AWS_ENDPOINT_URL` if set.
    Lambda {
        region: String,
        endpoint_url: Option<String>,
    },
    /// Anywhere else, or whenever the environment asks for something only the chain provides.
    DefaultChain,
}

impl ConfigPlan {
    /// Lambda when `AWS_LAMBDA_FUNCTION_NAME` is set and the region and the credentials are in
    /// the environment, as Lambda always provides them; the default chain otherwise, and also
    /// when a profile, a container-credentials endpoint (SnapStart), a web-identity token or a
    /// per-service endpoint is configured, which only the chain honours.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let in_lambda = set("AWS_LAMBDA_FUNCTION_NAME").is_some();
        let credentials =
            set("AWS_ACCESS_KEY_ID").is_some() && set("AWS_SECRET_ACCESS_KEY").is_some();
        let chain_only = [
            "AWS_PROFILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            "AWS_ENDPOINT_URL_SQS",
        ]
        .iter()
        .any(|name| set(name).is_some());
        match set("AWS_REGION").or_else(|| set("AWS_DEFAULT_REGION")) {
            Some(region) if in_lambda && credentials && !chain_only => {
                let ignore_endpoints = set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
                ConfigPlan::Lambda {
                    region: region.trim().to_owned(),
                    endpoint_url: set("AWS_ENDPOINT_URL")
                        .filter(|_| !ignore_endpoints)
                        .map(|url| url.trim().to_owned()),
                }
            }
            _ => ConfigPlan::DefaultChain,
        }
    }
}

/// The shared SDK configuration for `plan`, with the process's HTTP client (compiled-in roots).
pub async fn sdk_config(plan: ConfigPlan) -> SdkConfig {
    match plan {
        ConfigPlan::Lambda {
            region,
            endpoint_url,
        } => environment_config(Some(region), endpoint_url),
        ConfigPlan::DefaultChain => default_chain_config().await,
    }
}

/// Region, credentials and endpoint from the environment only (no provider chain).
fn environment_config(region: Option<String>, endpoint_url: Option<String>) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .identity_cache(IdentityCache::lazy().build())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .http_client(sdk_http_client());
    builder.set_region(region.map(Region::new));
    builder.set_endpoint_url(endpoint_url);
    // Sleep and time source: the clients' defaults (tokio, system clock).
    builder.build()
}

/// aws-config's default chain: profile files, SSO, web identity, container credentials, IMDS.
#[cfg(not(feature = "lambda-only"))]
async fn default_chain_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .http_client(sdk_http_client())
        .load()
        .await
}

/// A build without the chain (feature `lambda-only`, the Lambda packages) outside Lambda, or with a
/// setting only the chain honours: see [`environment_only_config`], and an error in the log
/// naming what this build ignores.
#[cfg(feature = "lambda-only")]
async fn default_chain_config() -> SdkConfig {
    tracing::error!(
        "this build has no default AWS provider chain (backend-core feature `lambda-only`, set \
         by `cargo lambda build`): profiles, SSO, web identity, container credentials and IMDS \
         are ignored; region, credentials and endpoint come from AWS_REGION, AWS_ACCESS_KEY_ID, \
         AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_ENDPOINT_URL only"
    );
    environment_only_config(|name| std::env::var(name).ok())
}

/// What a build without the chain uses outside Lambda: the region of `AWS_REGION` (or
/// `AWS_DEFAULT_REGION`, or none), the static credentials of the environment and
/// `AWS_ENDPOINT_URL` (what the local stack and the tests set).
#[cfg(any(test, feature = "lambda-only"))]
fn environment_only_config(var: impl Fn(&str) -> Option<String>) -> SdkConfig {
    let set = |name: &str| {
        var(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let region = set("AWS_REGION").or_else(|| set("AWS_DEFAULT_REGION"));
    let ignore_endpoints =
        set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    environment_config(
        region,
        set("AWS_ENDPOINT_URL").filter(|_| !ignore_endpoints),
    )
}

/// The SDK's HTTPS client (rustls with aws-lc, as the SDK's default client), trusting the
/// compiled-in roots and the private CA only; built once per process and shared by every SDK
/// client. Its connector, and so its root store, is built on the first request.
pub fn sdk_http_client() -> SharedHttpClient {
    static CLIENT: LazyLock<SharedHttpClient> = LazyLock::new(|| {
        let mut store = TrustStore::empty().with_native_roots(false);
        store.add_pem_certificate(compiled_roots_pem());
        if let Some(extra) = extra_ca_pem() {
            store.add_pem_certificate(extra.to_vec());
        }
        let context = TlsContext::builder()
            .with_trust_store(store)
            .build()
            .expect("a TLS context without server names always builds");
        aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context)
            .build_https()
    });
    CLIENT.clone()
}

/// The roots for the outbound `reqwest` client: the compiled-in set and the private CA.
pub fn reqwest_roots() -> Vec<reqwest::Certificate> {
    let compiled = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der).ok());
    let extra = extra_ca_pem()
        .and_then(|pem| reqwest::Certificate::from_pem_bundle(pem).ok())
        .unwrap_or_default();
    compiled.chain(extra).collect()
}

/// The compiled-in roots as one PEM bundle (the SDK's trust store takes PEM only).
fn compiled_roots_pem() -> Vec<u8> {
    let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
    let mut pem = Vec::with_capacity(roots.iter().map(|der| der.len() * 4 / 3 + 80).sum());
    for der in roots {
        pem_encode(der, &mut pem);
    }
    pem
}

fn pem_encode(der: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    for line in body.as_bytes().chunks(64) {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END CERTIFICATE-----\n");
}

/// The private CA of [`EXTRA_CA_FILE_ENV`], read and checked once per process.
fn extra_ca_pem() -> Option<&'static [u8]> {
    static EXTRA: LazyLock<Option<Vec<u8>>> =
        LazyLock::new(|| std::env::var_os(EXTRA_CA_FILE_ENV).and_then(read_extra_ca));
    EXTRA.as_deref()
}

fn read_extra_ca(path: std::ffi::OsString) -> Option<Vec<u8>> {
    let path = std::path::PathBuf::from(path);
    let pem = match std::fs::read(&path) {
        Ok(pem) => pem,
        Err(err) => {
            tracing::error!(path = %path.display(), error = %err, "{EXTRA_CA_FILE_ENV}: unreadable, ignored");
            return None;
        }
    };
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Some(pem),
        _ => {
            tracing::error!(path = %path.display(), "{EXTRA_CA_FILE_ENV}: no PEM certificate, ignored");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(vars: &[(&str, &str)]) -> ConfigPlan {
        ConfigPlan::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    const LAMBDA: &[(&str, &str)] = &[
        ("AWS_LAMBDA_FUNCTION_NAME", "analyze"),
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_SESSION_TOKEN", "token"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars: Vec<_> = LAMBDA
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .copied()
            .collect();
        vars.extend_from_slice(extra);
        vars
    }

    #[test]
    fn lambda_environment_skips_the_default_chain() {
        assert_eq!(
            plan(LAMBDA),
            ConfigPlan::Lambda {
                region: "eu-west-1".into(),
                endpoint_url: None
            }
        );
        assert_eq!(
            plan(&with(&[("AWS_ENDPOINT_URL", "https://127.0.0.1:5791")])),
            ConfigPlan::Lambda {
                region: "eu-west-1".into(),
                endpoint_url: Some("https://127.0.0.1:5791".into())
            }
        );
        // AWS_DEFAULT_REGION alone still names the region.
        let only_default: Vec<_> = LAMBDA
            .iter()
            .filter(|(k, _)| *k != "AWS_REGION")
            .copied()
            .collect();
        assert!(matches!(plan(&only_default), ConfigPlan::Lambda { .. }));
        // The endpoint override can be switched off as the SDK allows.
        assert_eq!(
            plan(&with(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5791"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
            ])),
            ConfigPlan::Lambda {
                region: "eu-west-1".into(),
                endpoint_url: None
            }
        );
    }

    #[test]
    fn developer_machines_keep_the_default_chain() {
        // No Lambda environment: a profile, SSO or IMDS may be what answers.
        let outside: Vec<_> = LAMBDA
            .iter()
            .filter(|(k, _)| !k.starts_with("AWS_LAMBDA_"))
            .copied()
            .collect();
        assert_eq!(plan(&outside), ConfigPlan::DefaultChain);
        assert_eq!(plan(&[]), ConfigPlan::DefaultChain);
        assert_eq!(
            plan(&with(&[("AWS_LAMBDA_FUNCTION_NAME", "")])),
            ConfigPlan::DefaultChain
        );
        // Lambda-like but incomplete (an emulator without credentials or region): the chain.
        for missing in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let vars: Vec<_> = LAMBDA
                .iter()
                .filter(|(k, _)| *k != missing)
                .copied()
                .collect();
            assert_eq!(plan(&vars), ConfigPlan::DefaultChain, "without {missing}");
        }
        let no_region: Vec<_> = LAMBDA
            .iter()
            .filter(|(k, _)| !k.ends_with("_REGION"))
            .copied()
            .collect();
        assert_eq!(plan(&no_region), ConfigPlan::DefaultChain);
        // Settings only the chain honours.
        for (name, value) in [
            ("AWS_PROFILE", "dev"),
            (
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "http://127.0.0.1:9001/creds",
            ),
            ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"),
        ] {
            assert_eq!(
                plan(&with(&[(name, value)])),
                ConfigPlan::DefaultChain,
                "{name}"
            );
        }
    }

    #[test]
    fn compiled_roots_are_valid_pem_for_both_clients() {
        let pem = compiled_roots_pem();
        let count = webpki_root_certs::TLS_SERVER_ROOT_CERTS.len();
        assert!(count > 100, "{count} roots");
        let parsed = reqwest::Certificate::from_pem_bundle(&pem).expect("PEM");
        assert_eq!(parsed.len(), count);
        assert!(reqwest_roots().len() >= count);
    }

    #[test]
    fn extra_ca_file_is_checked() {
        let dir = std::env::temp_dir().join(format!("extra-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("ca.pem");
        let mut pem = Vec::new();
        pem_encode(&webpki_root_certs::TLS_SERVER_ROOT_CERTS[0], &mut pem);
        std::fs::write(&good, &pem).unwrap();
        assert_eq!(read_extra_ca(good.into_os_string()), Some(pem));
        let bad = dir.join("not-a-cert.pem");
        std::fs::write(&bad, b"hello").unwrap();
        assert_eq!(read_extra_ca(bad.into_os_string()), None);
        assert_eq!(
            read_extra_ca(dir.join("missing.pem").into_os_string()),
            None
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn environment_only_config_reads_region_credentials_and_endpoint() {
        let config = environment_only_config(|name| {
            with(&[("AWS_ENDPOINT_URL", " http://127.0.0.1:5791 ")])
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        });
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5791"));
        assert!(config.credentials_provider().is_some());
        assert!(config.http_client().is_some());
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(3));
        // Nothing set: no region, no endpoint (the SDK then fails the call, not the start).
        let empty = environment_only_config(|_| None);
        assert_eq!(empty.region(), None);
        assert_eq!(empty.endpoint_url(), None);
        let ignored = environment_only_config(|name| match name {
            "AWS_ENDPOINT_URL" => Some("http://127.0.0.1:5791".into()),
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" => Some("true".into()),
            "AWS_DEFAULT_REGION" => Some("us-east-1".into()),
            _ => None,
        });
        assert_eq!(ignored.endpoint_url(), None);
        assert_eq!(ignored.region().map(|r| r.as_ref()), Some("us-east-1"));
    }

    /// `cargo test -p backend-core --features lambda-only --lib aws::` runs this one too.
    #[cfg(feature = "lambda-only")]
    #[tokio::test]
    async fn lambda_only_build_answers_the_default_chain_plan_from_the_environment() {
        let config = sdk_config(ConfigPlan::DefaultChain).await;
        assert!(config.credentials_provider().is_some());
        assert!(config.http_client().is_some());
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(3));
    }

    #[tokio::test]
    async fn lambda_plan_builds_a_config_without_the_chain() {
        let config = sdk_config(ConfigPlan::Lambda {
            region: "eu-west-1".into(),
            endpoint_url: Some("http://127.0.0.1:1".into()),
        })
        .await;
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
        assert!(config.credentials_provider().is_some());
        assert!(config.http_client().is_some());
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(3));
    }
}
