//! The use cases, written once against the ports. The Lambdas and the local server only parse
//! their trigger, call one of these and map the answer.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};

use crate::casetype::CaseType;
use crate::domain::{CaseId, Email, Id};
use crate::error::{Error, Result};
use crate::mailtext::{self, Language, Vars};
use crate::model::{
    Actor, Dossier, Event, EventKind, LINK_PLACEHOLDER, Mail, MailKind, MailLink, Record, Request,
    keys,
};
use crate::ports::{Blobs, Clock, Scanner, Scheduler, Store, StoreError, Write};

use crate::localtime::mail_date;
use crate::partition::Partition;

#[derive(Clone, Debug)]
pub struct Settings {
    /// Base URL of the portal as link holders reach it, without a trailing slash.
    pub public_url: String,
    /// How long an upload URL is valid.
    pub upload_ttl: Duration,
    /// How long a download URL is valid.
    pub download_ttl: Duration,
    /// Seals link tokens so later mails can carry the link; without it they point at the
    /// request mail instead.
    pub link_key: Option<crate::sealing::LinkKey>,
    /// Keys destruction records' `case_ref` (`PORTAAL_RECORDS_KEY`).
    pub records_key: crate::sealing::RecordsKey,
    /// Signs list and feed cursors.
    pub cursor_key: crate::events::CursorKey,
    /// How long feed events (and their webhook state) are kept.
    pub event_retention: chrono::Duration,
    /// Plain-http webhook receivers beyond loopback (`PORTAAL_WEBHOOK_ALLOW_HTTP=on`).
    pub webhook_allow_http: bool,
    /// Seconds between webhook attempts: N values, N retries after the first attempt.
    pub webhook_retry: Vec<u64>,
    /// Domains a link holder's own address may be in to get mail (lower case); empty: the
    /// domains of the request's addresses.
    pub org_mail_domains: Vec<String>,
    /// A malware scanner is configured (in-process or GuardDuty): sent documents start `pending`.
    pub scanning: bool,
    /// While a document's scan is pending or failed it is neither approved nor downloaded
    /// (`PORTAAL_REQUIRE_SCAN`, on whenever a scanner is configured).
    pub require_scan: bool,
    /// Files a link may announce per hour (`PORTAAL_STAGE_LIMIT_PER_HOUR`).
    pub stage_limit_per_hour: u32,
    /// Deliveries a link may make per hour (`PORTAAL_DELIVERY_LIMIT_PER_HOUR`).
    pub delivery_limit_per_hour: u32,
    /// The organisation's name in pages and mails (`PORTAAL_ORG_NAME`); may be empty.
    pub org_name: String,
    /// Files larger than this are sent in parts (`PORTAAL_PART_THRESHOLD_BYTES`).
    pub part_threshold: u64,
    /// The size of each part but the last (`PORTAAL_PART_SIZE_BYTES`).
    pub part_size: u64,
}

/// `PORTAAL_PART_THRESHOLD_BYTES`'s default: one PUT up to 256 MiB.
pub const DEFAULT_PART_THRESHOLD: u64 = 256 << 20;
/// `PORTAAL_PART_SIZE_BYTES`'s default: 80 parts for 5 GiB, each a minute or so on a slow line.
pub const DEFAULT_PART_SIZE: u64 = 64 << 20;
/// S3's bounds for a part but the last: 5 MiB to 5 GiB.
pub const PART_SIZE_RANGE: std::ops::RangeInclusive<u64> = (5 << 20)..=(5 << 30);

/// `PORTAAL_MAIL_RETRY_SCHEDULE`'s default: more than a day in all, so a mail outlasts an outage
/// of the relay over a weekend night.
pub const DEFAULT_MAIL_RETRY: [u64; 8] = [30, 120, 600, 1800, 7200, 21600, 43200, 86400];

/// `PORTAAL_WEBHOOK_RETRY_SCHEDULE`'s default: more than a day in all.
pub const DEFAULT_WEBHOOK_RETRY: [u64; 8] = [10, 60, 300, 1800, 7200, 21600, 43200, 86400];

impl Settings {
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            upload_ttl: Duration::from_secs(30 * 60),
            download_ttl: Duration::from_secs(5 * 60),
            link_key: None,
            records_key: crate::sealing::RecordsKey::random(),
            cursor_key: crate::events::CursorKey::random(),
            event_retention: chrono::Duration::days(30),
            webhook_allow_http: false,
            webhook_retry: DEFAULT_WEBHOOK_RETRY.to_vec(),
            org_mail_domains: Vec::new(),
            scanning: false,
            require_scan: false,
            stage_limit_per_hour: 500,
            delivery_limit_per_hour: 30,
            org_name: String::new(),
            part_threshold: DEFAULT_PART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
        }
    }
}

