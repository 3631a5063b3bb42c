//! Runs as a Lambda when `AWS_LAMBDA_RUNTIME_API` is set, otherwise as the local server.

use portaal_infra::{Config, System, telemetry};
use portal::{AppState, local};

const USAGE: &str = "Usage: portal [--demo]\n\n  --demo   also create a demo dossier and request, and print its portal link; on a loopback\n           address the staff console offers a developer sign-in (/staff/dev-login)\n\nSettings come from PORTAAL_* environment variables (see README.md).";

type MainError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), MainError> {
    let lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    // A Lambda sandbox is handed one event at a time: one thread serves it, and its cold start
    // spawns no workers (nor reads the cgroup files that size them). The local server serves
    // many at once.
    let runtime = if lambda {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    }
    .enable_all()
    .build()?;
    runtime.block_on(serve(lambda))
}

async fn serve(lambda: bool) -> Result<(), MainError> {
    telemetry::init(lambda);
    let config = Config::from_env()?;
    if lambda {
        let mut system = System::build(config).await?;
        // Behind API Gateway the AWS_IAM authoriser checks the case system; no bearer key.
        system.api_auth = portaal_infra::ApiAuth::GatewayIam;
        let mut state = AppState::new(system);
        state.public_url_from_request =
            std::env::var("PORTAAL_PUBLIC_URL").map_or(true, |v| v.trim().is_empty());
        return lambda_http::run(portal::lambda::service(state)).await;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    if let Some(unknown) = args.iter().find(|a| *a != "--demo") {
        return Err(format!("unknown argument {unknown}\n\n{USAGE}").into());
    }
    // Everything the server writes in its data directory (database, documents, outbox, keys) is
    // for its own user only: files 0600, directories 0700.
    // SAFETY: umask only sets the process's file-creation mask; no other thread creates files yet.
    unsafe { libc::umask(0o077) };
    let mut config = config;
    // `--demo` also offers the console's developer sign-in (only on loopback: Config decides).
    config.demo = args.iter().any(|a| a == "--demo");
    let addr = config.addr;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e} (set PORTAAL_ADDR)"))?;
    // Port 0 picks a free port: links then name the one bound (unless PORTAAL_PUBLIC_URL is set).
    let bound = listener.local_addr()?;
    if config.public_url == format!("http://{addr}") {
        config.public_url = format!("http://{bound}");
    }
    let system = System::build(config).await?;
    let demo = if args.iter().any(|a| a == "--demo") {
        Some(local::create_demo(&system).await?)
    } else {
        None
    };
    let running = local::spawn(system.clone(), listener).await?;
    println!("{}", local::banner(&system, running.addr, demo.as_deref()));
    local::wait(running).await;
    Ok(())
}
