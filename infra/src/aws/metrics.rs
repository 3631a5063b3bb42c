//! Counting AWS calls per operation, for the acceptance criteria: opening the portal page costs at
//! most 2 DynamoDB calls, confirming a delivery is one `TransactWriteItems`, and no document byte
//! passes through a Lambda (our code makes no S3 `GetObject`/`PutObject` call).
//!
//! Attach one [`CallCounter`] to any SDK client config (DynamoDB, S3, SES v2, Scheduler):
//! `aws_sdk_dynamodb::config::Builder::from(&sdk_config).interceptor(counter.clone())`.
//! It counts once per operation invocation, not per retry attempt.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// Calls per "Service.Operation" (e.g. "DynamoDB.GetItem"). Clones share the counts.
#[derive(Clone, Default, Debug)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    /// Per service: calls under way now, and the most there were at once since the last reset.
    in_flight: Arc<Mutex<BTreeMap<String, (u64, u64)>>>,
}

impl CallCounter {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, u64>> {
        // A panic while holding the lock cannot leave the map inconsistent: keep counting.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one call of `service.operation` (what the interceptor does per invocation).
    pub fn record(&self, service: &str, operation: &str) {
        *self
            .lock()
            .entry(format!("{service}.{operation}"))
            .or_default() += 1;
    }

    /// The calls per operation (the byte sums of [`CallCounter::bytes`] are not calls).
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.lock()
            .iter()
            .filter(|(k, _)| !k.starts_with("bytes:"))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }

    pub fn reset(&self) {
        self.lock().clear();
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        in_flight.retain(|_, (now, _)| *now > 0);
        in_flight.values_mut().for_each(|(now, peak)| *peak = *now);
    }

    /// The most calls of one service (e.g. "S3") that were under way at once since the last
    /// reset: how far a use case overlaps its calls.
    pub fn peak_in_flight(&self, service: &str) -> u64 {
        let in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        in_flight.get(service).map_or(0, |(_, peak)| *peak)
    }

    fn started(&self, service: &str) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let (now, peak) = in_flight.entry(service.to_owned()).or_default();
        *now += 1;
        *peak = (*peak).max(*now);
    }

    fn ended(&self, service: &str) {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((now, _)) = in_flight.get_mut(service) {
            *now = now.saturating_sub(1);
        }
    }

    /// The calls of one service (e.g. "DynamoDB", "S3", "SESv2", "Scheduler").
    pub fn total(&self, service: &str) -> u64 {
        let prefix = format!("{service}.");
        self.lock()
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// The calls of one "Service.Operation".
    pub fn get(&self, operation: &str) -> u64 {
        self.lock().get(operation).copied().unwrap_or(0)
    }

    /// The response body bytes (`Content-Length`) of one "Service.Operation", summed over calls:
    /// what passed through the application.
    pub fn bytes(&self, operation: &str) -> u64 {
        self.get(&format!("bytes:{operation}"))
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "PortaalCallCounter"
    }

    /// Counts a call when its first attempt is about to go over the wire; retries count once.
    /// Presigning runs the same operation up to this point and then stops: its request carries
    /// the signature in the query string, never sent by us, so it is no call.
    /// `Metadata` is in the bag by now (on `read_before_execution` it is not yet).
    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let presigned = context.request().uri().contains("X-Amz-Signature=");
        if presigned || cfg.load::<AlreadyCounted>().is_some() {
            return Ok(());
        }
        match cfg.load::<Metadata>() {
            Some(meta) => {
                self.record(meta.service(), meta.name());
                self.started(meta.service());
            }
            None => self.record("unknown", "unknown"),
        }
        cfg.interceptor_state().store_put(AlreadyCounted);
        Ok(())
    }

    /// A counted call has ended, answered or not.
    fn read_after_execution(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<AlreadyCounted>().is_some() {
            if let Some(meta) = cfg.load::<Metadata>() {
                self.ended(meta.service());
            }
        }
        Ok(())
    }

    /// Adds each answer's body length under `bytes:Service.Operation` (not a call: `total`
    /// and `get` of the operation do not see it).
    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let length = context
            .response()
            .headers()
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        if let Some(meta) = cfg.load::<Metadata>() {
            *self
                .lock()
                .entry(format!("bytes:{}.{}", meta.service(), meta.name()))
                .or_default() += length;
        }
        Ok(())
    }
}

/// Marks an operation whose first attempt was counted.
#[derive(Debug, Clone)]
struct AlreadyCounted;

impl Storable for AlreadyCounted {
    type Storer = StoreReplace<Self>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, retry::RetryConfig};
    use std::time::Duration;

    /// Counts attempts, to prove the calls above were retried.
    #[derive(Debug, Default, Clone)]
    struct Attempts(Arc<Mutex<u64>>);

    impl Intercept for Attempts {
        fn name(&self) -> &'static str {
            "Attempts"
        }
        fn read_before_attempt(
            &self,
            _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
            _runtime_components: &RuntimeComponents,
            _cfg: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            *self.0.lock().unwrap() += 1;
            Ok(())
        }
    }

    /// A DynamoDB client whose endpoint refuses connections: every call fails, after retries.
    fn client(counter: &CallCounter, attempts: &Attempts) -> aws_sdk_dynamodb::Client {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            // The adapters' own HTTP client: the SDK crates come without a default one.
            .http_client(crate::aws::https_client(false).unwrap())
            .endpoint_url("http://127.0.0.1:1")
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .interceptor(counter.clone())
            .interceptor(attempts.clone())
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    #[tokio::test]
    async fn counts_each_operation_once_per_invocation() {
        let counter = CallCounter::default();
        let attempts = Attempts::default();
        let client = client(&counter, &attempts);
        for _ in 0..2 {
            let _ = client
                .get_item()
                .table_name("t")
                .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("a".into()))
                .send()
                .await;
        }
        let _ = client.list_tables().send().await;
        assert_eq!(
            counter.snapshot(),
            BTreeMap::from([
                ("DynamoDB.GetItem".to_owned(), 2),
                ("DynamoDB.ListTables".to_owned(), 1),
            ]),
            "retried attempts count once"
        );
        assert_eq!(
            *attempts.0.lock().unwrap(),
            9,
            "each call was tried 3 times"
        );
        assert_eq!(counter.total("DynamoDB"), 3);
        assert_eq!(counter.total("S3"), 0);
        assert_eq!(counter.get("DynamoDB.GetItem"), 2);
        counter.reset();
        assert!(counter.snapshot().is_empty());
    }
}
