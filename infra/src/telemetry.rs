//! Logging: JSON lines on Lambda (CloudWatch), compact text locally. `RUST_LOG` filters.
//!
//! Whatever `RUST_LOG` says, libraries that log whole HTTP bodies at debug or trace level (the AWS
//! SDK's HTTP layer, hyper) are held at INFO: those bodies carry mail texts, and mail texts carry
//! portal links, which must never reach a log line.

use tracing::{Level, Metadata};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, FilterFn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const BODY_LOGGING_TARGETS: &[&str] = &[
    "aws_smithy",
    "aws_sdk_",
    "aws_config",
    "hyper",
    "h2",
    "reqwest",
    "rustls",
];

/// False for debug and trace events of libraries that may log request or response bodies.
pub fn is_secret_safe(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO
        || !BODY_LOGGING_TARGETS
            .iter()
            .any(|t| meta.target().starts_with(t))
}

fn env_filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

pub fn init(json: bool) {
    let filter = env_filter("info");
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let layer = if json {
        fmt.json().without_time().boxed()
    } else {
        fmt.compact().boxed()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(
            layer
                .with_filter(filter)
                .with_filter(FilterFn::new(is_secret_safe)),
        )
        .try_init();
}

/// The production subscriber writing to `writer` at `level_filter` (tests capture logs with it).
pub fn init_with_writer<W>(writer: W, level_filter: &str)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(writer);
    let _ = tracing_subscriber::registry()
        .with(
            layer
                .with_filter(EnvFilter::new(level_filter))
                .with_filter(FilterFn::new(is_secret_safe)),
        )
        .try_init();
}
