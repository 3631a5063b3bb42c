//! The case handler's side of a delivery: read it, download its files, approve or reject it.

use serde::Deserialize;

use crate::domain::{self, CaseId, Id};
use crate::error::{Error, Result};
use crate::format::{dossier_vars, request_vars};
use crate::model::{
    Actor, Delivery, DeliveryState, Document, DocumentState, EventKind, MailKind, Record, Request,
    RequestState, ScanState, keys,
};
use crate::partition::Partition;
use crate::ports::{Condition, Write};
use crate::service::{Portaal, with_retries};
use crate::views::{DeliveryView, DocumentView, PublicationView};
use serde_json::Value;

#[derive(Clone, Debug, Deserialize)]
pub struct RejectInput {
    pub reason: String,
}

impl Portaal {
    /// `GET /api/v1/dossiers/{case_id}/deliveries/{delivery_id}`.
    #[tracing::instrument(skip(self), fields(case = %case))]
    pub async fn get_delivery(&self, case: &CaseId, delivery: &Id) -> Result<DeliveryView> {
        let p = self.partition(case).await?;
        Ok(DeliveryView::build(p.delivery(delivery)?, &p.documents))
    }

    /// `POST …/deliveries/{id}/approve`: *akkoord*; the files are released to the case file.
    /// Approving an approved delivery again answers it unchanged.
    #[tracing::instrument(skip(self), fields(case = %case))]
    pub async fn approve_delivery(&self, case: &CaseId, delivery: &Id) -> Result<DeliveryView> {
        with_retries(|| async {
            let p = self.partition(case).await?;
            let d = p.delivery(delivery)?;
            match d.state {
                DeliveryState::Approved => return Ok(DeliveryView::build(d, &p.documents)),
                DeliveryState::Rejected => {
                    return Err(Error::conflict(
                        "this delivery was rejected; it cannot be approved",
                    ));
                }
                DeliveryState::Submitted => {}
            }
            for doc in p.documents.iter().filter(|doc| d.documents.contains(&doc.id)) {
                if doc.scan == ScanState::Infected {
                    return Err(Error::conflict(format!(
                        "{} is quarantined (the malware scanner found a threat in it); this delivery cannot be approved: reject it",
                        doc.filename
                    )));
                }
                self.scan_permits(doc, "approved")?;
            }
            let (decided, docs, mut writes) = self.decide(&p, d, DeliveryState::Approved, None);
            let mut event = self.event(EventKind::DeliveryApproved, Actor::CaseSystem);
            event.request_id = Some(d.request_id.clone());
            event.delivery_id = Some(d.id.clone());
            event.summary =
                "Aanlevering akkoord; de stukken zijn aan het dossier toegevoegd".into();
            writes.extend(self.event_writes(case, &event));
            self.store.transact(writes).await?;
            Ok(DeliveryView::build(&decided, &docs))
        })
        .await
    }

    /// `POST …/deliveries/{id}/reject`: the department is told why, the files are destroyed and
    /// the request is open again when nothing else was delivered for it.
    #[tracing::instrument(skip(self, input), fields(case = %case))]
    pub async fn reject_delivery(
        &self,
        case: &CaseId,
        delivery: &Id,
        input: &RejectInput,
    ) -> Result<DeliveryView> {
        let reason = domain::text("reason", &input.reason, 2000)?;
        let (view, destroyed) = with_retries(|| async {
            let p = self.partition(case).await?;
            let d = p.delivery(delivery)?;
            match d.state {
                DeliveryState::Rejected => {
                    return Ok((DeliveryView::build(d, &p.documents), Vec::new()));
                }
                DeliveryState::Approved => {
                    return Err(Error::conflict(
                        "this delivery was approved; it cannot be rejected",
                    ));
                }
                DeliveryState::Submitted => {}
            }
            let request = p.request(&d.request_id)?;
            let (decided, docs, mut writes) =
                self.decide(&p, d, DeliveryState::Rejected, Some(reason.clone()));
            let others_stand = p.deliveries.iter().any(|o| {
                o.request_id == d.request_id && o.id != d.id && o.state != DeliveryState::Rejected
            });
            if request.state == RequestState::Delivered && !others_stand {
                let reopened = Request {
                    state: RequestState::Open,
                    rev: request.rev + 1,
                    ..request.clone()
                };
                writes.push(Write::replace_if(
                    reopened.to_item(keys::dossier(case), keys::request(&request.id)),
                    "rev",
                    request.rev,
                ));
            }
            let mut event = self.event(EventKind::DeliveryRejected, Actor::CaseSystem);
            event.request_id = Some(d.request_id.clone());
            event.delivery_id = Some(d.id.clone());
            event.summary = format!("Aanlevering afgewezen: {reason}");
            writes.extend(self.event_writes(case, &event));

            let case_type = self.case_type(p.dossier.case_type.as_str()).await?;
            let mut vars = dossier_vars(&p.dossier, request.language);
            request_vars(&mut vars, request);
            vars.insert("reason", reason.clone());
            vars.insert("submitted_by", d.submitted_by.name.clone());
            vars.insert(
                "submitted_at",
                crate::localtime::mail_time(d.submitted_at, request.language),
            );
            let (portal_url, link) = self.mail_link(request);
            vars.insert("portal_url", portal_url);
            let mut to = request.to.clone();
            if !to.contains(&d.submitted_by.email) && self.may_mail(&d.submitted_by.email, request)
            {
                to.push(d.submitted_by.email.clone());
            }
            writes.extend(self.queue_mail(
                &case_type,
                case,
                Some(&request.id),
                MailKind::Rejected,
                request.language,
                to,
                &vars,
                link,
            ));
            self.store.transact(writes).await?;
            let keys: Vec<String> = docs.iter().map(|doc| doc.blob_key.clone()).collect();
            Ok((DeliveryView::build(&decided, &docs), keys))
        })
        .await?;
        for key in destroyed {
            if let Err(e) = self.blobs.delete(&key).await {
                tracing::warn!(error = %e, "rejected blob not deleted; destruction of the dossier removes it");
            }
        }
        Ok(view)
    }

