//! The dossier's history, a page at a time: the views show the newest page, and
//! `GET …/timeline?before=` the pages before it. Events are kept under [`keys::EVENT`], outside
//! the page read; the few the page read holds anyway ([`keys::PAGE_EVENT`]: mail failures, and
//! events written before the history was paged) are merged in by id, which is time order.

use serde::Serialize;

use crate::domain::{CaseId, Id};
use crate::error::{Error, Result};
use crate::model::{Event, Record, keys};
use crate::ports::PageQuery;
use crate::service::Portaal;

/// The most events one page of history holds.
pub const TIMELINE_PAGE: usize = 100;
/// Items a view reads at once: a dossier's items and the newest page of its history fit in one
/// read unless the dossier holds more than this minus a page of items (requests, deliveries,
/// documents). Reading past what a small dossier needs costs only older events, never mail.
pub const VIEW_READ: usize = 250;

/// One page of history, oldest first, and the cursor of the page before it (`None`: no older
/// events).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TimelinePage {
    pub events: Vec<Event>,
    pub next: Option<String>,
}

impl TimelinePage {
    /// Only the events `keep` accepts; the cursor still leads to the page before.
    pub fn only(mut self, keep: impl Fn(&Event) -> bool) -> Self {
        self.events.retain(|e| keep(e));
        self
    }
}

/// A `before` cursor as a client sent it: the id of the oldest event it was shown.
pub fn parse_cursor(raw: &str) -> Result<Id> {
    Id::parse(raw).map_err(|_| {
        Error::invalid(
            "before: not a timeline cursor; pass the `timeline_next` (or `next`) a previous answer gave",
        )
    })
}

impl Portaal {
    /// `GET /api/v1/dossiers/{case_id}/timeline?before=`: the page of events before the cursor.
    #[tracing::instrument(skip(self), fields(case = %case))]
    pub async fn events_before(&self, case: &CaseId, before: &Id) -> Result<TimelinePage> {
        // The dossier is checked, so an unknown case is a 404 rather than an empty page.
        let (_, page) =
            futures_util::try_join!(self.dossier(case), self.history_before(case, before))?;
        Ok(page)
    }

    /// The page of events before the cursor: two reads at once (the history, and the events
    /// kept with the dossier's items).
    pub(crate) async fn history_before(&self, case: &CaseId, before: &Id) -> Result<TimelinePage> {
        let (paged, in_page) = futures_util::try_join!(
            self.history_page(case, before),
            self.page_events_before(case, before),
        )?;
        Ok(newest_page(paged, in_page))
    }

    /// Up to one page and one event more of the history before `before`, newest first (its
    /// keys run newest first: [`keys::history_event`]). One read.
    async fn history_page(&self, case: &CaseId, before: &Id) -> Result<Vec<Event>> {
        let pk = keys::dossier(case);
        let after = keys::history_event(before);
        self.events_of(PageQuery {
            index: None,
            pk: &pk,
            prefix: Some(keys::EVENT),
            after: Some(&after),
            until: None,
            descending: false,
            limit: TIMELINE_PAGE + 1,
        })
        .await
    }

    /// Up to one page and one more of the events kept with the dossier's items, newest first,
    /// before `before`. One read.
    async fn page_events_before(&self, case: &CaseId, before: &Id) -> Result<Vec<Event>> {
        let pk = keys::dossier(case);
        let after = format!("{}{before}", keys::PAGE_EVENT);
        self.events_of(PageQuery {
            index: None,
            pk: &pk,
            prefix: Some(keys::PAGE_EVENT),
            after: Some(&after),
            until: None,
            descending: true,
            limit: TIMELINE_PAGE + 1,
        })
        .await
    }

    async fn events_of(&self, query: PageQuery<'_>) -> Result<Vec<Event>> {
        let items = self.store.page(query).await?;
        items.iter().map(Event::from_item).collect()
    }

    /// What a view shows of a dossier, in one read for a dossier of up to [`VIEW_READ`] minus
    /// one page of items: every item below its history, then the newest events (their keys
    /// follow, newest first), never its mail. A dossier of more items takes one more read per
    /// [`VIEW_READ`] items; history never adds one.
    pub(crate) async fn partition_and_history(
        &self,
        case: &CaseId,
    ) -> Result<(crate::partition::Partition, Vec<Event>)> {
        let pk = keys::dossier(case);
        let (mut items, mut events) = (Vec::new(), Vec::new());
        let mut after: Option<String> = None;
        loop {
            let read = self
                .store
                .page(PageQuery {
                    index: None,
                    pk: &pk,
                    prefix: None,
                    after: after.as_deref(),
                    until: Some(keys::EVENT_END),
                    descending: false,
                    limit: VIEW_READ,
                })
                .await?;
            let more = read.len() == VIEW_READ;
            after = read.last().map(|item| item.sk.clone());
            for item in read {
                if item.sk.starts_with(keys::EVENT) {
                    events.push(Event::from_item(&item)?);
                } else {
                    items.push(item);
                }
            }
            if !more || events.len() > TIMELINE_PAGE {
                break;
            }
        }
        events.truncate(TIMELINE_PAGE + 1);
        Ok((crate::partition::Partition::parse(case, &items)?, events))
    }
}

/// The newest [`TIMELINE_PAGE`] of both lists, oldest first; a cursor when more are left.
pub(crate) fn newest_page(mut events: Vec<Event>, more: Vec<Event>) -> TimelinePage {
    events.extend(more);
    events.sort_by(|a, b| b.id.cmp(&a.id));
    let older_left = events.len() > TIMELINE_PAGE;
    events.truncate(TIMELINE_PAGE);
    events.reverse();
    let next = older_left
        .then(|| events.first().map(|e| e.id.to_string()))
        .flatten();
    TimelinePage { events, next }
}