/// Everything the use cases need from outside, behind ports.
#[derive(Clone)]
pub struct Portaal {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) blobs: Arc<dyn Blobs>,
    pub(crate) scheduler: Arc<dyn Scheduler>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: Settings,
    /// The scanner the application asks itself (clamd); None without one or with GuardDuty.
    pub(crate) scanner: Option<Arc<dyn Scanner>>,
    /// Where sent mail is kept on disk (the embedded outbox), erased with a dossier.
    pub(crate) sent_copies: Option<Arc<dyn crate::ports::SentMailCopies>>,
    /// Set once this process saw the destruction records moved to `case_ref`: the check is one
    /// read, not one per list or purge.
    pub(crate) records_migrated: Arc<std::sync::atomic::AtomicBool>,
    pub(crate) holds_indexed: Arc<std::sync::atomic::AtomicBool>,
}

impl Portaal {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn Blobs>,
        scheduler: Arc<dyn Scheduler>,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Self {
        Self {
            store,
            blobs,
            scheduler,
            clock,
            settings,
            scanner: None,
            sent_copies: None,
            records_migrated: Arc::default(),
            holds_indexed: Arc::default(),
        }
    }

    /// The same use cases, erasing a destroyed dossier's mail from `copies` too.
    pub fn with_sent_copies(mut self, copies: Arc<dyn crate::ports::SentMailCopies>) -> Self {
        self.sent_copies = Some(copies);
        self
    }

    /// The same use cases, scanning sent documents with `scanner` (clamd).
    pub fn with_scanner(mut self, scanner: Arc<dyn Scanner>) -> Self {
        self.scanner = Some(scanner);
        self
    }

    /// The same use cases on another clock (tests that move time).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The same use cases, with links made for another public URL (e.g. the one a request
    /// came through behind API Gateway).
    pub fn with_public_url(&self, public_url: &str) -> Self {
        let mut clone = self.clone();
        clone.settings.public_url = public_url.trim_end_matches('/').to_owned();
        clone
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today in the Netherlands: due dates are Dutch dates.
    pub(crate) fn today(&self) -> NaiveDate {
        crate::localtime::dutch_today(self.now())
    }

    pub(crate) fn new_id(&self) -> Id {
        Id::new_at(self.now())
    }

    pub(crate) fn portal_url(&self, token: &crate::domain::LinkToken) -> String {
        crate::model::portal_link(&self.settings.public_url, token)
    }

    pub(crate) fn seal(&self, token: &crate::domain::LinkToken, request: &Id) -> Option<String> {
        self.settings
            .link_key
            .as_ref()
            .map(|k| k.seal(token, request))
    }

    /// Whether the portal may mail an address a link holder typed: one of the request's own
    /// addresses, or one in the organisation's domains (`PORTAAL_ORG_MAIL_DOMAINS`; by default
    /// the domains of the request's addresses). Anything else would make the portal a relay.
    pub(crate) fn may_mail(&self, address: &Email, request: &Request) -> bool {
        if request.to.contains(address) {
            return true;
        }
        let domain = |e: &Email| {
            e.as_str()
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
                .unwrap_or_default()
        };
        let theirs = domain(address);
        if self.settings.org_mail_domains.is_empty() {
            request.to.iter().any(|r| domain(r) == theirs)
        } else {
            self.settings.org_mail_domains.contains(&theirs)
        }
    }

    pub(crate) fn event(&self, kind: EventKind, actor: Actor) -> Event {
        Event {
            id: self.new_id(),
            at: self.now(),
            kind,
            actor,
            actor_name: None,
            request_id: None,
            delivery_id: None,
            publication_id: None,
            document_id: None,
            summary: String::new(),
        }
    }

    pub(crate) fn event_write(&self, case: &CaseId, event: &Event) -> Write {
        Write::create(event.to_item(keys::dossier(case), keys::event(event)))
    }

    /// The `portal_url` of a mail to `request`'s department: a placeholder plus the sealed link
    /// where the link key can open it (the sender fills it in); without a key that opens it (none
    /// configured, or one that changed) a pointer to the request mail.
    pub(crate) fn mail_link(&self, request: &Request) -> (String, Option<MailLink>) {
        let opens = |sealed: &str| {
            self.settings
                .link_key
                .as_ref()
                .is_some_and(|key| key.open(sealed, &request.id).is_some())
        };
        match &request.token_sealed {
            Some(sealed) if opens(sealed) => (
                LINK_PLACEHOLDER.to_owned(),
                Some(MailLink {
                    request_id: request.id.clone(),
                    sealed: sealed.clone(),
                    base: if request.portal_base.is_empty() {
                        self.settings.public_url.clone()
                    } else {
                        request.portal_base.clone()
                    },
                }),
            ),
            _ => {
                let sent = mail_date(
                    crate::localtime::dutch_today(request.created_at),
                    request.language,
                );
                let pointer = match request.language {
                    Language::Nl => format!("(de link uit ons verzoek van {sent})"),
                    Language::En => format!("(the link in our request of {sent})"),
                };
                (pointer, None)
            }
        }
    }

    /// Renders a mail of the case type and answers the outbox write that queues it. `link`: the
    /// sealed link its bodies hold as [`LINK_PLACEHOLDER`] (see [`Portaal::mail_link`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn queue_mail(
        &self,
        case_type: &CaseType,
        case: &CaseId,
        request: Option<&Id>,
        kind: MailKind,
        language: Language,
        to: Vec<Email>,
        vars: &Vars,
        link: Option<MailLink>,
    ) -> Vec<Write> {
        let rendered = self.render_mail(case_type, kind, language, vars);
        // A department's mail is answered to its handler, not to the portal's address.
        let reply_to = kind
            .goes_to_department()
            .then(|| vars.get("handler_email").and_then(|e| Email::parse(e).ok()))
            .flatten();
        // One item per recipient: a refused address never holds up the others' mail. The first
        // one tells the case system the mail went out (`request.sent`, `reminder.sent`).
        to.into_iter()
            .enumerate()
            .map(|(i, recipient)| {
                let mail = Mail {
                    request_id: request.cloned(),
                    reply_to: reply_to.clone(),
                    announces: i == 0,
                    link: link.clone(),
                    ..Mail::queued(
                        self.new_id(),
                        case.clone(),
                        kind,
                        recipient,
                        rendered.clone(),
                        self.now(),
                    )
                };
                Write::create(mail.to_item(keys::dossier(case), keys::mail(&mail.id)))
            })
            .collect()
    }

