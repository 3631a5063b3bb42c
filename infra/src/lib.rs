//! Adapters for Portaal's ports: `embedded` (SQLite, files, `.eml` outbox, timer) and `aws`
//! (DynamoDB, S3, SES v2, EventBridge Scheduler), typed configuration and telemetry.

pub mod adapters;
pub mod aws;
pub mod clamd;
pub mod config;
pub mod download;
pub mod embedded;
pub mod mail;
pub mod oidc;
pub mod system;
pub mod telemetry;
pub mod webhook;

pub use config::{Backend, Config};
pub use system::{ApiAuth, System};
