//! Where a cold start's CPU goes (issue 20): process CPU time (all threads,
//! `CLOCK_PROCESS_CPUTIME_ID`) around each step of a function's init, then of its first SDK call
//! over TLS. For that call, `AWS_ENDPOINT_URL` must be an https endpoint (the cold-start harness's
//! `--tls` moto) whose CA is in `TLS_EXTRA_CA_FILE`; without it the probe stops after init.
//!
//!     cargo build --release -p backend-core --example cold_probe
//!     env -i PATH=$PATH AWS_ENDPOINT_URL=https://127.0.0.1:PORT TLS_EXTRA_CA_FILE=ca.pem \
//!       AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
//!       AWS_LAMBDA_FUNCTION_NAME=probe STAGE=dev GHL_CLIENT_ID=x STRIPE_PRICE_ID=price_x \
//!       SESSIONS_TABLE=s ACCOUNTS_TABLE=a RESULTS_TABLE=r IDEMPOTENCY_TABLE=i RATE_LIMITS_TABLE=l \
//!       target/release/examples/cold_probe
//!
//! The first-random-bytes line is the one this probe was first written for: 36 to 52 ms with
//! aws-lc's CPU jitter entropy, none without (.cargo/config.toml).

use std::time::Instant;

fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a pointer to a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn report(name: &str, cpu: u64, wall: Instant, note: &str) {
    println!(
        "{name:48} cpu {:7.3} ms  wall {:7.3} ms {note}",
        (cpu_ns() - cpu) as f64 / 1e6,
        wall.elapsed().as_secs_f64() * 1e3
    );
}

fn step<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let (cpu, wall) = (cpu_ns(), Instant::now());
    let out = f();
    report(name, cpu, wall, "");
    out
}

async fn astep<T>(name: &str, f: impl std::future::Future<Output = T>) -> T {
    let (cpu, wall) = (cpu_ns(), Instant::now());
    let out = f.await;
    report(name, cpu, wall, "");
    out
}

#[tokio::main]
async fn main() {
    println!(
        "{:48} cpu {:7.3} ms",
        "process start to main",
        cpu_ns() as f64 / 1e6
    );
    step(
        "telemetry::init (JSON subscriber, Targets filter)",
        backend_core::telemetry::init,
    );
    let config = step("Config::from_env", backend_core::config::Config::from_env);
    let Ok(config) = config else {
        println!("  (configuration incomplete: see the variables in this file's header)");
        return;
    };
    let plan = step("ConfigPlan::from_vars", || {
        backend_core::aws::ConfigPlan::from_vars(|k| std::env::var(k).ok())
    });
    let sdk = astep(
        "sdk_config (roots, HTTP client, SdkConfig)",
        backend_core::aws::sdk_config(plan),
    )
    .await;
    let aws = step("AwsClients::new (no client yet)", || {
        backend_core::aws::AwsClients::new(sdk)
    });
    let app = step("App::new", || backend_core::App::new(config, aws.clone()));
    drop(app);
    println!(
        "{:48} cpu {:7.3} ms",
        "total init since process start",
        cpu_ns() as f64 / 1e6
    );
    // What the first request that needs them pays (lazily, once per process).
    step("the DynamoDB client, on first use", || {
        aws.dynamodb().clone()
    });
    step("the Secrets Manager client, on first use", || {
        aws.secrets().clone()
    });
    step("the SQS client, on first use", || aws.sqs().clone());

    if !std::env::var("AWS_ENDPOINT_URL").is_ok_and(|u| u.starts_with("https://")) {
        return;
    }
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    step("first 32 random bytes (aws-lc seeds its RNG)", || {
        let mut buf = [0u8; 32];
        provider.secure_random.fill(&mut buf).unwrap();
    });
    step("root store from the compiled-in certificates", || {
        let mut roots = rustls::RootCertStore::empty();
        for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            let _ = roots.add(der.clone());
        }
        roots.len()
    });
    for name in [
        "first ListTables (connect, TLS, request)",
        "second ListTables (pooled)",
    ] {
        let (cpu, wall) = (cpu_ns(), Instant::now());
        let result = aws.dynamodb().list_tables().limit(1).send().await;
        report(name, cpu, wall, if result.is_ok() { "ok" } else { "error" });
    }
}
