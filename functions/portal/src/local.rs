//! The local server: the same Router, plus the in-process work that Lambdas do on AWS (sending
//! queued mail, running due reminders and destructions).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use portaal_core::ports::Job;
use portaal_core::usecases::dossier::{DecisionInput, DossierInput, PersonInput, SubmitterInput};
use portaal_core::usecases::request::RequestInput;
use portaal_infra::System;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::{AppState, app};

/// A running local server (tests spawn it on port 0).
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    pub handle: tokio::task::JoinHandle<()>,
}

/// Binds and serves in the background; also starts the timer.
pub async fn spawn(system: System, listener: TcpListener) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let state = AppState::new(system);
    let router = app(state.clone());
    let limits = state.system.config.limits.clone();
    if state.system.config.worker {
        tokio::spawn(timer(state.clone()));
        tokio::spawn(webhook_sender(state.clone()));
        tokio::spawn(scanner(state.clone()));
    }
    let handle = tokio::spawn(async move {
        crate::listener::serve(listener, router, limits, shutdown()).await;
    });
    Ok(Running {
        addr,
        state,
        handle,
    })
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Sends queued mail and runs due schedules: every tick, and at once after a change.
async fn timer(state: AppState) {
    let tick = state.system.config.tick;
    loop {
        tokio::select! {
            _ = state.outbox_kick.notified() => {}
            _ = tokio::time::sleep(tick) => {}
        }
        if run_due_work(&state.system).await > 0 {
            // Sent mail and jobs that ran may have written events.
            state.hook_kick.notify_one();
        }
    }
}

/// Scans sent documents with the configured in-process scanner (clamd), apart from the mail
/// timer: a large file takes a while and must not hold up mail. Woken after changes; the tick
/// retries what waited for a scanner that was down.
async fn scanner(state: AppState) {
    if state.system.config.scanner == portaal_infra::config::ScannerChoice::None {
        return;
    }
    let tick = state.system.config.tick.max(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = state.scan_kick.notified() => {}
            _ = tokio::time::sleep(tick) => {}
        }
        match state.system.portaal.scan_pending().await {
            Ok(0) => {}
            // A quarantine queues mail and an event.
            Ok(_) => {
                state.outbox_kick.notify_one();
                state.hook_kick.notify_one();
            }
            Err(e) => tracing::error!(error = %e, "scanning sent documents failed"),
        }
    }
}

/// At most this many webhook attempts run at once; the rest wait for a later round.
const WEBHOOKS_IN_FLIGHT: usize = 32;
/// And at most this many per subscription, so a receiver that never answers cannot take them all.
const WEBHOOKS_IN_FLIGHT_PER_SUBSCRIPTION: usize = 4;

type RunningPerSubscription = Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>;

/// Attempts running now: all, and per subscription.
struct InFlight {
    all: Arc<Semaphore>,
    per_subscription: RunningPerSubscription,
}

impl Default for InFlight {
    fn default() -> Self {
        Self {
            all: Arc::new(Semaphore::new(WEBHOOKS_IN_FLIGHT)),
            per_subscription: Arc::default(),
        }
    }
}

impl InFlight {
    /// Room for one more attempt of this subscription, if both limits allow it now.
    fn try_start(&self, subscription: String) -> Option<Slot> {
        let permit = self.all.clone().try_acquire_owned().ok()?;
        let mut running = self.per_subscription.lock().expect("in-flight lock");
        let n = running.entry(subscription.clone()).or_default();
        if *n >= WEBHOOKS_IN_FLIGHT_PER_SUBSCRIPTION {
            return None;
        }
        *n += 1;
        Some(Slot {
            _permit: permit,
            subscription,
            per_subscription: self.per_subscription.clone(),
        })
    }
}

/// One running attempt; dropping it frees its room.
struct Slot {
    _permit: tokio::sync::OwnedSemaphorePermit,
    subscription: String,
    per_subscription: RunningPerSubscription,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.per_subscription.lock().expect("in-flight lock");
        if let Some(n) = running.get_mut(&self.subscription) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.subscription);
            }
        }
    }
}

