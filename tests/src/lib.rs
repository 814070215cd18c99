//! Test support: a `TestApp` with fresh tables (created from template.yaml) and a fresh secret in
//! the local moto server, events from events/, and readers for template.yaml and the router.
//!
//! The tests need `AWS_ENDPOINT_URL` pointing at moto; `make test` starts one and sets it.

pub mod fault_proxy;
pub mod stripe;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use backend_core::auth::LocationId;
use backend_core::aws::AwsClients;
use backend_core::config::{Config, Tables};
use backend_core::secrets::Purpose;
use backend_core::App;
use lambda_http::{Body, Request, Response};
use serde_yaml::Value as Yaml;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// A dev-looking key for tests only.
pub const TEST_ENCRYPTION_KEY: &str =
    "3f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
pub const TEST_WEBHOOK_SECRET: &str = "whsec_test_0123456789abcdef";
pub const TEST_STRIPE_KEY: &str = "sk_test_0123456789abcdef";
pub const TEST_GHL_CLIENT_SECRET: &str = "ghl-client-secret-for-tests";
pub const FRONTEND: &str = "http://localhost:5173";
/// The Pro price (`STRIPE_PRICE_ID`) of every test world.
pub const TEST_PRICE_ID: &str = "price_test_pro";

/// The repository root (tests/ is one level down).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Every log line the code under test wrote (JSON, debug level and up), for secret scans.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
}

static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
            eprint!("{}", String::from_utf8_lossy(buf));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures logs (printed too when `TEST_LOG=1`; silent otherwise, so failures stay readable).
pub fn init_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        backend_core::telemetry::metrics::set_sink(|line| {
            let mut logs = LOGS.lock().unwrap_or_else(|p| p.into_inner());
            logs.extend_from_slice(line.as_bytes());
            logs.push(b'\n');
        });
        let filter: tracing_subscriber::filter::Targets =
            "debug,aws_smithy_runtime=warn,aws_config=warn,hyper=warn,rustls=warn,aws_sdk_dynamodb=warn,aws_smithy_runtime_api=warn,hyper_util=warn,reqwest=warn,wiremock=warn"
                .parse()
                .expect("log filter");
        let _ = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(|| Capture)
            .finish()
            .with(filter)
            .try_init();
    });
}

fn require_moto() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL is not set: run the tests with `make test`, which starts a local moto server"
    );
}

/// A test's own world: uniquely named tables and secret, and the `App` a function would build.
pub struct TestApp {
    pub app: Arc<App>,
    pub aws: AwsClients,
    pub prefix: String,
    pub vars: BTreeMap<String, String>,
}

impl TestApp {
    /// Stage dev, every table created, the secret seeded.
    pub async fn new() -> Self {
        Self::with_env(&[]).await
    }

    /// Like `new`, with environment overrides (`None` removes a variable).
    pub async fn with_env(overrides: &[(&str, Option<&str>)]) -> Self {
        init_logs();
        require_moto();
        let prefix = format!("t{}", hex::encode(rand::random::<[u8; 6]>()));
        let aws = AwsClients::from_env().await;
        let mut vars = BTreeMap::new();
        for (logical, var) in TABLE_VARS {
            vars.insert(var.to_string(), format!("{prefix}-{logical}"));
        }
        // One secret per purpose, as the template has them; every one given to the test app.
        for purpose in Purpose::ALL {
            vars.insert(
                purpose.id_var().into(),
                format!("{prefix}/{}", purpose.field()),
            );
        }
        for (k, v) in [
            ("STAGE", "dev"),
            // What `make dev` sets: the dev-only /test/* routes answer.
            ("ENABLE_TEST_ROUTES", "true"),
            ("FRONTEND_URL", FRONTEND),
            ("GHL_CLIENT_ID", "test-client-id"),
            ("GHL_REDIRECT_URI", "http://localhost:9000/auth/callback"),
            ("STRIPE_PRICE_ID", TEST_PRICE_ID),
            // Required in prod; the HighLevel webhook tests sign events for this app.
            ("GHL_APP_ID", "app_test_1"),
        ] {
            vars.insert(k.into(), v.into());
        }
        for (k, v) in overrides {
            match v {
                Some(v) => vars.insert(k.to_string(), v.to_string()),
                None => vars.remove(*k),
            };
        }
        for table in template_tables() {
            let var = TABLE_VARS
                .iter()
                .find(|(logical, _)| *logical == table.logical_id)
                .map(|(_, var)| *var)
                .unwrap_or_else(|| panic!("no env var known for table {}", table.logical_id));
            create_table(&aws, &table, &vars[var]).await;
        }
        for purpose in Purpose::ALL {
            if let Some(id) = vars.get(purpose.id_var()) {
                seed_secret(&aws, id, purpose).await;
            }
        }
        if !vars.contains_key("ERASURE_QUEUE_URL") {
            let url = create_queue(&aws, &format!("{prefix}-erasure")).await;
            vars.insert("ERASURE_QUEUE_URL".into(), url);
        }
        let config = Config::from_lookup(|k| vars.get(k).cloned()).expect("test config is valid");
        let app = Arc::new(App::new(config, aws.clone()));
        Self {
            app,
            aws,
            prefix,
            vars,
        }
    }

