//! The single-table item model on SQLite: one row per item, JSON attributes, the sparse index keys
//! as indexed columns. WAL mode; every transaction is `BEGIN IMMEDIATE`, conditions checked inside.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use portaal_core::ports::{
    Condition, Index, IndexQuery, Item, PageQuery, Store, StoreError, Write,
};
use rusqlite::{Connection, params};
use serde_json::{Map, Value};

#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL,
    sk TEXT NOT NULL,
    attrs TEXT NOT NULL,
    gsi1pk TEXT, gsi1sk TEXT,
    gsi2pk TEXT, gsi2sk TEXT,
    gsi3pk TEXT, gsi3sk TEXT,
    PRIMARY KEY (pk, sk)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS gsi1 ON items (gsi1pk, gsi1sk) WHERE gsi1pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS gsi2 ON items (gsi2pk, gsi2sk) WHERE gsi2pk IS NOT NULL;
CREATE INDEX IF NOT EXISTS gsi3 ON items (gsi3pk, gsi3sk) WHERE gsi3pk IS NOT NULL;
";

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(crate) fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a confirmed delivery survives power loss, not only a process crash.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Deleted rows are overwritten with zeros, not left in free pages: a destroyed dossier's
    // text must not be readable from the file.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = open_connection(path).map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Backend("store lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(backend)?
    }
}

fn row_to_item(pk: String, sk: String, attrs: String) -> Result<Item, StoreError> {
    let attrs: Map<String, Value> = serde_json::from_str(&attrs).map_err(backend)?;
    Ok(Item { pk, sk, attrs })
}

