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
            self.history(case, keys::EVENT, Some(before)),
            self.history(case, keys::PAGE_EVENT, Some(before)),
        )?;
        Ok(newest_page(paged, in_page))
    }

    /// Up to one page and one event more (to know whether there is more) of the events under
    /// `prefix`, newest first, before `before`. One read.
    pub(crate) async fn history(
        &self,
        case: &CaseId,
        prefix: &str,
        before: Option<&Id>,
    ) -> Result<Vec<Event>> {
        let pk = keys::dossier(case);
        let after = before.map(|id| format!("{prefix}{id}"));
        let items = self
            .store
            .page(PageQuery {
                index: None,
                pk: &pk,
                prefix: Some(prefix),
                after: after.as_deref(),
                descending: true,
                limit: TIMELINE_PAGE + 1,
            })
            .await?;
        items.iter().map(Event::from_item).collect()
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