    /// The same world with a changed configuration (e.g. a secret id that does not exist).
    pub fn reconfigured(mut self, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.app.config.clone();
        change(&mut config);
        self.app = Arc::new(App::new(config, self.aws.clone()));
        self
    }

    /// A connected account for `location` (tokens `at-<location>` / `rt-<location>`, valid for a
    /// day) and a session for it; returns the `Cookie` header value.
    pub async fn connected_session(&self, location: &str) -> String {
        let location = LocationId::parse(location).expect("test location id");
        let tokens: backend_core::highlevel::TokenResponse =
            serde_json::from_value(serde_json::json!({
                "access_token": format!("at-{location}"),
                "refresh_token": format!("rt-{location}"),
                "expires_in": 86399,
                "scope": "workflows.readonly",
                "locationId": location.as_str(),
            }))
            .expect("token response");
        let grant = self
            .app
            .highlevel()
            .seal(&location, &tokens)
            .await
            .expect("seal");
        let now = backend_core::clock::now_epoch();
        self.app
            .accounts()
            .save_authorization(&location, &grant, now)
            .await
            .expect("save account");
        self.session_cookie(&location).await
    }

    /// A session for an existing (or not) account; returns the `Cookie` header value.
    pub async fn session_cookie(&self, location: &LocationId) -> String {
        let now = backend_core::clock::now_epoch();
        let (token, _) = self
            .app
            .sessions()
            .create(location, now, 3600)
            .await
            .expect("create session");
        cookie_pair(&token.cookie(3600))
    }

    pub fn tables(&self) -> &Tables {
        &self.app.config.tables
    }

    /// Deletes one table, to see how the functions behave without it.
    pub async fn delete_table(&self, name: &str) {
        self.aws
            .dynamodb()
            .delete_table()
            .table_name(name)
            .send()
            .await
            .expect("delete table");
    }
}

/// Puts every subscription item of a Stripe sample event on [`TEST_PRICE_ID`]: the samples in
/// events/stripe/ carry the price `make dev` uses (scripts/dev.sh), and only the configured price
/// grants Pro.
pub fn on_test_price(event: &mut serde_json::Value) {
    let items = event
        .pointer_mut("/data/object/items/data")
        .and_then(serde_json::Value::as_array_mut);
    for item in items.into_iter().flatten() {
        item["price"]["id"] = TEST_PRICE_ID.into();
    }
}

/// Template logical id of each table and the variable that names it.
pub const TABLE_VARS: &[(&str, &str)] = &[
    ("SessionsTable", "SESSIONS_TABLE"),
    ("AccountsTable", "ACCOUNTS_TABLE"),
    ("ResultsTable", "RESULTS_TABLE"),
    ("IdempotencyTable", "IDEMPOTENCY_TABLE"),
    ("RateLimitsTable", "RATE_LIMITS_TABLE"),
];

/// Creates `purpose`'s secret as the template's layout has it: a JSON object with its one field.
async fn seed_secret(aws: &AwsClients, name: &str, purpose: Purpose) {
    let value = match purpose {
        Purpose::HighLevelClient => TEST_GHL_CLIENT_SECRET,
        Purpose::TokenKey => TEST_ENCRYPTION_KEY,
        Purpose::StripeApiKey => TEST_STRIPE_KEY,
        Purpose::StripeWebhook => TEST_WEBHOOK_SECRET,
    };
    let value = serde_json::json!({ purpose.field(): value });
    aws.secrets()
        .create_secret()
        .name(name)
        .secret_string(value.to_string())
        .send()
        .await
        .expect("create secret in moto");
}

// ------------------------------------------------------------------------------------ template