/// Items of a `SELECT pk, sk, attrs …`.
fn select_items(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Item>, StoreError> {
    let mut stmt = c.prepare_cached(sql).map_err(backend)?;
    let rows = stmt
        .query_map(params, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .map_err(backend)?;
    rows.map(|r| {
        let (pk, sk, attrs) = r.map_err(backend)?;
        row_to_item(pk, sk, attrs)
    })
    .collect()
}

/// The smallest string greater than every string starting with `prefix` (keys are ASCII).
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// The item with this key, if there is one.
fn read_item(c: &Connection, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
    let sql = "SELECT pk, sk, attrs FROM items WHERE pk = ?1 AND sk = ?2";
    Ok(select_items(c, sql, params![pk, sk])?.pop())
}

fn holds(condition: &Condition, current: Option<&Map<String, Value>>) -> bool {
    match condition {
        Condition::None => true,
        Condition::NotExists => current.is_none(),
        Condition::Exists => current.is_some(),
        Condition::Equals(attr, value) => current
            .and_then(|c| c.get(attr))
            .is_some_and(|v| values_equal(v, value)),
        Condition::AllEqual(pairs) => current.is_some_and(|c| {
            pairs
                .iter()
                .all(|(attr, value)| c.get(attr).is_some_and(|v| values_equal(v, value)))
        }),
    }
}

/// Numbers compare by value (1 == 1.0), as DynamoDB does.
fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn index_col(item: &Item, attr: &str) -> Option<String> {
    item.attrs
        .get(attr)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let (pk, sk) = (pk.to_owned(), sk.to_owned());
        self.with_conn(move |c| read_item(c, &pk, &sk)).await
    }

    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let (pk, from, to) = (pk.to_owned(), sk_prefix.to_owned(), prefix_end(sk_prefix));
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT sk, attrs FROM items WHERE pk = ?1 AND sk >= ?2 AND sk < ?3 ORDER BY sk")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![pk, from, to], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(backend)?;
            rows.map(|r| {
                let (sk, attrs) = r.map_err(backend)?;
                row_to_item(pk.clone(), sk, attrs)
            })
            .collect()
        })
        .await
    }

    async fn query_index(&self, query: IndexQuery<'_>) -> Result<Vec<Item>, StoreError> {
        let (pk, upto, limit) = (
            query.pk.to_owned(),
            query.upto.map(str::to_owned),
            query.limit,
        );
        let (ipk, isk) = (query.index.pk_attr(), query.index.sk_attr());
        self.with_conn(move |c| {
            let sql = format!(
                "SELECT pk, sk, attrs FROM items WHERE {ipk} = ?1 AND (?2 IS NULL OR {isk} <= ?2) ORDER BY {isk} LIMIT ?3"
            );
            select_items(c, &sql, params![pk, upto, limit as i64])
        })
        .await
    }

    async fn page(&self, query: PageQuery<'_>) -> Result<Vec<Item>, StoreError> {
        let (pk, after, until, limit) = (
            query.pk.to_owned(),
            query.after.map(str::to_owned),
            query.until.map(str::to_owned),
            i64::try_from(query.limit).unwrap_or(i64::MAX),
        );
        let prefix = query.prefix.unwrap_or_default().to_owned();
        let prefix_end = prefix_end(&prefix);
        let (cmp, order) = if query.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        // Column names come from the Index enum, never from input.
        let (key_pk, key_sk) = match query.index {
            None => ("pk", "sk"),
            Some(index) => (index.pk_attr(), index.sk_attr()),
        };
        self.with_conn(move |c| {
            let sql = format!(
                "SELECT pk, sk, attrs FROM items WHERE {key_pk} = ?1 AND (?2 IS NULL OR {key_sk} {cmp} ?2) AND {key_sk} >= ?4 AND {key_sk} < ?5 AND (?6 IS NULL OR {key_sk} < ?6) ORDER BY {key_sk} {order} LIMIT ?3"
            );
            select_items(c, &sql, params![pk, after, limit, prefix, prefix_end, until])
        })
        .await
    }

    /// The write-ahead log still holds the pages as they were before the deletes: copied into
    /// the database (where `secure_delete` zeroed them) and the log truncated to nothing.
    async fn scrub(&self) -> Result<(), StoreError> {
        self.with_conn(|c| {
            let (busy, _, _): (i64, i64, i64) = c
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(backend)?;
            if busy != 0 {
                return Err(StoreError::Backend(
                    "the write-ahead log could not be truncated: a reader held it".into(),
                ));
            }
            Ok(())
        })
        .await
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        portaal_core::ports::validate_transaction(&writes)?;
        self.with_conn(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
            for (i, w) in writes.iter().enumerate() {
                let (pk, sk) = w.key();
                let condition = match w {
                    Write::Put { condition, .. } | Write::Delete { condition, .. } | Write::Check { condition, .. } => condition,
                };
                if *condition != Condition::None && !holds(condition, read_item(&tx, pk, sk)?.map(|i| i.attrs).as_ref()) {
                    // Dropping `tx` rolls back: nothing of this transaction is written.
                    return Err(StoreError::ConditionFailed { index: Some(i) });
                }
            }
            for w in &writes {
                match w {
                    Write::Put { item, .. } => {
                        let cols: Vec<Option<String>> = Index::ALL
                            .iter()
                            .flat_map(|ix| [index_col(item, ix.pk_attr()), index_col(item, ix.sk_attr())])
                            .collect();
                        tx.execute(
                            "INSERT OR REPLACE INTO items (pk, sk, attrs, gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi3pk, gsi3sk)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                            params![
                                item.pk,
                                item.sk,
                                Value::Object(item.attrs.clone()).to_string(),
                                cols[0], cols[1], cols[2], cols[3], cols[4], cols[5]
                            ],
                        )
                        .map_err(backend)?;
                    }
                    Write::Delete { pk, sk, .. } => {
                        tx.execute("DELETE FROM items WHERE pk = ?1 AND sk = ?2", params![pk, sk]).map_err(backend)?;
                    }
                    Write::Check { .. } => {}
                }
            }
            tx.commit().map_err(backend)
        })
        .await
    }
}