    /// The writes that move a submitted delivery and its documents to a decision.
    fn decide(
        &self,
        p: &Partition,
        d: &Delivery,
        state: DeliveryState,
        reason: Option<String>,
    ) -> (Delivery, Vec<Document>, Vec<Write>) {
        let case = &p.dossier.case_id;
        let pk = keys::dossier(case);
        let decided = Delivery {
            state,
            decided_at: Some(self.now()),
            reason,
            ..d.clone()
        };
        let doc_state = if state == DeliveryState::Approved {
            DocumentState::Approved
        } else {
            DocumentState::Rejected
        };
        let docs: Vec<Document> = p
            .documents
            .iter()
            .filter(|doc| d.documents.contains(&doc.id))
            .map(|doc| Document {
                state: doc_state,
                ..doc.clone()
            })
            .collect();
        let mut writes = vec![
            self.dossier_unchanged(&p.dossier),
            Write::replace_if(
                decided.to_item(pk.clone(), keys::delivery(&d.request_id, &d.id)),
                "state",
                "submitted",
            ),
        ];
        for doc in &docs {
            // A scan verdict recorded meanwhile must not be overwritten with the state read.
            let mut unchanged = vec![("state".to_owned(), Value::from("submitted"))];
            if doc.scan != ScanState::NotScanned {
                unchanged.push(("scan".to_owned(), Value::from(doc.scan.as_str())));
            }
            writes.push(Write::Put {
                item: doc.to_item(pk.clone(), keys::doc(&doc.id)),
                condition: Condition::AllEqual(unchanged),
            });
        }
        (decided, docs, writes)
    }

    /// `GET /api/v1/dossiers/{case_id}/documents/{id}/content`: a short-lived download URL.
    #[tracing::instrument(skip(self), fields(case = %case))]
    pub async fn document_url(&self, case: &CaseId, document: &Id) -> Result<String> {
        let item = self
            .store
            .get(&keys::dossier(case), &keys::doc(document))
            .await?
            .ok_or_else(|| Error::not_found(format!("document {document}")))?;
        let doc = Document::from_item(&item)?;
        match doc.state {
            DocumentState::Rejected => Err(Error::Gone(format!(
                "document {document} was rejected and destroyed"
            ))),
            DocumentState::Staged => Err(Error::conflict(format!(
                "document {document} has not been sent yet"
            ))),
            _ => self.download_url(&doc, false).await,
        }
    }

    /// Published documents, for one request's audience or (None) all.
    pub(crate) fn publication_views(
        &self,
        p: &Partition,
        audience: Option<&Id>,
    ) -> Vec<PublicationView> {
        p.publications
            .iter()
            .filter(|publication| publication.state == crate::model::PublicationState::Published)
            .filter(|publication| {
                audience.is_none()
                    || publication.request_id.is_none()
                    || publication.request_id.as_ref() == audience
            })
            .filter_map(|publication| {
                let doc = p
                    .documents
                    .iter()
                    .find(|d| d.id == publication.document_id)?;
                Some(PublicationView {
                    id: publication.id.clone(),
                    document: DocumentView::from(doc),
                    request_id: publication.request_id.clone(),
                    message: publication.message.clone(),
                    published_at: publication.published_at,
                })
            })
            .collect()
    }
}