/// Sequences new events and makes due webhook attempts, apart from the mail timer, each attempt
/// its own task: a receiver that never answers holds up nothing but its own attempt.
async fn webhook_sender(state: AppState) {
    // Changes wake it at once; polling only finds retries that came due.
    let tick = state.system.config.tick.max(Duration::from_secs(1));
    let in_flight = InFlight::default();
    let mut rounds: u64 = 0;
    loop {
        tokio::select! {
            _ = state.hook_kick.notified() => {}
            _ = tokio::time::sleep(tick) => {}
        }
        rounds += 1;
        // The embedded store has no TTL: drop expired events now and then.
        if rounds % 600 == 1 && state.system.embedded.is_some() {
            if let Err(e) = state.system.webhooks.expire(500).await {
                tracing::error!(error = %e, "expiring feed events failed");
            }
        }
        run_webhook_round(&state.system, &in_flight).await;
    }
}

/// One round: sequence pending events, then start the due attempts (not waiting for them).
async fn run_webhook_round(system: &System, in_flight: &InFlight) {
    if let Err(e) = system.webhooks.sequence_pending(500).await {
        tracing::error!(error = %e, "sequencing events failed");
    }
    // More than can run: attempts of a subscription at its limit leave room for the others.
    let due = match system.webhooks.due(8 * WEBHOOKS_IN_FLIGHT).await {
        Ok(due) => due,
        Err(e) => {
            tracing::error!(error = %e, "reading due webhooks failed");
            return;
        }
    };
    for key in due {
        let Some(slot) = in_flight.try_start(key.subscription_id.to_string()) else {
            continue;
        };
        let webhooks = system.webhooks.clone();
        tokio::spawn(async move {
            if let Err(e) = webhooks.attempt(&key).await {
                tracing::error!(error = %e, "webhook attempt failed");
            }
            drop(slot);
        });
    }
}

/// One round of background work. Public so tests can drive it without waiting for a tick.
/// Answers how many jobs ran and mails were sent.
pub async fn run_due_work(system: &System) -> usize {
    // Jobs first: the mail they queue goes out in the same round.
    let mut done = 0;
    if let Some(embedded) = &system.embedded {
        done += run_due_jobs(system, embedded).await;
    }
    match system.outbox.sweep(100).await {
        Ok(sent) => done += sent,
        Err(e) => tracing::error!(error = %e, "outbox sweep failed"),
    }
    // No TTL in the embedded store: ended staff sessions are deleted here.
    if system.embedded.is_some() {
        match system.portaal.sweep_staff_sessions().await {
            Ok(0) => {}
            Ok(swept) => tracing::info!(swept, "ended staff sessions deleted"),
            Err(e) => tracing::error!(error = %e, "sweeping staff sessions failed"),
        }
    }
    done
}

async fn run_due_jobs(system: &System, embedded: &portaal_infra::system::Embedded) -> usize {
    let due = match embedded.scheduler.due(chrono::Utc::now()).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "reading schedules failed");
            return 0;
        }
    };
    let ran = due.len();
    for ran in due {
        let job = &ran.job;
        match system.portaal.run_job(job).await {
            Ok(outcome) => {
                tracing::info!(job = job_kind(job), ?outcome, "scheduled job ran");
                if let Err(e) = embedded.scheduler.complete(&ran).await {
                    tracing::error!(error = %e, "schedule not removed");
                }
            }
            Err(e) => {
                tracing::error!(job = job_kind(job), error = %e, "scheduled job failed; retried next tick")
            }
        }
    }
    ran
}

fn job_kind(job: &Job) -> &'static str {
    match job {
        Job::Reminder { .. } => "reminder",
        Job::Purge { .. } => "purge",
        Job::Overdue { .. } => "overdue",
    }
}