/// template.yaml, parsed (CloudFormation tags such as `!Ref` arrive as tagged values).
pub fn template() -> Yaml {
    let text =
        std::fs::read_to_string(repo_root().join("template.yaml")).expect("read template.yaml");
    serde_yaml::from_str(&text).expect("template.yaml is YAML")
}

fn resources() -> Vec<(String, Yaml)> {
    let template = template();
    let Some(Yaml::Mapping(resources)) = template.get("Resources").cloned() else {
        panic!("template.yaml has no Resources");
    };
    resources
        .into_iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v)))
        .collect()
}

/// A DynamoDB table as template.yaml declares it.
#[derive(Debug, Clone)]
pub struct TableDef {
    pub logical_id: String,
    pub properties: Yaml,
}

pub fn template_tables() -> Vec<TableDef> {
    resources()
        .into_iter()
        .filter(|(_, r)| r.get("Type").and_then(Yaml::as_str) == Some("AWS::DynamoDB::Table"))
        .map(|(logical_id, r)| TableDef {
            logical_id,
            properties: r.get("Properties").cloned().unwrap_or(Yaml::Null),
        })
        .collect()
}

fn key_schema(list: &Yaml) -> Vec<KeySchemaElement> {
    list.as_sequence()
        .into_iter()
        .flatten()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(k["AttributeName"].as_str().expect("AttributeName"))
                .key_type(KeyType::from(k["KeyType"].as_str().expect("KeyType")))
                .build()
                .expect("key schema")
        })
        .collect()
}

/// Creates `table` under `name` exactly as the template defines its keys, indexes and TTL.
pub async fn create_table(aws: &AwsClients, table: &TableDef, name: &str) {
    let props = &table.properties;
    let mut create = aws
        .dynamodb()
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&props["KeySchema"])));
    for attr in props["AttributeDefinitions"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attr["AttributeName"].as_str().expect("AttributeName"))
                .attribute_type(ScalarAttributeType::from(
                    attr["AttributeType"].as_str().expect("AttributeType"),
                ))
                .build()
                .expect("attribute definition"),
        );
    }
    for gsi in props["GlobalSecondaryIndexes"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(gsi["IndexName"].as_str().expect("IndexName"))
                .set_key_schema(Some(key_schema(&gsi["KeySchema"])))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            gsi["Projection"]["ProjectionType"]
                                .as_str()
                                .unwrap_or("ALL"),
                        ))
                        .set_non_key_attributes(
                            gsi["Projection"]["NonKeyAttributes"]
                                .as_sequence()
                                .map(|names| {
                                    names
                                        .iter()
                                        .filter_map(|n| n.as_str().map(str::to_owned))
                                        .collect()
                                }),
                        )
                        .build(),
                )
                .build()
                .expect("gsi"),
        );
    }
    create.send().await.expect("create table in moto");
    if let Some(ttl) = props["TimeToLiveSpecification"]["AttributeName"].as_str() {
        aws.dynamodb()
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl)
                    .enabled(true)
                    .build()
                    .expect("ttl"),
            )
            .send()
            .await
            .expect("enable ttl");
    }
}

/// Every `(method, path, binary)` of an HttpApi event in template.yaml.
pub fn template_routes() -> BTreeSet<(String, String, String)> {
    let mut routes = BTreeSet::new();
    for (_, resource) in resources() {
        if resource.get("Type").and_then(Yaml::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("every function names its binary")
            .to_owned();
        let Some(Yaml::Mapping(events)) = resource["Properties"].get("Events").cloned() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let props = &event["Properties"];
            routes.insert((
                props["Method"].as_str().expect("Method").to_uppercase(),
                props["Path"].as_str().expect("Path").to_owned(),
                binary.clone(),
            ));
        }
    }
    routes
}

/// Every `path -> function` of the cargo-lambda router in Cargo.toml.
pub fn router_routes() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(repo_root().join("Cargo.toml")).expect("read Cargo.toml");
    let manifest: toml::Value = toml::from_str(&text).expect("Cargo.toml is TOML");
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("router table")
        .clone();
    router
        .into_iter()
        .map(|(path, function)| {
            let function = function
                .as_str()
                .expect("router entries name one function for every method")
                .to_owned();
            (path, function)
        })
        .collect()
}

// -------------------------------------------------------------------------------------- events

/// Reads `events/<name>` as a Lambda request, exactly as the runtime would deserialize it.
pub fn event(name: &str) -> Request {
    let text = std::fs::read_to_string(repo_root().join("events").join(name))
        .unwrap_or_else(|e| panic!("read events/{name}: {e}"));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("events/{name}: {e}"))
}

