//! Helpers for the end-to-end tests: spawn the app on port 0 and drive it over HTTP exactly as
//! API.md describes. `PORTAAL_BACKEND=aws` in the environment runs the same tests on AWS adapters.
//!
//! - [`app`]: a test app's settings and spawning it, on either backend;
//! - [`http`]: driving it over HTTP (the API, the portal link, uploads, mails);
//! - [`fixtures`]: temporary directories, unique ids, test bytes and bodies, a settable clock;
//! - [`contract`]: the port contract suites, one test per behaviour per adapter;
//! - [`openapi`], [`receiver`], [`smtp`]: the OpenAPI check, a webhook receiver, an SMTP sink.

pub mod app;
pub mod contract;
pub mod fixtures;
pub mod http;
pub mod oidc;
pub mod openapi;
pub mod receiver;
pub mod smtp;

pub use app::{
    TEST_API_KEY, TestApp, create_emulator_table, embedded_config, emulator_s3_client, own_table,
    require_emulators, run_bench, settle, spawn_app, spawn_aws_app, spawn_for_base,
    spawn_with_clock, spawn_with_settings, test_config,
};
pub use fixtures::{
    ManualClock, TempDir, case_id, dossier_body, embedded_portaal, files_under, move_due_date, pdf,
    pseudo_random, request_to_vergunningen, sha256_hex,
};
pub use http::{Upload, json_answer, problem};
