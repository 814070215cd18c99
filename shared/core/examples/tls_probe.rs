//! Where the CPU of the first TLS connection goes (issue 20): process CPU (all threads) around each
//! step of a first SDK call. `AWS_ENDPOINT_URL` must be an https endpoint (the cold-start
//! harness's `--tls` moto) whose CA is in `TLS_EXTRA_CA_FILE`.
//!
//!     cargo run --release -p backend-core --example tls_probe
//!
//! The CPU of a step is read from the kernel's per-thread counters, which are brought up to date
//! when a thread is scheduled: steps under a millisecond may show 0 or carry a neighbour's time;
//! the first-random-bytes line is the one this probe was written for (36 to 52 ms with aws-lc's
//! CPU jitter entropy, 0 without: .cargo/config.toml).

use std::time::Instant;

fn cpu_ns() -> u64 {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) {
            total += text
                .split_whitespace()
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap();
        }
    }
    total
}

fn step<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let (cpu, wall) = (cpu_ns(), Instant::now());
    let out = f();
    println!(
        "{name:45} cpu {:7.2} ms  wall {:7.2} ms",
        (cpu_ns() - cpu) as f64 / 1e6,
        wall.elapsed().as_secs_f64() * 1e3
    );
    out
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    step("first 32 random bytes (aws-lc RNG init)", || {
        let mut buf = [0u8; 32];
        provider.secure_random.fill(&mut buf).unwrap();
    });
    step("a P-256 key pair (aws-lc EC init)", || {
        let group = provider
            .kx_groups
            .iter()
            .find(|g| g.name() == rustls::NamedGroup::secp256r1)
            .unwrap();
        group.start().unwrap();
    });
    step("an X25519MLKEM768 key share", || {
        let group = provider
            .kx_groups
            .iter()
            .find(|g| g.name() == rustls::NamedGroup::X25519MLKEM768)
            .unwrap();
        group.start().unwrap();
    });
    step("root store from the compiled-in certificates", || {
        let mut roots = rustls::RootCertStore::empty();
        for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            let _ = roots.add(der.clone());
        }
        roots.len()
    });
    let http = step("sdk_http_client()", backend_core::aws::sdk_http_client);
    let config = step("SDK config (Lambda plan if its variables)", || {
        backend_core::aws::ConfigPlan::from_vars(|k| std::env::var(k).ok())
    });
    let sdk = backend_core::aws::sdk_config(config).await;
    let _ = http;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let (cpu, wall) = (cpu_ns(), Instant::now());
    let first = client.list_tables().limit(1).send().await;
    println!(
        "{:45} cpu {:7.2} ms  wall {:7.2} ms  ({})",
        "first ListTables (connect + TLS + request)",
        (cpu_ns() - cpu) as f64 / 1e6,
        wall.elapsed().as_secs_f64() * 1e3,
        if first.is_ok() { "ok" } else { "error" }
    );
    if let Err(e) = first {
        println!("  {}", aws_sdk_dynamodb::error::DisplayErrorContext(e));
    }
    let (cpu, wall) = (cpu_ns(), Instant::now());
    let _ = client.list_tables().limit(1).send().await;
    println!(
        "{:45} cpu {:7.2} ms  wall {:7.2} ms",
        "second ListTables (pooled connection)",
        (cpu_ns() - cpu) as f64 / 1e6,
        wall.elapsed().as_secs_f64() * 1e3
    );
}