/// `cargo run -- --demo`: a dossier and a request to click through.
pub async fn create_demo(system: &System) -> Result<String, portaal_core::Error> {
    use portaal_core::domain::CaseId;
    let case = CaseId::parse(&format!(
        "DEMO-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    ))?;
    let input = DossierInput {
        case_type: "bezwaar".into(),
        title: "Bezwaar tegen weigering omgevingsvergunning Dorpsstraat 12".into(),
        remarks: "Graag ook de adviezen van de welstandscommissie meesturen.".into(),
        submitter: SubmitterInput {
            name: "J. de Vries".into(),
            email: None,
            address: Some("Dorpsstraat 12, Ons Dorp".into()),
        },
        decision: Some(DecisionInput {
            reference: "OV-2026-0815".into(),
            date: (chrono::Utc::now().date_naive() - chrono::Duration::days(30))
                .format("%Y-%m-%d")
                .to_string(),
            subject: "Weigering omgevingsvergunning".into(),
            department: "Vergunningen".into(),
        }),
        handler: PersonInput {
            name: "M. Jansen".into(),
            email: "m.jansen@example.nl".into(),
        },
    };
    system.portaal.put_dossier(&case, &input).await?;
    let request = system
        .portaal
        .create_request(
            &case,
            &RequestInput {
                department: "Vergunningen".into(),
                to: vec!["vergunningen@example.nl".into()],
                due: None,
                message: "Het gaat om het volledige dossier inclusief adviezen.".into(),
                language: None,
            },
        )
        .await?;
    Ok(request.portal_url.unwrap_or_default())
}

pub fn banner(system: &System, addr: SocketAddr, demo_link: Option<&str>) -> String {
    let base = &system.config.public_url;
    let mut s = format!(
        "\nPortaal is running ({} backend) on http://{addr}\n\n  Portal:   {base}/\n  API:      {base}/api/v1  (OpenAPI: {base}/api/v1/openapi.json)\n",
        match system.config.backend {
            portaal_infra::Backend::Embedded => "embedded",
            portaal_infra::Backend::Aws => "aws",
        }
    );
    // Shown once, when this start made it; never in a log.
    match (system.api_auth.bearer_key(), system.api_key_generated) {
        (Some(key), true) => {
            s.push_str(&format!("  API key:  {key}\n            (curl -H 'Authorization: Bearer {key}' {base}/api/v1/case-types)\n"));
            if system.embedded.is_some() {
                s.push_str(&format!(
                    "            (shown this once; kept in {})\n",
                    system.config.data_dir.join("api.key").display()
                ));
            }
        }
        (Some(_), false) if system.config.api_key.is_some() => {
            s.push_str("  API key:  the one in PORTAAL_API_KEY\n");
        }
        (Some(_), false) => {
            s.push_str(&format!(
                "  API key:  in {}\n",
                system.config.data_dir.join("api.key").display()
            ));
        }
        (None, _) => {}
    }
    if system.embedded.is_some() && system.config.dev_routes {
        s.push_str(&format!("  Outbox:   {base}/dev/mail\n"));
    }
    if system.config.oidc.is_some() {
        s.push_str(&format!("  Staff:    {base}/staff\n"));
    } else if system.config.staff_dev_login() {
        s.push_str(&format!(
            "  Staff:    {base}/staff/dev-login  (developer sign-in; no PORTAAL_OIDC_ISSUER)\n"
        ));
    }
    if system.embedded.is_some() {
        s.push_str(&format!(
            "  Data:     {}\n",
            system.config.data_dir.display()
        ));
    }
    if let Some(link) = demo_link {
        s.push_str(&format!(
            "\n  Demo link (as mailed to the department): {link}\n"
        ));
    }
    s.push_str("\nStop with Ctrl+C.\n");
    s
}

/// Waits until the server task ends (Ctrl+C).
pub async fn wait(running: Running) {
    let _ = running.handle.await;
    tokio::time::sleep(Duration::from_millis(50)).await;
}