    /// The case type's text filled in (see [`CaseType::render_mail`]). Only a default that does
    /// not render (a bug the tests catch) leaves a bare mail: subject and link, never no mail.
    pub(crate) fn render_mail(
        &self,
        case_type: &CaseType,
        kind: MailKind,
        language: Language,
        vars: &Vars,
    ) -> mailtext::Rendered {
        case_type
            .render_mail(kind, language, &self.settings.org_name, vars)
            .unwrap_or_else(|e| {
                tracing::error!(kind = kind.as_str(), error = %e, "default mail text does not render");
                mailtext::Rendered {
                    subject: format!("{} {}", kind.as_str(), vars.get("case_id").map_or("", String::as_str)),
                    text: vars.get("portal_url").cloned().unwrap_or_default(),
                    html: String::new(),
                }
            })
    }

    /// The dossier's own item alone (one read), without its requests, deliveries or history.
    pub async fn dossier(&self, case: &CaseId) -> Result<Dossier> {
        let item = self
            .store
            .get(&keys::dossier(case), keys::META)
            .await?
            .ok_or_else(|| Error::not_found(format!("dossier {case}")))?;
        Dossier::from_item(&item)
    }

    pub(crate) async fn open_dossier(&self, case: &CaseId) -> Result<Dossier> {
        let dossier = self.dossier(case).await?;
        if !dossier.is_open_at(self.now()) {
            return Err(Error::Gone(format!("dossier {case} is closed")));
        }
        Ok(dossier)
    }

    /// A check, inside a transaction, that the dossier is still open at the revision we read.
    pub(crate) fn dossier_unchanged(&self, dossier: &Dossier) -> Write {
        Write::Check {
            pk: keys::dossier(&dossier.case_id),
            sk: keys::META.to_owned(),
            condition: crate::ports::Condition::Equals("rev".into(), dossier.rev.into()),
        }
    }

    /// The page read: every item of the dossier below its history (one read; mail and the
    /// paged timeline are never fetched with it).
    pub(crate) async fn partition(&self, case: &CaseId) -> Result<Partition> {
        let mut items = self
            .store
            .page(crate::ports::PageQuery {
                index: None,
                pk: &keys::dossier(case),
                prefix: None,
                after: Some(keys::HISTORY),
                until: None,
                descending: true,
                limit: usize::MAX,
            })
            .await?;
        // Read downwards from the history's start; the items are used in sort-key order.
        items.reverse();
        Partition::parse(case, &items)
    }
}

/// Retries a read-check-write use case when a concurrent writer changed what it read.
pub(crate) async fn with_retries<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(Error::Store(StoreError::ConditionFailed { .. })) if tries < 3 => tries += 1,
            Err(Error::Store(StoreError::ConditionFailed { .. })) => {
                return Err(Error::conflict(
                    "the dossier changed while this was being saved; try again",
                ));
            }
            other => return other,
        }
    }
}
