//! Fixtures: temporary directories, unique ids, test bytes and bodies, a clock the test sets, and
//! a store edit that stands in for time passing.

use std::path::PathBuf;

use portaal_infra::System;
use serde_json::{Value, json};

/// A directory removed when dropped.
/// The path, and the directory itself (held only so that dropping it removes it).
pub struct TempDir(pub PathBuf, #[allow(dead_code)] tempfile::TempDir);

impl TempDir {
    /// A fresh directory under the system's temporary directory, removed when dropped.
    pub fn new(label: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("portaal-test-{label}-"))
            .tempdir()
            .expect("temp dir");
        Self(dir.path().to_path_buf(), dir)
    }
}

/// Moves a request's due date in the store, as if time had passed (for overdue reports).
pub async fn move_due_date(
    system: &System,
    case: &portaal_core::domain::CaseId,
    request: &portaal_core::domain::Id,
    due: &str,
) {
    use portaal_core::model::{Record, Request, keys};
    let (pk, sk) = (keys::dossier(case), keys::request(request));
    let item = system.store.get(&pk, &sk).await.unwrap().expect("request");
    let mut moved = Request::from_item(&item).unwrap();
    moved.due = portaal_core::domain::Date::parse(due).unwrap();
    moved.rev += 1;
    system
        .store
        .transact(vec![portaal_core::ports::Write::put(moved.to_item(pk, sk))])
        .await
        .unwrap();
}

/// Every file below `dir`, at any depth (directories themselves left out), in no set order.
pub fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Reproducible bytes that do not compress (xorshift).
pub fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A clock the test sets (the use cases read time only through the `Clock` port).
pub struct ManualClock(std::sync::Mutex<chrono::DateTime<chrono::Utc>>);

impl ManualClock {
    pub fn new(at: chrono::DateTime<chrono::Utc>) -> Self {
        Self(std::sync::Mutex::new(at))
    }
    pub fn set(&self, at: chrono::DateTime<chrono::Utc>) {
        *self.0.lock().unwrap() = at;
    }
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
    pub fn now_utc(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
}

impl portaal_core::ports::Clock for ManualClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
}

/// `bytes` made a PDF as far as the content check can tell: its first bytes become a PDF header.
pub fn pdf(mut bytes: Vec<u8>) -> Vec<u8> {
    const HEADER: &[u8] = b"%PDF-1.7\n";
    if bytes.len() < HEADER.len() {
        return HEADER.to_vec();
    }
    bytes[..HEADER.len()].copy_from_slice(HEADER);
    bytes
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Unique across processes and calls: process id, time and a counter.
fn ulid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Unique per test run, so tests sharing an emulator never collide.
pub fn case_id(label: &str) -> String {
    format!("{label}-{}", ulid_like())
}

/// The use cases over the real embedded adapters in `dir` (`db.sqlite3`, `blobs/`): `store` is
/// that database's store (maybe wrapped by the test), the clock one the test moves.
pub fn embedded_portaal(
    dir: &std::path::Path,
    store: std::sync::Arc<dyn portaal_core::ports::Store>,
    clock: std::sync::Arc<ManualClock>,
) -> portaal_core::Portaal {
    use portaal_infra::embedded::{FsBlobs, SqliteScheduler};
    let blobs = FsBlobs::new(dir.join("blobs"), "http://127.0.0.1:1", b"k".to_vec()).unwrap();
    portaal_core::Portaal::new(
        store,
        std::sync::Arc::new(blobs),
        std::sync::Arc::new(SqliteScheduler::open(&dir.join("db.sqlite3")).unwrap()),
        clock,
        portaal_core::Settings::new("http://127.0.0.1:1"),
    )
}

/// A request to the Vergunningen department, due on `due` (`YYYY-MM-DD`), as the use case takes it.
pub fn request_to_vergunningen(due: &str) -> portaal_core::usecases::request::RequestInput {
    portaal_core::usecases::request::RequestInput {
        department: "Vergunningen".into(),
        to: vec!["vergunningen@example.nl".into()],
        due: Some(due.into()),
        message: String::new(),
        language: None,
    }
}

pub fn dossier_body() -> Value {
    json!({
        "case_type": "bezwaar",
        "title": "Bezwaar tegen weigering omgevingsvergunning",
        "remarks": "Graag ook de adviezen meesturen.",
        "submitter": {"name": "J. de Vries", "email": "j.devries@example.nl"},
        "decision": {"reference": "OV-2026-0815", "date": "2026-10-01", "subject": "Weigering omgevingsvergunning", "department": "Vergunningen"},
        "handler": {"name": "M. Jansen", "email": "m.jansen@example.nl"}
    })
}
