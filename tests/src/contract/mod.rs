//! One contract suite per port, one test per behaviour: the embedded and the AWS adapters run the
//! same behaviours. Each port's macro expands, in the module that calls it, to one `#[tokio::test]`
//! per behaviour, named after it (`aws_dynamo::dynamo_store::query_by_prefix`). The macro's
//! argument makes a fresh adapter for each test, so the tests run in parallel; what it answers
//! besides the adapter is kept alive until the test ends (a temporary directory, a spawned app) and
//! may check something when dropped.
//!
//! - [`store`], tested by [`store_contract_tests!`](crate::store_contract_tests)
//! - [`blobs`], tested by [`blobs_contract_tests!`](crate::blobs_contract_tests)
//! - [`mailer`], tested by [`mailer_contract_tests!`](crate::mailer_contract_tests)
//! - [`scheduler`], tested by [`scheduler_contract_tests!`](crate::scheduler_contract_tests)

pub mod blobs;
pub mod mailer;
pub mod scheduler;
pub mod store;

use serde_json::Value;

pub use blobs::tamper;

/// The tests of one port's suite: one `#[tokio::test]` per behaviour, named after it. Each makes
/// its adapter with `$make` (an async closure), binds what that answers to `$bind` (kept until the
/// test ends) and calls `contract::$port::$behaviour` with the arguments `$args`.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    ($port:ident, $make:expr, $bind:pat => $args:tt, [$($behaviour:ident),+ $(,)?]) => {
        $(
            #[::tokio::test]
            async fn $behaviour() {
                let $bind = ($make)().await;
                $crate::contract::$port::$behaviour $args.await;
            }
        )+
    };
}

/// Unique per test, so tests sharing an emulator never collide.
pub(crate) fn unique(label: &str) -> String {
    crate::case_id(label)
}

/// Mails moto received through SES (under `ses.Message` of its data API).
pub async fn aws_sent_mails() -> Vec<Value> {
    let Ok(moto) = std::env::var("PORTAAL_MOTO_URL") else {
        return Vec::new();
    };
    let ses: Value = reqwest::get(format!("{moto}/portaal-test/sent-mail"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = Vec::new();
    for kind in ["Message", "RawMessage"] {
        if let Some(list) = ses[kind].as_array() {
            // `to` as the embedded outbox lists it, so tests read both alike.
            out.extend(list.iter().cloned().map(|mut m| {
                m["to"] = m["destinations"]["ToAddresses"].clone();
                m
            }));
        }
    }
    out
}
