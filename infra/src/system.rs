//! Assembles the use cases with the adapters the configuration chooses.

use std::sync::Arc;

use portaal_core::Portaal;
use portaal_core::ports::{Blobs, Clock, IndexOnlyQueue, Mailer, Scheduler, Store, SystemClock};
use portaal_core::usecases::outbox::Outbox;
use portaal_core::usecases::webhooks::Webhooks;

use crate::webhook::HttpHookSender;
use rand::RngCore;

pub use crate::adapters::{Adapters, BuildError};
use crate::config::{Backend, Config, Secret};
use crate::embedded::{FsBlobs, OutboxMailer, SqliteScheduler, SqliteStore};

/// How the case-system API authenticates.
#[derive(Clone, Debug)]
pub enum ApiAuth {
    /// The local server: `Authorization: Bearer` with the case system's key.
    Bearer(Secret),
    /// Behind API Gateway: its AWS_IAM authoriser checked the SigV4 signature already; the
    /// caller's ARN comes with the request.
    GatewayIam,
}

impl ApiAuth {
    /// The bearer key, where there is one.
    pub fn bearer_key(&self) -> Option<&str> {
        match self {
            ApiAuth::Bearer(key) => Some(key.expose()),
            ApiAuth::GatewayIam => None,
        }
    }
}

/// The embedded adapters the local server also serves routes for (blobs, `/dev/mail`, timer).
#[derive(Clone)]
pub struct Embedded {
    pub blobs: Arc<FsBlobs>,
    /// The `.eml` outbox `/dev/mail` shows (the mailer unless `PORTAAL_SMTP_URL` is set).
    pub mailer: Arc<OutboxMailer>,
    pub scheduler: Arc<SqliteScheduler>,
}

#[derive(Clone)]
pub struct System {
    pub config: Config,
    /// The adapters behind the use cases, for tests and tools.
    pub store: Arc<dyn Store>,
    pub blobs: Arc<dyn Blobs>,
    pub mailer: Arc<dyn Mailer>,
    pub scheduler: Arc<dyn Scheduler>,
    pub portaal: Portaal,
    pub outbox: Outbox,
    /// Sequences events and delivers webhooks.
    pub webhooks: Webhooks,
    /// Present in embedded mode only.
    pub embedded: Option<Embedded>,
    /// How the case-system API knows its caller.
    pub api_auth: ApiAuth,
    /// This start made the key (first start without `PORTAAL_API_KEY`): the banner shows it once.
    pub api_key_generated: bool,
    /// Origin browsers upload to when it is not the portal's own (S3), for the page's CSP.
    pub upload_origin: Option<String>,
    /// SDK calls per operation (AWS only).
    pub calls: Option<crate::aws::metrics::CallCounter>,
}

/// Reads a secret kept in the data directory, creating it on first start (mode 0600).
fn persistent_secret(
    dir: &std::path::Path,
    name: &str,
    make: impl FnOnce() -> String,
) -> std::io::Result<String> {
    persistent_secret_created(dir, name, make).map(|(value, _)| value)
}

/// The secret, and whether this start created it.
fn persistent_secret_created(
    dir: &std::path::Path,
    name: &str,
    make: impl FnOnce() -> String,
) -> std::io::Result<(String, bool)> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => Ok((s.trim().to_owned(), false)),
        _ => {
            let value = make();
            std::fs::write(&path, &value)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok((value, true))
        }
    }
}

