//! The partition read model: the items of one dossier its pages show (all but its history),
//! read with one query and parsed once.

use crate::domain::{CaseId, Id};
use crate::error::{Error, Result};
use crate::model::{Delivery, Document, Dossier, Event, Record, Request, keys};
use crate::ports::Item;

/// The items of one dossier below its history, read with one query. `events` are only those
/// kept with them (mail failures, and events written before the history was paged).
pub(crate) struct Partition {
    pub dossier: Dossier,
    pub requests: Vec<Request>,
    pub deliveries: Vec<Delivery>,
    pub documents: Vec<Document>,
    pub publications: Vec<crate::model::Publication>,
    pub events: Vec<Event>,
}

impl Partition {
    pub fn parse(case: &CaseId, items: &[Item]) -> Result<Self> {
        let (mut dossier, mut requests, mut deliveries, mut documents, mut events) =
            (None, Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut publications = Vec::new();
        for item in items {
            let sk = item.sk.as_str();
            if sk == keys::META {
                dossier = Some(Dossier::from_item(item)?);
            } else if sk.starts_with(keys::REQUEST) {
                requests.push(Request::from_item(item)?);
            } else if sk.starts_with(keys::DELIVERY) {
                deliveries.push(Delivery::from_item(item)?);
            } else if sk.starts_with(keys::DOC) {
                documents.push(Document::from_item(item)?);
            } else if sk.starts_with(keys::PUB) {
                publications.push(crate::model::Publication::from_item(item)?);
            } else if sk.starts_with(keys::PAGE_EVENT) {
                events.push(Event::from_item(item)?);
            }
        }
        deliveries.sort_by(|a: &Delivery, b: &Delivery| {
            a.submitted_at.cmp(&b.submitted_at).then(a.id.cmp(&b.id))
        });
        Ok(Partition {
            dossier: dossier.ok_or_else(|| Error::not_found(format!("dossier {case}")))?,
            requests,
            deliveries,
            documents,
            publications,
            events,
        })
    }

    pub fn request(&self, id: &Id) -> Result<&Request> {
        self.requests
            .iter()
            .find(|r| &r.id == id)
            .ok_or_else(|| Error::not_found(format!("request {id}")))
    }

    pub fn delivery(&self, id: &Id) -> Result<&Delivery> {
        self.deliveries
            .iter()
            .find(|d| &d.id == id)
            .ok_or_else(|| Error::not_found(format!("delivery {id}")))
    }
}
