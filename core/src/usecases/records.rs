//! What a records manager asks: which dossiers were destroyed (the Archiefwet's destruction
//! records) and which are due for destruction.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;

use crate::domain::{CaseId, CaseTypeKey};
use crate::error::{Error, Result};
use crate::model::{Destruction, Dossier, HeldDossier, Record, index_keys, keys};
use crate::ports::{Index, PageQuery, Write};
use crate::service::Portaal;
use crate::usecases::lists::{DossierSummary, ListPage};

/// Records per page of `GET /api/v1/destructions` at most (100 by default).
const MAX_RECORDS_PAGE: usize = 1000;

/// Marks the destruction records as moved from the bare case hash to `case_ref`.
const MIGRATED: (&str, &str) = ("CONFIG", "MIGRATION#destruction-case-ref");
/// Holds set before the holds index existed are indexed once; this item says it is done.
const HOLDS_INDEXED: (&str, &str) = ("CONFIG", "MIGRATION#holds-index");

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestructionQuery {
    /// The one case whose record is asked for (the server computes its `case_ref`).
    pub case_id: Option<String>,
    /// First and last day (Dutch dates, inclusive) of destruction.
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
    /// Where the previous page ended (its `Link: rel=next` carries it).
    pub after: Option<String>,
}

fn day(field: &str, raw: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|d| (1970..=9999).contains(&chrono::Datelike::year(d)))
        .ok_or_else(|| {
            Error::invalid(format!(
                "{field} must be a date like 2026-12-31 (years 1970 to 9999), not '{}'",
                raw.chars().take(40).collect::<String>()
            ))
        })
}

/// The first instant of a Dutch day.
fn dutch_midnight(d: NaiveDate) -> DateTime<Utc> {
    crate::localtime::from_dutch(d, NaiveTime::MIN)
}