/// A fresh bearer key, for a server that has nowhere to keep one.
pub fn random_key() -> String {
    random_hex(24)
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

impl System {
    /// The use cases over a backend's adapters; the backend fills in what is its own.
    pub(crate) fn assemble(config: Config, adapters: Adapters) -> Result<Self, BuildError> {
        let Adapters {
            store,
            blobs,
            mailer,
            scheduler,
            hook_queue,
        } = adapters;
        let settings = config.settings();
        let sender = Arc::new(HttpHookSender::new(config.webhook_ca_file.as_deref())?);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut portaal = Portaal::new(
            store.clone(),
            blobs.clone(),
            scheduler.clone(),
            clock.clone(),
            settings.clone(),
        );
        if let crate::config::ScannerChoice::Clamd(address) = &config.scanner {
            portaal = portaal.with_scanner(Arc::new(crate::clamd::Clamd::new(address.clone())));
        }
        let outbox = Outbox::new(store.clone(), mailer.clone(), clock.clone())
            .with_link_key(settings.link_key.clone())
            .with_retry_schedule(config.mail_retry.clone())
            .with_org_name(&settings.org_name);
        let webhooks = Webhooks::new(store.clone(), sender, hook_queue, clock, &settings);
        Ok(Self {
            config,
            store,
            blobs,
            mailer,
            scheduler,
            portaal,
            outbox,
            webhooks,
            embedded: None,
            api_auth: ApiAuth::GatewayIam,
            api_key_generated: false,
            upload_origin: None,
            calls: None,
        })
    }

    /// Every use case on `clock`: tests move time through it (the scheduler's timer keeps the
    /// machine's clock; tests run due jobs themselves).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.portaal = self.portaal.with_clock(clock.clone());
        self.outbox = self.outbox.with_clock(clock.clone());
        self.webhooks = self.webhooks.with_clock(clock);
        self
    }

    pub async fn build(config: Config) -> Result<Self, BuildError> {
        match config.backend {
            Backend::Embedded => Self::embedded(config),
            Backend::Aws => Self::on_aws(config).await,
        }
    }

    async fn on_aws(config: Config) -> Result<Self, BuildError> {
        let aws = crate::aws::build(&config).await?;
        // The local server with AWS adapters still wants a key; behind API Gateway, main clears
        // it (IAM authorises there).
        let generated = config.api_key.is_none();
        let api_key = config
            .api_key
            .clone()
            .unwrap_or_else(|| Secret::new(random_key()));
        let mut system = Self::assemble(config, aws.adapters)?;
        system.api_key_generated = generated;
        system.api_auth = ApiAuth::Bearer(api_key);
        system.upload_origin = Some(aws.upload_origin);
        system.calls = Some(aws.calls);
        Ok(system)
    }

    fn embedded(mut config: Config) -> Result<Self, BuildError> {
        let dir = &config.data_dir.clone();
        let data_err = |source| BuildError::DataDir {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(data_err)?;
        // Documents, mail and keys are for the server's user only (also in an older directory).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(data_err)?;
        }
        let signing_key =
            persistent_secret(dir, "signing.key", || random_hex(32)).map_err(data_err)?;
        let (api_key, generated) = match &config.api_key {
            Some(k) => (k.clone(), false),
            None => {
                let (key, made) = persistent_secret_created(dir, "api.key", || random_hex(24))
                    .map_err(data_err)?;
                (Secret::new(key), made)
            }
        };
        if config.link_key.is_none() {
            config.link_key = Some(Secret::new(
                persistent_secret(dir, "link.key", || random_hex(32)).map_err(data_err)?,
            ));
        }
        if config.records_key.is_none() {
            config.records_key = Some(Secret::new(
                persistent_secret(dir, "records.key", || random_hex(32)).map_err(data_err)?,
            ));
        }
        let db = dir.join("portaal.sqlite3");
        let store = Arc::new(SqliteStore::open(&db).map_err(|e| BuildError::Store(e.to_string()))?);
        let scheduler =
            Arc::new(SqliteScheduler::open(&db).map_err(|e| BuildError::Store(e.to_string()))?);
        let blobs = Arc::new(
            FsBlobs::new(
                dir.join("blobs"),
                &config.public_url,
                signing_key.into_bytes(),
            )
            .map_err(data_err)?,
        );
        let sender = config.sender()?;
        let outbox =
            Arc::new(OutboxMailer::new(dir.join("outbox"), sender.clone()).map_err(data_err)?);
        // SMTP when configured (on premises); otherwise the .eml outbox (development).
        let mailer: Arc<dyn Mailer> = match &config.smtp_url {
            Some(url) => Arc::new(
                crate::mail::smtp::SmtpMailer::new(url.expose(), sender).map_err(|problem| {
                    BuildError::Config(crate::config::ConfigError {
                        name: "PORTAAL_SMTP_URL",
                        problem,
                    })
                })?,
            ),
            None => outbox.clone(),
        };
        let mut system = Self::assemble(
            config,
            Adapters {
                store,
                blobs: blobs.clone(),
                mailer,
                scheduler: scheduler.clone(),
                hook_queue: Arc::new(IndexOnlyQueue),
            },
        )?;
        // Sent mail kept as files goes with its dossier.
        system.portaal = system.portaal.with_sent_copies(outbox.clone());
        system.embedded = Some(Embedded {
            blobs,
            mailer: outbox,
            scheduler,
        });
        system.api_auth = ApiAuth::Bearer(api_key);
        system.api_key_generated = generated;
        Ok(system)
    }
}
