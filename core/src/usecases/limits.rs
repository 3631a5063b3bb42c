//! Rate limits whose counters are store items (so every Lambda instance sees the same count):
//! one item per limited thing (`LIMIT#{scope}#{key}`), holding the current fixed window's start
//! and count, replaced conditionally so concurrent counts never get lost. A counted action puts
//! its counter in its own transaction: counted if and only if it happened.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::ports::{Condition, Item, TTL_ATTR, Write};
use crate::service::Portaal;

/// One limit: at most `limit` per `window_secs`, counted per key (a request id, an address).
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub scope: &'static str,
    pub limit: u32,
    pub window_secs: i64,
    /// What is limited, for the refusal's `detail`.
    pub what: &'static str,
}

const WINDOW_SK: &str = "WINDOW";

fn counter_pk(limit: &Limit, key: &str) -> String {
    format!("LIMIT#{}#{key}", limit.scope)
}

impl Portaal {
    /// The write that counts one more use in the current window, to go into the transaction of
    /// the action it counts; refuses with `TooMany` (429, `Retry-After`) when the window is full.
    pub(crate) async fn count_write(&self, limit: &Limit, key: &str) -> Result<Write> {
        let pk = counter_pk(limit, key);
        let now = self.now().timestamp();
        let start = now - now.rem_euclid(limit.window_secs);
        let current = self.store.get(&pk, WINDOW_SK).await?;
        let (count, condition) = match &current {
            None => (0, Condition::NotExists),
            Some(item) => {
                let window = item.attrs.get("window").and_then(Value::as_i64);
                let n = item.attrs.get("n").and_then(Value::as_u64).unwrap_or(0);
                let unchanged = Condition::AllEqual(vec![
                    ("window".into(), Value::from(window.unwrap_or_default())),
                    ("n".into(), Value::from(n)),
                ]);
                (if window == Some(start) { n } else { 0 }, unchanged)
            }
        };
        if count >= u64::from(limit.limit) {
            return Err(Error::TooMany {
                detail: format!(
                    "at most {} {} per {} minutes; try again later",
                    limit.limit,
                    limit.what,
                    limit.window_secs / 60
                ),
                retry_after_secs: u32::try_from(start + limit.window_secs - now)
                    .unwrap_or(1)
                    .max(1),
            });
        }
        let mut attrs = Map::new();
        attrs.insert("window".into(), Value::from(start));
        attrs.insert("n".into(), Value::from(count + 1));
        // Gone with its window (DynamoDB TTL; the embedded store replaces it in the next one).
        attrs.insert(TTL_ATTR.into(), Value::from(start + limit.window_secs + 60));
        Ok(Write::Put {
            item: Item::new(pk, WINDOW_SK, attrs),
            condition,
        })
    }

    /// Counts one use on its own (e.g. a failed authentication).
    pub async fn count(&self, limit: &Limit, key: &str) -> Result<()> {
        crate::service::with_retries(|| async {
            let write = self.count_write(limit, key).await?;
            Ok(self.store.transact(vec![write]).await?)
        })
        .await
    }

    /// Refuses with `TooMany` when `key`'s window is already full, without counting.
    pub async fn check_limit(&self, limit: &Limit, key: &str) -> Result<()> {
        self.count_write(limit, key).await.map(|_| ())
    }
}
