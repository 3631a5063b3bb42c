//! One-time schedules as rows in the embedded database; the local server's timer runs the due ones
//! and deletes them after completion, as EventBridge Scheduler does with `ActionAfterCompletion`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use portaal_core::ports::{Job, ScheduleError, Scheduler};
use rusqlite::{Connection, params};

/// A schedule whose time has come, as read (its time tells a re-planned one apart).
#[derive(Clone, Debug)]
pub struct DueJob {
    pub name: String,
    pub at: String,
    pub job: Job,
}

#[derive(Clone)]
pub struct SqliteScheduler {
    conn: Arc<Mutex<Connection>>,
}

fn backend(e: impl std::fmt::Display) -> ScheduleError {
    ScheduleError::Backend(e.to_string())
}

impl SqliteScheduler {
    pub fn open(path: &Path) -> Result<Self, ScheduleError> {
        let conn = super::sqlite::open_connection(path).map_err(backend)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schedules (name TEXT PRIMARY KEY, at TEXT NOT NULL, job TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS schedules_at ON schedules (at);",
        )
        .map_err(backend)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, ScheduleError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let guard = conn
                .lock()
                .map_err(|_| ScheduleError::Backend("scheduler lock poisoned".into()))?;
            f(&guard).map_err(backend)
        })
        .await
        .map_err(backend)?
    }

    /// Jobs whose time has come, oldest first.
    pub async fn due(&self, now: DateTime<Utc>) -> Result<Vec<DueJob>, ScheduleError> {
        let rows: Vec<(String, String, String)> = self
            .run(move |c| {
                let mut stmt =
                    c.prepare("SELECT name, at, job FROM schedules WHERE at <= ?1 ORDER BY at")?;
                let rows = stmt.query_map(
                    params![now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
                rows.collect()
            })
            .await?;
        rows.into_iter()
            .map(|(name, at, job)| {
                Ok(DueJob {
                    name,
                    at,
                    job: serde_json::from_str(&job).map_err(backend)?,
                })
            })
            .collect()
    }

    /// Deletes a schedule that ran, unless it was re-planned meanwhile (another time).
    pub async fn complete(&self, due: &DueJob) -> Result<(), ScheduleError> {
        let (name, at) = (due.name.clone(), due.at.clone());
        self.run(move |c| {
            c.execute(
                "DELETE FROM schedules WHERE name = ?1 AND at = ?2",
                params![name, at],
            )
            .map(|_| ())
        })
        .await
    }

    /// Every schedule with its time, for inspection and tests.
    pub async fn all(&self) -> Result<Vec<(DateTime<Utc>, Job)>, ScheduleError> {
        let rows: Vec<(String, String)> = self
            .run(|c| {
                let mut stmt = c.prepare("SELECT at, job FROM schedules ORDER BY at")?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect()
            })
            .await?;
        rows.into_iter()
            .map(|(at, job)| {
                Ok((
                    DateTime::parse_from_rfc3339(&at)
                        .map_err(backend)?
                        .with_timezone(&Utc),
                    serde_json::from_str(&job).map_err(backend)?,
                ))
            })
            .collect()
    }

    async fn delete_named(&self, name: &str) -> Result<(), ScheduleError> {
        let name = name.to_owned();
        self.run(move |c| {
            c.execute("DELETE FROM schedules WHERE name = ?1", params![name])
                .map(|_| ())
        })
        .await
    }
}

#[async_trait]
impl Scheduler for SqliteScheduler {
    async fn upsert(&self, job: &Job, at: DateTime<Utc>) -> Result<(), ScheduleError> {
        let (name, body) = (
            job.schedule_name(),
            serde_json::to_string(job).map_err(backend)?,
        );
        self.run(move |c| {
            c.execute(
                "INSERT INTO schedules (name, at, job) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET at = excluded.at, job = excluded.job",
                params![
                    name,
                    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    body
                ],
            )
            .map(|_| ())
        })
        .await
    }

    async fn remove(&self, job: &Job) -> Result<(), ScheduleError> {
        self.delete_named(&job.schedule_name()).await
    }

    async fn scheduled_at(&self, job: &Job) -> Result<Option<DateTime<Utc>>, ScheduleError> {
        let name = job.schedule_name();
        let at: Option<String> = self
            .run(move |c| {
                use rusqlite::OptionalExtension;
                c.query_row(
                    "SELECT at FROM schedules WHERE name = ?1",
                    params![name],
                    |r| r.get(0),
                )
                .optional()
            })
            .await?;
        at.map(|a| {
            DateTime::parse_from_rfc3339(&a)
                .map(|t| t.with_timezone(&Utc))
                .map_err(backend)
        })
        .transpose()
    }
}