fn list_key(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A list position as `Destruction::listed` writes it: a time, `#`, 64 hex digits.
fn valid_position(raw: &str) -> bool {
    raw.split_once('#').is_some_and(|(at, reference)| {
        DateTime::parse_from_rfc3339(at).is_ok()
            && reference.len() == 64
            && reference.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

impl Portaal {
    /// `GET /api/v1/destructions`: one case's record (`case_id`), or the records made in a
    /// period, oldest first, a page at a time. No personal data in any of them.
    pub async fn destructions_page(&self, q: &DestructionQuery) -> Result<ListPage<Destruction>> {
        self.migrate_destruction_records().await?;
        if let Some(raw) = q.case_id.as_deref() {
            if q.from.is_some() || q.to.is_some() || q.after.is_some() {
                return Err(Error::invalid(
                    "case_id finds one record: it does not combine with from, to or after",
                ));
            }
            let case = CaseId::parse(raw)?;
            let (pk, sk) = keys::destruction(&self.settings.records_key.case_ref(&case));
            let found = self.store.get(&pk, &sk).await?;
            return Ok(ListPage {
                items: found
                    .iter()
                    .map(Destruction::from_item)
                    .collect::<Result<_>>()?,
                next: None,
            });
        }
        let limit = crate::usecases::lists::page_limit(q.limit, MAX_RECORDS_PAGE)?;
        let from = q.from.as_deref().map(|f| day("from", f)).transpose()?;
        let to = q.to.as_deref().map(|t| day("to", t)).transpose()?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(Error::invalid(format!("from ({f}) lies after to ({t})")));
            }
        }
        if let Some(after) = q.after.as_deref() {
            if !valid_position(after) {
                return Err(Error::invalid(
                    "after must be a position from a previous page's Link header",
                ));
            }
        }
        // Sort keys start with the time: a day's start sorts before any record of that day.
        let start = from.map(|f| list_key(dutch_midnight(f)));
        let end = to.map(|t| list_key(dutch_midnight(t + chrono::Days::new(1))));
        let after = match (q.after.clone(), start) {
            (Some(a), Some(s)) => Some(a.max(s)),
            (a, s) => a.or(s),
        };
        let (index, pk) = index_keys::destroyed();
        let items = self
            .store
            .page(PageQuery {
                prefix: None,
                index: Some(index),
                pk,
                after: after.as_deref(),
                until: None,
                descending: false,
                limit,
            })
            .await?;
        let records: Vec<Destruction> = items
            .iter()
            .map(Destruction::from_item)
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|r| end.as_ref().is_none_or(|e| r.listed() < *e))
            .collect();
        let next = (items.len() == limit && records.len() == limit)
            .then(|| records.last().map(Destruction::listed))
            .flatten();
        Ok(ListPage {
            items: records,
            next,
        })
    }

    /// Records written before `case_ref` held the case number's bare SHA-256 and were not in
    /// the list's index: rewritten once under their HMAC, the hash dropped.
    pub(crate) async fn migrate_destruction_records(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.records_migrated.load(Ordering::Relaxed) {
            return Ok(());
        }
        if self.store.get(MIGRATED.0, MIGRATED.1).await?.is_some() {
            self.records_migrated.store(true, Ordering::Relaxed);
            return Ok(());
        }
        for item in self.store.query("DESTRUCTION", "DESTRUCTION#").await? {
            let mut record = Destruction::from_item(&item)?;
            let Some(hash) = record.case_hash.take() else {
                continue;
            };
            record.case_ref = self.settings.records_key.case_ref_of_hash(&hash);
            let (pk, sk) = keys::destruction(&record.case_ref);
            self.store
                .transact(vec![
                    Write::Delete {
                        pk: item.pk.clone(),
                        sk: item.sk.clone(),
                        condition: crate::ports::Condition::Exists,
                    },
                    Write::put(record.to_item(pk, sk)),
                ])
                .await
                .or_else(|e| match e {
                    // Another instance moved it first.
                    crate::ports::StoreError::ConditionFailed { .. } => Ok(()),
                    e => Err(e),
                })?;
        }
        let mut done = serde_json::Map::new();
        done.insert("at".into(), self.now().to_rfc3339().into());
        self.store
            .transact(vec![Write::put(crate::ports::Item::new(
                MIGRATED.0, MIGRATED.1, done,
            ))])
            .await?;
        self.records_migrated.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Dossiers under a legal hold, open or closed, oldest hold first, from the holds index
    /// (never a scan): a page of at most `limit` after `cursor` (the `next` of the page before).
    pub async fn legal_holds(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage<HeldDossier>> {
        self.index_earlier_holds().await?;
        let items = self
            .store
            .page(PageQuery {
                prefix: None,
                index: Some(Index::Expiry),
                pk: index_keys::HOLDS,
                after: cursor,
                until: None,
                descending: false,
                limit,
            })
            .await?;
        let held = items
            .iter()
            .map(HeldDossier::from_item)
            .collect::<Result<Vec<_>>>()?;
        let next = (items.len() == limit)
            .then(|| held.last().map(HeldDossier::listed))
            .flatten();
        Ok(ListPage { items: held, next })
    }

    /// Holds set before the index existed have no entry in it: written once, from the dossier
    /// lists, then a marker says it is done (every later hold writes its entry itself).
    async fn index_earlier_holds(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.holds_indexed.load(Ordering::Relaxed) {
            return Ok(());
        }
        if self
            .store
            .get(HOLDS_INDEXED.0, HOLDS_INDEXED.1)
            .await?
            .is_some()
        {
            self.holds_indexed.store(true, Ordering::Relaxed);
            return Ok(());
        }
        let mut filter = crate::usecases::lists::DossierFilter {
            limit: Some(crate::usecases::feed::MAX_LIST_PAGE),
            ..Default::default()
        };
        loop {
            let page = self.list_dossiers(&filter).await?;
            for summary in page.items.iter().filter(|d| d.on_hold) {
                let dossier = self.dossier(&summary.case_id).await?;
                self.store
                    .transact(vec![HeldDossier::write_for(&dossier)])
                    .await?;
            }
            match page.next {
                Some(next) => filter.cursor = Some(next),
                None => break,
            }
        }
        let mut done = serde_json::Map::new();
        done.insert("at".into(), self.now().to_rfc3339().into());
        self.store
            .transact(vec![Write::put(crate::ports::Item::new(
                HOLDS_INDEXED.0,
                HOLDS_INDEXED.1,
                done,
            ))])
            .await?;
        self.holds_indexed.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// `GET /api/v1/dossiers?destroys_before=DATE`: closed dossiers whose destruction falls
    /// before the Dutch day `before`, soonest first, those under legal hold included (they wait
    /// for the hold to be lifted). Read from the destruction-time index, never a scan.
    pub async fn dossiers_destroyed_before(
        &self,
        before: &str,
        case_type: Option<&CaseTypeKey>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<ListPage<DossierSummary>> {
        let bound = list_key(dutch_midnight(day("destroys_before", before)?));
        if let Some(c) = cursor {
            if c.split_once('#')
                .is_none_or(|(at, _)| DateTime::parse_from_rfc3339(at).is_err())
            {
                return Err(Error::invalid(
                    "cursor must be the `next` of a previous page of this list",
                ));
            }
        }
        let items = self
            .store
            .page(PageQuery {
                prefix: None,
                index: Some(Index::Expiry),
                pk: index_keys::EXPIRY,
                after: cursor,
                until: None,
                descending: false,
                limit,
            })
            .await?;
        let mut due = Vec::new();
        let mut next = None;
        for item in &items {
            let dossier = Dossier::from_item(item)?;
            let Some(at) = dossier.destroy_at else {
                continue;
            };
            if list_key(at) >= bound {
                return Ok(ListPage {
                    items: due,
                    next: None,
                });
            }
            next = Some(dossier.expiry_key());
            if case_type.is_none_or(|t| *t == dossier.case_type) {
                due.push(DossierSummary::from(&dossier));
            }
        }
        Ok(ListPage {
            items: due,
            next: next.filter(|_| items.len() == limit),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_checked_before_they_reach_the_store() {
        let r = "a".repeat(64);
        assert!(valid_position(&format!("2026-11-29T10:00:00.000000Z#{r}")));
        assert!(!valid_position("2026-11-29T10:00:00Z"));
        assert!(!valid_position(&format!("gisteren#{r}")));
        assert!(!valid_position("2026-11-29T10:00:00Z#BZ-2026-0042"));
    }

    #[test]
    fn days_are_dutch_days() {
        let d = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        assert_eq!(
            list_key(dutch_midnight(d)),
            "2026-06-30T22:00:00.000000Z",
            "midnight in summer time"
        );
    }
}
