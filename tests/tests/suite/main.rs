//! Every integration test in one binary: one link of the AWS SDK instead of one per file, which
//! on a small machine is most of a test build. Each module is one area; run one with
//! `cargo test -p portaal-tests --test suite -- flow::`. Only `logs` stays a binary of its own: it
//! installs the process's log subscriber.

mod architecture;
mod attack;
mod aws_counts;
mod aws_dynamo;
mod aws_s3;
mod aws_ses_scheduler;
mod casetypes;
mod contract_embedded;
mod edge;
mod events;
mod flow;
mod history;
mod mail;
mod openapi;
mod outbox;
mod parts;
mod reminders;
mod retention;
mod scale;
mod security;
mod staff;
mod staff_admin;
mod staff_handler;
mod webhooks;
