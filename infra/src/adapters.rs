//! What a backend hands the system: its adapters, or why it could not make them.

use std::sync::Arc;

use portaal_core::ports::{Blobs, HookQueue, Mailer, Scheduler, Store};

/// The adapters one backend provides.
pub struct Adapters {
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn Blobs>,
    pub mailer: Arc<dyn Mailer>,
    pub scheduler: Arc<dyn Scheduler>,
    pub hook_queue: Arc<dyn HookQueue>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("opening the database: {0}")]
    Store(String),
    #[error("AWS: {0}")]
    Aws(String),
    #[error("{0}")]
    Webhooks(#[from] crate::webhook::HookClientError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
}
