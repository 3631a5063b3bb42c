//! Embedded adapters: the whole system on one machine, durable, no cloud.

pub mod blobs;
mod files;
pub mod outbox;
pub mod scheduler;
mod spool;
pub mod sqlite;

pub use blobs::FsBlobs;
pub use outbox::OutboxMailer;
pub use scheduler::SqliteScheduler;
pub use sqlite::SqliteStore;