/// An API Gateway v2 request built from scratch, for cases no sample event covers.
pub struct RequestBuilder {
    event: serde_json::Value,
}

pub fn request(method: &str, path: &str) -> RequestBuilder {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    RequestBuilder {
        event: serde_json::json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": query,
            "headers": { "host": "api.test", "user-agent": "integration-tests" },
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "api",
                "domainName": "api.test",
                "domainPrefix": "api",
                "http": { "method": method, "path": path, "protocol": "HTTP/1.1",
                          "sourceIp": "203.0.113.7", "userAgent": "integration-tests" },
                "requestId": format!("req-{}", hex::encode(rand::random::<[u8; 4]>())),
                "routeKey": "$default",
                "stage": "$default",
                "time": "23/Nov/2026:22:00:00 +0000",
                "timeEpoch": 1795471200000u64
            },
            "isBase64Encoded": false
        }),
    }
}

impl RequestBuilder {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.event["headers"][name.to_ascii_lowercase()] = value.into();
        self
    }

    pub fn source_ip(mut self, ip: &str) -> Self {
        self.event["requestContext"]["http"]["sourceIp"] = ip.into();
        self
    }

    pub fn cookie(mut self, cookie: &str) -> Self {
        let cookies = self.event["cookies"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut cookies = cookies;
        cookies.push(cookie.into());
        self.event["cookies"] = cookies.into();
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.event["body"] = body.into();
        self
    }

    pub fn json(self, body: &serde_json::Value) -> Self {
        self.header("content-type", "application/json")
            .body(&body.to_string())
    }

    pub fn build(self) -> Request {
        lambda_http::request::from_str(&self.event.to_string()).expect("valid v2 event")
    }
}

// ----------------------------------------------------------------------------------- responses

/// A response split into what tests assert on.
pub struct Answer {
    pub status: u16,
    pub headers: lambda_http::http::HeaderMap,
    /// The JSON body (`Null` for no body and for an HTML page).
    pub json: serde_json::Value,
    /// The body of a `text/html` answer (the analysis report), empty otherwise.
    pub html: String,
}

pub fn answer(response: Response<Body>) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body: &[u8] = response.body().as_ref();
    let is_html = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let (json, html) = if is_html {
        let page = String::from_utf8(body.to_vec()).expect("an HTML page is UTF-8");
        (serde_json::Value::Null, page)
    } else if body.is_empty() {
        (serde_json::Value::Null, String::new())
    } else {
        let json = serde_json::from_slice(body).expect("every body but a report page is JSON");
        (json, String::new())
    };
    Answer {
        status,
        headers,
        json,
        html,
    }
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error_code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }

    /// Asserts the envelope's shape for this status.
    pub fn assert_envelope(&self) {
        if self.status == 200 && !self.html.is_empty() {
            assert!(self.html.starts_with("<!DOCTYPE html>"), "an HTML page");
            return;
        }
        if self.status == 204 || (300..400).contains(&self.status) {
            assert!(self.json.is_null(), "no body expected for {}", self.status);
            return;
        }
        let success = self.status < 400;
        assert_eq!(
            self.json["success"], success,
            "envelope success for {}: {}",
            self.status, self.json
        );
        assert!(
            self.json["meta"]["requestId"].is_string(),
            "meta.requestId: {}",
            self.json
        );
        assert!(
            self.json["meta"]["timestamp"].is_string(),
            "meta.timestamp: {}",
            self.json
        );
        if success {
            assert!(self.json.get("data").is_some(), "data: {}", self.json);
        } else {
            assert!(
                self.json["error"]["code"].is_string(),
                "error.code: {}",
                self.json
            );
            assert!(
                self.json["error"]["message"].is_string(),
                "error.message: {}",
                self.json
            );
        }
    }
}

impl TestApp {
    /// The account item of `location`, which the test expects to exist.
    pub async fn stored_account(
        &self,
        location: &LocationId,
    ) -> backend_core::store::accounts::Account {
        self.app
            .accounts()
            .get(location)
            .await
            .expect("read the account")
            .expect("account")
    }

    /// Sends `req` through a function's edge and handler, as the Lambda runtime would.
    pub async fn call(&self, routes: &[backend_core::http::Route], req: Request) -> Answer {
        answer(backend_core::lambda::dispatch(&self.app, routes, req).await)
    }
}

