//! Time-driven work costs the same however many dossiers are stored: a reminder, a close, a
//! destruction and the records manager's list of legal holds make exactly the same store calls, and read exactly as many items, with 100 and
//! with 10,000 dossiers in the table (they read by key, never scan). Counted on the real SQLite store, through a decorator that only
//! counts and passes every call on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use portaal_core::domain::CaseId;
use portaal_core::ports::{IndexQuery, Item, PageQuery, Store, StoreError, Write};
use portaal_core::usecases::dossier::DossierInput;
use portaal_core::usecases::lifecycle::{CloseInput, JobOutcome};
use portaal_infra::embedded::SqliteStore;
use portaal_tests::{ManualClock, TempDir};

/// The real store, its calls counted per kind.
pub(crate) struct CountingStore {
    inner: Arc<dyn Store>,
    calls: Mutex<BTreeMap<&'static str, u64>>,
}

impl CountingStore {
    pub(crate) fn new(inner: Arc<dyn Store>) -> Self {
        Self {
            inner,
            calls: Mutex::default(),
        }
    }

    fn count(&self, call: &'static str) {
        *self.calls.lock().unwrap().entry(call).or_default() += 1;
    }

    /// Items a read answered, summed under "items read": a scan shows here even in one call.
    fn read<T>(&self, answer: Result<Vec<T>, StoreError>) -> Result<Vec<T>, StoreError> {
        if let Ok(items) = &answer {
            *self.calls.lock().unwrap().entry("items read").or_default() += items.len() as u64;
        }
        answer
    }

    pub(crate) fn take(&self) -> BTreeMap<&'static str, u64> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

#[async_trait]
impl Store for CountingStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.count("get");
        let found = self.inner.get(pk, sk).await?;
        self.read(Ok(found.iter().cloned().collect::<Vec<_>>()))?;
        Ok(found)
    }
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.count("query");
        self.read(self.inner.query(pk, sk_prefix).await)
    }
    async fn query_index(&self, query: IndexQuery<'_>) -> Result<Vec<Item>, StoreError> {
        self.count("query_index");
        self.read(self.inner.query_index(query).await)
    }
    async fn page(&self, query: PageQuery<'_>) -> Result<Vec<Item>, StoreError> {
        self.count("page");
        self.read(self.inner.page(query).await)
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.count("transact");
        self.inner.transact(writes).await
    }
    async fn scrub(&self) -> Result<(), StoreError> {
        self.count("scrub");
        self.inner.scrub().await
    }
}

/// The store calls of each job, for one dossier among `stored` dossiers.
async fn calls_per_job(stored: usize) -> BTreeMap<&'static str, BTreeMap<&'static str, u64>> {
    let dir = TempDir::new("scale");
    let db = dir.0.join("db.sqlite3");
    let store = Arc::new(CountingStore {
        inner: Arc::new(SqliteStore::open(&db).unwrap()),
        calls: Mutex::default(),
    });
    // 17 November 2026, 09:00 in the Netherlands: the request below is due on the 20th.
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 17, 8, 0, 0).unwrap(),
    ));
    let portaal = portaal_tests::embedded_portaal(&dir.0, store.clone(), clock.clone());
    let case = CaseId::parse("BZ-SCALE-1").unwrap();
    let input: DossierInput = serde_json::from_value(portaal_tests::dossier_body()).unwrap();
    portaal.put_dossier(&case, &input).await.unwrap();
    let request = portaal
        .create_request(&case, &portaal_tests::request_to_vergunningen("2026-11-20"))
        .await
        .unwrap();
    // Holds set before the holds index are indexed once, at the first listing: done here,
    // before the table is filled, so the count below is the listing's own.
    portaal.legal_holds(None, 200).await.unwrap();
    fill_with_copies(store.inner.as_ref(), &case, stored - 1).await;
    // The copies are real to the indexes: the overview of open requests (an index query that
    // does grow with the table) lists them, up to its cap of 1,000.
    let open = portaal
        .deadline_overview(portaal_core::usecases::request::Overview::Open, None)
        .await
        .unwrap();
    assert_eq!(
        open.len(),
        stored.min(1000),
        "every dossier's request is open"
    );

    let mut per_job = BTreeMap::new();
    portaal
        .set_hold(&case, Some("Wob-verzoek loopt"))
        .await
        .unwrap();
    store.take();
    let held = portaal.legal_holds(None, 200).await.unwrap();
    per_job.insert("legal holds list", store.take());
    let listed: Vec<&str> = held.items.iter().map(|h| h.case_id.as_str()).collect();
    assert_eq!(listed, [case.as_str()], "the one held dossier");
    assert_eq!(held.items[0].hold.reason, "Wob-verzoek loopt");
    portaal.set_hold(&case, None).await.unwrap();
    assert!(
        portaal
            .legal_holds(None, 200)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    store.take();
    clock.set(Utc.with_ymd_and_hms(2026, 11, 18, 9, 0, 0).unwrap());
    let reminded = portaal.send_reminder(&case, &request.id, -2).await.unwrap();
    assert_eq!(reminded, JobOutcome::Done, "the herinnering is due");
    per_job.insert("reminder", store.take());

    let closed = portaal
        .close_dossier(&case, &CloseInput::default())
        .await
        .unwrap();
    per_job.insert("close", store.take());

    clock.set(closed.destroy_at.expect("a destruction date") + Duration::minutes(1));
    assert_eq!(portaal.purge(&case, None).await.unwrap(), JobOutcome::Done);
    per_job.insert("destruction", store.take());
    per_job
}

/// `count` more dossiers like `case` (its dossier, request and event items under other case
/// numbers, index entries included), written 100 items per transaction.
async fn fill_with_copies(store: &dyn Store, case: &CaseId, count: usize) {
    let items = store.query(&format!("DOSSIER#{case}"), "").await.unwrap();
    let template = serde_json::to_string(&items).unwrap();
    let mut writes = Vec::new();
    for n in 0..count {
        let other = format!("BZ-COPY-{n:05}");
        let copies: Vec<Item> =
            serde_json::from_str(&template.replace(case.as_str(), &other)).unwrap();
        writes.extend(copies.into_iter().map(Write::put));
        if writes.len() >= 90 {
            store.transact(std::mem::take(&mut writes)).await.unwrap();
        }
    }
    if !writes.is_empty() {
        store.transact(writes).await.unwrap();
    }
}

#[tokio::test]
async fn reminders_closing_and_destruction_cost_the_same_with_100_and_10000_dossiers() {
    let few = calls_per_job(100).await;
    let many = calls_per_job(10_000).await;
    for job in ["legal holds list", "reminder", "close", "destruction"] {
        // For the benchmark's table (tests/perf/all.sh): the counts, side by side.
        println!(
            "store calls per {job}: 100 dossiers {:?}, 10,000 dossiers {:?}",
            few[job], many[job]
        );
        assert!(!few[job].is_empty(), "{job} made store calls");
        assert_eq!(
            few[job], many[job],
            "{job}: store calls with 100 dossiers (left) and 10,000 (right)"
        );
    }
}
