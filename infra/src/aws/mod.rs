//! AWS adapters behind the same ports as the embedded ones. Endpoints come from the SDK's standard
//! variables (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, …), so emulators need no code path of their own.

pub mod dynamo;
pub mod item;
pub mod lazy;
pub mod metrics;
pub mod s3;
pub mod scheduler;
pub mod ses;
pub mod sqs;
pub mod stream;

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_smithy_async::rt::sleep::default_async_sleep;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::sdk_config::{
    RetryConfig, SharedCredentialsProvider, SharedTimeSource, TimeoutConfig,
};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use crate::adapters::{Adapters, BuildError};
use crate::config::Config;
use dynamo::DynamoStore;
use lazy::LazyClient;
use metrics::CallCounter;
use s3::S3Blobs;
use scheduler::{EventBridgeScheduler, Targets};
use ses::SesMailer;

/// An endpoint override for S3, as the SDK reads it (emulators).
fn s3_endpoint_override() -> Option<String> {
    env_value("AWS_ENDPOINT_URL_S3").or_else(|| env_value("AWS_ENDPOINT_URL"))
}

/// The origin browsers PUT uploads to, for the page's `connect-src`: the bucket's
/// virtual-hosted endpoint, or the emulator's when an endpoint override is set.
fn upload_origin(bucket: &str, region: &str, endpoint_override: Option<&str>) -> String {
    match endpoint_override {
        Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
        None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
    }
}

/// The AWS backend: its adapters, the SDK call counter, and where browsers upload.
pub struct AwsBackend {
    pub adapters: Adapters,
    pub calls: CallCounter,
    pub upload_origin: String,
}

/// The roots AWS service endpoints chain to: Amazon Root CA 1–4 and Starfield Services Root CA G2,
/// which cross-signs them (every AWS endpoint, S3 included since 2022, has an Amazon Trust
/// Services certificate).
const AWS_TRUST_ROOTS_PEM: &str = include_str!("aws-trust-roots.pem");

/// Whether the system's roots are named explicitly (`SSL_CERT_FILE`/`SSL_CERT_DIR`), e.g. for an
/// HTTPS emulator or a TLS-inspecting proxy: those are then trusted as well.
fn system_roots_named() -> bool {
    ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// The SDK's HTTPS client (rustls with ring) trusting the AWS roots. The SDK's default client
/// reads and parses the whole system store (here 146 certificates in the bundle plus 292 files in
/// /etc/ssl/certs) once per client at start: about 6 ms of the Lambda's init for five clients.
pub(crate) fn https_client(with_system_roots: bool) -> Result<SharedHttpClient, BuildError> {
    let trust = TrustStore::empty()
        .with_native_roots(with_system_roots)
        .with_pem_certificate(AWS_TRUST_ROOTS_PEM.as_bytes());
    let tls_context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| BuildError::Aws(format!("TLS settings: {e}")))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::rustls(CryptoMode::Ring))
        .tls_context(tls_context)
        .build_https())
}

fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Whether credentials are in the environment (always on Lambda).
fn credentials_in_env() -> bool {
    env_value("AWS_ACCESS_KEY_ID").is_some()
        && (env_value("AWS_SECRET_ACCESS_KEY").is_some()
            || env_value("SECRET_ACCESS_KEY").is_some())
}

/// The SDK's settings from the environment alone, when it holds credentials and a region (always
/// on Lambda). `aws_config`'s loader would ask a dozen providers that read profile files and
/// build STS, SSO, container and IMDS clients a Lambda never asks (0.15 ms of a cold start).
/// Elsewhere (a profile, SSO, an instance role) the loader runs.
fn sdk_config_from_env(http_client: SharedHttpClient) -> Option<SdkConfig> {
    if !credentials_in_env() || env_value("AWS_PROFILE").is_some() {
        return None;
    }
    let region = env_value("AWS_REGION").or_else(|| env_value("AWS_DEFAULT_REGION"))?;
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(http_client)
        .sleep_impl(default_async_sleep()?)
        .time_source(SharedTimeSource::default())
        .retry_config(RetryConfig::standard())
        // The loader's default: a connection that takes longer is retried.
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_millis(3100))
                .build(),
        )
        .service_config(EndpointsFromEnv);
    if let Some(url) = env_value("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(url);
    }
    Some(config.build())
}

/// A service's own endpoint variable (`AWS_ENDPOINT_URL_S3`, `…_DYNAMODB`), as the loader reads
/// it: emulators name one per service.
#[derive(Debug)]
struct EndpointsFromEnv;

impl LoadServiceConfig for EndpointsFromEnv {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        env_value(&service_variable(&key))
    }
}

/// `AWS_ENDPOINT_URL` of the service `SESv2` is `AWS_ENDPOINT_URL_SESV2`.
fn service_variable(key: &ServiceConfigKey<'_>) -> String {
    let service = key.service_id().to_uppercase().replace([' ', '-'], "_");
    format!("{}_{service}", key.env())
}