/// Every function's route table, keyed by its binary name: the one registry tests reach the
/// functions through.
pub fn function_routes() -> BTreeMap<&'static str, Vec<backend_core::http::Route>> {
    BTreeMap::from([
        ("oauth-callback", oauth_callback::routes()),
        ("analyze", analyze::routes()),
        ("history", history::routes()),
        ("checkout", checkout::routes()),
        ("stripe-webhook", stripe_webhook::routes()),
        ("ghl-webhook", ghl_webhook::routes()),
        ("health", health::routes()),
    ])
}

/// The route table of the function named `function` (its binary name).
pub fn routes_of(function: &str) -> Vec<backend_core::http::Route> {
    function_routes()
        .remove(function)
        .unwrap_or_else(|| panic!("unknown function {function}"))
}

impl TestApp {
    /// Sends `req` to the function named `function`, through its edge and route table.
    pub async fn call_function(&self, function: &str, req: Request) -> Answer {
        self.call(&routes_of(function), req).await
    }
}

/// `name=value` from a `Set-Cookie` header value.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or("").trim().to_owned()
}

/// Every `Set-Cookie` of a response.
pub fn set_cookies(answer: &Answer) -> Vec<String> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect()
}

/// Every item of a table (small test tables only).
pub async fn scan_all(
    aws: &AwsClients,
    table: &str,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    aws.dynamodb()
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("scan")
        .items
        .unwrap_or_default()
}

// ------------------------------------------------------------------------------ erasure queue

/// Creates an SQS queue in moto (default settings) and returns its URL.
pub async fn create_queue(aws: &AwsClients, name: &str) -> String {
    aws.sqs()
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("create queue in moto")
        .queue_url
        .expect("queue url")
}

/// What one delivery of erasure messages to the worker did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Messages handed to the worker.
    pub messages: usize,
    /// Message ids the worker reported failed (left on the queue).
    pub failed: Vec<String>,
}

impl TestApp {
    /// The erasure queue's URL (`ERASURE_QUEUE_URL`).
    pub fn erasure_queue_url(&self) -> &str {
        &self.vars["ERASURE_QUEUE_URL"]
    }

    /// Receives up to ten erasure messages (they stay invisible for a minute unless deleted).
    pub async fn receive_erasures(&self) -> Vec<aws_sdk_sqs::types::Message> {
        self.aws
            .sqs()
            .receive_message()
            .queue_url(self.erasure_queue_url())
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .send()
            .await
            .expect("receive from the erasure queue")
            .messages
            .unwrap_or_default()
    }

    /// Hands `messages` to the erasure worker as Lambda's SQS event source would (one batch),
    /// then deletes the messages it did not report failed, as the event source does.
    pub async fn deliver_erasures(&self, messages: &[aws_sdk_sqs::types::Message]) -> Delivered {
        self.deliver_erasures_via(&self.app, messages).await
    }

    /// [`TestApp::deliver_erasures`] to a worker built on `app` (a fault proxy's, say).
    pub async fn deliver_erasures_via(
        &self,
        app: &App,
        messages: &[aws_sdk_sqs::types::Message],
    ) -> Delivered {
        let event = sqs_event(messages);
        let response = erasure::handle(app, event, None).await;
        let failed: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        for message in messages {
            let id = message.message_id().unwrap_or_default();
            if failed.iter().any(|f| f == id) {
                continue;
            }
            self.aws
                .sqs()
                .delete_message()
                .queue_url(self.erasure_queue_url())
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete an acknowledged message");
        }
        Delivered {
            messages: messages.len(),
            failed,
        }
    }

    /// Runs the erasure worker until the queue has nothing visible; returns every delivery.
    pub async fn drain_erasures(&self) -> Vec<Delivered> {
        let mut deliveries = Vec::new();
        loop {
            let messages = self.receive_erasures().await;
            if messages.is_empty() {
                return deliveries;
            }
            deliveries.push(self.deliver_erasures(&messages).await);
        }
    }
}

/// The SQS event Lambda's event source builds from received messages.
pub fn sqs_event(
    messages: &[aws_sdk_sqs::types::Message],
) -> aws_lambda_events::event::sqs::SqsEvent {
    let mut event = aws_lambda_events::event::sqs::SqsEvent::default();
    for message in messages {
        let mut record = aws_lambda_events::event::sqs::SqsMessage::default();
        record.message_id = message.message_id().map(str::to_owned);
        record.receipt_handle = message.receipt_handle().map(str::to_owned);
        record.body = message.body().map(str::to_owned);
        record.md5_of_body = message.md5_of_body().map(str::to_owned);
        record.event_source = Some("aws:sqs".into());
        event.records.push(record);
    }
    event
}