pub async fn build(config: &Config) -> Result<AwsBackend, BuildError> {
    let http_client = https_client(system_roots_named())?;
    let sdk = match sdk_config_from_env(http_client.clone()) {
        Some(sdk) => sdk,
        None => {
            aws_config::defaults(BehaviorVersion::latest())
                .http_client(http_client)
                .load()
                .await
        }
    };
    // Lambda always sets AWS_REGION; elsewhere a missing region must not silently pick one.
    let region = sdk
        .region()
        .map(|r| r.as_ref().to_owned())
        .ok_or_else(|| BuildError::Aws("no AWS region: set AWS_REGION".into()))?;
    // Counts every SDK call per operation: tests assert reads per request and bytes never
    // passing through (no GetObject/PutObject by the application).
    let calls = CallCounter::new();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    // Built at first use: the portal function never sends mail, a page view schedules nothing
    // and signs no URL; each client built at init costs its runtime plugins and endpoint
    // resolver (which parses the partition table).
    let s3 = LazyClient::new({
        let (sdk, calls) = (sdk.clone(), calls.clone());
        let path_style = s3_endpoint_override().is_some();
        move || {
            aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&sdk)
                    // Presigned PUTs carry only the checksum the uploader announced; a browser
                    // cannot add the SDK's default CRC32.
                    .request_checksum_calculation(
                        aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
                    )
                    // Emulators serve path-style only; AWS itself keeps virtual-hosted style.
                    .force_path_style(path_style)
                    .interceptor(calls.clone())
                    .build(),
            )
        }
    });
    let ses = LazyClient::new({
        let (sdk, calls) = (sdk.clone(), calls.clone());
        move || {
            aws_sdk_sesv2::Client::from_conf(
                aws_sdk_sesv2::config::Builder::from(&sdk)
                    .interceptor(calls.clone())
                    .build(),
            )
        }
    });
    let scheduler_client = LazyClient::new({
        let (sdk, calls) = (sdk.clone(), calls.clone());
        move || {
            aws_sdk_scheduler::Client::from_conf(
                aws_sdk_scheduler::config::Builder::from(&sdk)
                    .interceptor(calls.clone())
                    .build(),
            )
        }
    });

    // Only functions that queue webhook attempts name a queue; without one the index is the queue.
    let hook_queue: Arc<dyn portaal_core::ports::HookQueue> = match &config.webhook_queue_url {
        Some(url) => Arc::new(sqs::SqsHookQueue::new(
            aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(&sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
            url.clone(),
        )),
        None => Arc::new(portaal_core::ports::IndexOnlyQueue),
    };
    let store = Arc::new(DynamoStore::new(dynamodb, config.table.clone()));
    let blobs = Arc::new(S3Blobs::lazy(s3, config.bucket.clone()));
    let mailer = Arc::new(SesMailer::lazy(
        ses,
        config.sender()?.header_value(),
        config.ses_configuration_set.clone(),
    ));
    let scheduler = Arc::new(EventBridgeScheduler::lazy(
        scheduler_client,
        config.schedule_group.clone(),
        Targets {
            role_arn: config.scheduler_role_arn.clone(),
            reminder_arn: config.reminder_arn.clone(),
            purge_arn: config.purge_arn.clone(),
            dead_letter_arn: config.schedule_dead_letter_arn.clone(),
        },
    ));
    let origin = upload_origin(&config.bucket, &region, s3_endpoint_override().as_deref());
    Ok(AwsBackend {
        adapters: Adapters {
            store,
            blobs,
            mailer,
            scheduler,
            hook_queue,
        },
        calls,
        upload_origin: origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_reads_its_own_endpoint_variable() {
        for (service, variable) in [
            ("DynamoDB", "AWS_ENDPOINT_URL_DYNAMODB"),
            ("S3", "AWS_ENDPOINT_URL_S3"),
            ("SESv2", "AWS_ENDPOINT_URL_SESV2"),
            ("Elastic Beanstalk", "AWS_ENDPOINT_URL_ELASTIC_BEANSTALK"),
        ] {
            let key = ServiceConfigKey::builder()
                .service_id(service)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .unwrap();
            assert_eq!(service_variable(&key), variable);
        }
    }
    use portaal_core::ports::{Blobs, DownloadSpec};

    #[test]
    fn browsers_upload_to_the_buckets_own_host_unless_an_emulator_is_named() {
        assert_eq!(
            upload_origin("portaal-docs", "eu-central-1", None),
            "https://portaal-docs.s3.eu-central-1.amazonaws.com"
        );
        assert_eq!(
            upload_origin(
                "portaal-docs",
                "eu-central-1",
                Some("http://127.0.0.1:9000/")
            ),
            "http://127.0.0.1:9000"
        );
    }

    #[test]
    fn the_aws_roots_are_five_certificates_a_client_accepts() {
        assert_eq!(
            AWS_TRUST_ROOTS_PEM
                .matches("-----BEGIN CERTIFICATE-----")
                .count(),
            5
        );
        // Building a client loads its connector, which parses every root (it panics on a bad one).
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("eu-central-1"))
            .http_client(https_client(false).unwrap())
            .build();
        let _ = aws_sdk_s3::Client::from_conf(config);
    }

    /// A client as production builds it: a region, credentials, no endpoint override.
    fn production_s3() -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("eu-central-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "AKIDEXAMPLE",
                "secret",
                None,
                None,
                "test",
            ))
            .force_path_style(false)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    #[tokio::test]
    async fn production_download_urls_are_virtual_hosted_and_match_the_csp_origin() {
        let blobs = S3Blobs::new(production_s3(), "portaal-docs");
        let url = blobs
            .download_url(DownloadSpec {
                key: "dossiers/BZ-1/doc",
                filename: "besluit.pdf",
                content_type: "application/pdf",
                inline: false,
                ttl: std::time::Duration::from_secs(300),
            })
            .await
            .unwrap();
        let origin = upload_origin("portaal-docs", "eu-central-1", None);
        assert!(
            url.starts_with(&format!("{origin}/dossiers/BZ-1/doc?")),
            "{url}"
        );
    }
}
