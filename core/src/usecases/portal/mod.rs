//! What a link holder does: see the request, stage files, confirm them as one delivery.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::casetype::MAX_FILES_PER_DELIVERY;
use crate::domain::{self, CaseId, ContentType, Filename, Id, LinkToken, Sha256};
use crate::error::{Error, Result};
use crate::format::{dossier_vars, request_vars};
use crate::localtime::mail_time;
use crate::mailtext::Language;
use crate::model::{
    Actor, Delivery, DeliveryState, Document, DocumentState, EventKind, MailKind, Record, Request,
    RequestState, keys,
};
use crate::partition::Partition;
use crate::ports::{DownloadSpec, UploadSpec, UploadTarget, Write};
use crate::service::{Portaal, with_retries};
use crate::usecases::audit::{AuditEntry, AuditResult, Origin};
use crate::usecases::dossier::{PersonInput, person};
use crate::usecases::limits::Limit;
use crate::usecases::timeline::{TimelinePage, newest_page};
use crate::views::{DeliveryView, DocumentView, PortalDossier, PortalRequest, PortalView};

mod confirm;
mod files;
mod parts;

pub use parts::{CompleteInput, PartInput, PartRef, ReceivedParts, UploadPlan};

#[derive(Clone, Debug, Deserialize)]
pub struct UploadInput {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    #[serde(default)]
    pub sha256: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StagedUpload {
    pub document: DocumentView,
    pub upload: UploadPlan,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ConfirmInput {
    pub uploads: Vec<String>,
    #[serde(default)]
    pub comment: String,
    pub submitted_by: PersonInput,
}

/// A confirm either made the delivery or found it already made by the same uploads.
#[derive(Clone, Debug, PartialEq)]
pub enum Confirmed {
    Created(DeliveryView),
    AlreadyConfirmed(DeliveryView),
}

/// The state a link opens: its dossier partition and its request.
struct Opened {
    partition: Partition,
    request_id: Id,
}

impl Opened {
    fn request(&self) -> &Request {
        self.partition
            .request(&self.request_id)
            .expect("token points at an existing request")
    }
}

impl Portaal {
    /// Two reads: the token item, then the dossier's items.
    async fn open_link(&self, token: &LinkToken) -> Result<Opened> {
        let (opened, ()) = self
            .open_link_with(token, |case| async move {
                Ok((self.partition(&case).await?, ()))
            })
            .await?;
        Ok(opened)
    }

    /// [`Portaal::open_link`], the dossier's items (and whatever else) read by `read`.
    async fn open_link_with<T, F>(
        &self,
        token: &LinkToken,
        read: impl FnOnce(CaseId) -> F,
    ) -> Result<(Opened, T)>
    where
        F: std::future::Future<Output = Result<(crate::partition::Partition, T)>>,
    {
        let token_ref = self.resolve_token(token).await?;
        let (partition, extra) = read(token_ref.case_id.clone()).await.map_err(|e| match e {
            // The token outlived its dossier (destruction in progress): same answer as a closed one.
            Error::NotFound(_) => Error::Gone("this dossier is closed".into()),
            e => e,
        })?;
        if !partition.dossier.is_readable_at(self.now()) {
            return Err(Error::Gone("this dossier is closed".into()));
        }
        let request = partition
            .request(&token_ref.request_id)
            .map_err(|_| Error::UnknownLink)?;
        if request.state == RequestState::Withdrawn {
            return Err(Error::RequestWithdrawn);
        }
        Ok((
            Opened {
                partition,
                request_id: token_ref.request_id,
            },
            extra,
        ))
    }

    /// What of the dossier's history a link holder sees: its request's events and publications
    /// to every department. Mail trouble is the handler's business (it names addresses).
    fn shown_on_link(request: &Id) -> impl Fn(&crate::model::Event) -> bool + '_ {
        move |e| {
            e.kind != EventKind::MailFailed
                && (e.request_id.as_ref() == Some(request)
                    || e.kind == EventKind::PublicationPublished && e.request_id.is_none())
        }
    }

    fn accepting(&self, opened: &Opened) -> Result<()> {
        if opened.request().state == RequestState::Withdrawn {
            return Err(Error::Gone("this request was withdrawn".into()));
        }
        if !opened.partition.dossier.is_open_at(self.now()) {
            return Err(Error::conflict(
                "this case has been handled: the documents can still be read here, but nothing more can be sent / deze zaak is afgehandeld: de stukken zijn hier nog te lezen, maar er kan niets meer worden verstuurd",
            ));
        }
        Ok(())
    }

    /// `GET /p/{token}`: never changes anything (mail scanners open links).
    #[tracing::instrument(skip_all)]
    pub async fn portal_view(&self, token: &LinkToken, origin: &Origin) -> Result<PortalView> {
        // Two reads: the token, then the dossier's items with the newest page of its history.
        let (o, paged) = self
            .open_link_with(token, |case| async move {
                self.partition_and_history(&case).await
            })
            .await?;
        let timeline = newest_page(paged, o.partition.events.clone());
        self.link_view(o, timeline, origin).await
    }

    /// `GET /p/{token}?before=`: the page, its timeline the page of history before the cursor.
    #[tracing::instrument(skip_all)]
    pub async fn portal_view_before(
        &self,
        token: &LinkToken,
        before: &Id,
        origin: &Origin,
    ) -> Result<PortalView> {
        let (o, timeline) = self
            .open_link_with(token, |case| async move {
                futures_util::try_join!(self.partition(&case), self.history_before(&case, before))
            })
            .await?;
        self.link_view(o, timeline, origin).await
    }

    /// What a link shows, its timeline `timeline`; the view is audited.
    async fn link_view(
        &self,
        o: Opened,
        timeline: TimelinePage,
        origin: &Origin,
    ) -> Result<PortalView> {
        self.audit_link(
            &o,
            "portal.view",
            format!("dossier:{}", o.partition.dossier.case_id),
            origin,
        )
        .await?;
        let p = &o.partition;
        let r = o.request();
        let d = &p.dossier;
        let mine = |doc: &&Document| doc.request_id.as_ref() == Some(&r.id);
        let timeline = timeline.only(Self::shown_on_link(&r.id));
        Ok(PortalView {
            org_name: self.settings.org_name.clone(),
            dossier: PortalDossier {
                case_id: d.case_id.clone(),
                case_type: d.case_type.clone(),
                case_type_name: d.case_type_name.clone(),
                title: d.title.clone(),
                remarks: d.remarks.clone(),
                submitter: d.show_submitter.then(|| d.submitter.clone()),
                decision: d.decision.clone(),
                handler_name: d.handler.name.clone(),
                closes_at: (d.status == crate::model::DossierStatus::Closed)
                    .then_some(d.closes_at)
                    .flatten(),
            },
            request: PortalRequest {
                department: r.department.clone(),
                due: r.due,
                state: r.state,
                overdue: r.state == RequestState::Open && r.due.0 < self.today(),
                message: r.message.clone(),
            },
            deliveries: p
                .deliveries
                .iter()
                .filter(|del| del.request_id == r.id)
                .map(|del| DeliveryView::build(del, &p.documents))
                .collect(),
            publications: self.publication_views(p, Some(&r.id)),
            timeline: timeline.events,
            timeline_next: timeline.next,
            staged: p
                .documents
                .iter()
                .filter(mine)
                .filter(|doc| doc.state == DocumentState::Staged)
                .map(DocumentView::from)
                .collect(),
            upload: r.upload.clone(),
            accepting: r.state != RequestState::Withdrawn && d.is_open_at(self.now()),
            part_threshold: self.settings.part_threshold,
        })
    }

    /// `GET /p/{token}/timeline?before=`: the link's part of the page of history before the
    /// cursor (it may hold none of its events; `next` leads further back).
    #[tracing::instrument(skip_all)]
    pub async fn portal_events_before(
        &self,
        token: &LinkToken,
        before: &Id,
        origin: &Origin,
    ) -> Result<TimelinePage> {
        let (o, page) = self
            .open_link_with(token, |case| async move {
                futures_util::try_join!(self.partition(&case), self.history_before(&case, before))
            })
            .await?;
        self.audit_link(
            &o,
            "portal.timeline",
            format!("dossier:{}", o.partition.dossier.case_id),
            origin,
        )
        .await?;
        Ok(page.only(Self::shown_on_link(&o.request_id)))
    }

    /// `POST /p/{token}/uploads`: announces a file and answers where to send its bytes.
    #[tracing::instrument(skip_all)]
    pub async fn stage_upload(
        &self,
        token: &LinkToken,
        input: &UploadInput,
        origin: &Origin,
    ) -> Result<StagedUpload> {
        with_retries(|| self.try_stage(token, input, origin)).await
    }

    fn stage_limit(&self) -> Limit {
        Limit {
            scope: "stage",
            limit: self.settings.stage_limit_per_hour,
            window_secs: 3600,
            what: "files announced through one link",
        }
    }

    fn delivery_limit(&self) -> Limit {
        Limit {
            scope: "delivery",
            limit: self.settings.delivery_limit_per_hour,
            window_secs: 3600,
            what: "deliveries through one link",
        }
    }

    async fn try_stage(
        &self,
        token: &LinkToken,
        input: &UploadInput,
        origin: &Origin,
    ) -> Result<StagedUpload> {
        let o = self.open_link(token).await?;
        self.accepting(&o)?;
        let r = o.request();
        let rules = &r.upload;
        let file = self.announce(
            input,
            rules.max_file_bytes,
            &rules.allowed_types,
            self.sent_in_parts(input.size),
        )?;
        let staged = o
            .partition
            .documents
            .iter()
            .filter(|d| d.request_id.as_ref() == Some(&r.id) && d.state == DocumentState::Staged)
            .count();
        if staged >= rules.max_files {
            return Err(Error::conflict(format!(
                "{staged} files are waiting to be sent; send them or remove some before adding more (at most {})",
                rules.max_files
            )));
        }
        let counted = self.count_write(&self.stage_limit(), r.id.as_str()).await?;
        let case = &o.partition.dossier.case_id;
        let id = self.new_id();
        // A file in parts is joined outside the scanned prefix; the check of its SHA-256 copies
        // it under the dossier once (no copy of gigabytes when it is sent). Nothing can
        // overwrite it once its parts are joined (no PUT URL is ever made for that key).
        let (blob_key, parts) = if self.sent_in_parts(file.size) {
            let key = keys::joined_blob(case, &id);
            let parts = self.start_parts(&key, file.content_type.as_str()).await?;
            (key, Some(parts))
        } else {
            (keys::staged_blob(case, &id), None)
        };
        let doc = Document {
            blob_key,
            id,
            filename: file.filename,
            size: file.size,
            content_type: file.content_type,
            sha256: file.sha256,
            state: DocumentState::Staged,
            request_id: Some(r.id.clone()),
            delivery_id: None,
            publication_id: None,
            created_at: self.now(),
            scan: crate::model::ScanState::NotScanned,
            scan_note: None,
            sha256_verified: true,
            parts,
        };
        let upload = match &doc.parts {
            Some(parts) => UploadPlan::Parts {
                part_size: parts.part_size,
            },
            None => UploadPlan::Single(self.upload_target_for(&doc).await?),
        };
        let audit = self.link_entry(&o, "document.upload", document_object(&doc.id), origin);
        self.store
            .transact(vec![
                Write::create(doc.to_item(keys::dossier(case), keys::doc(&doc.id))),
                counted,
                Self::audit_write(&audit),
            ])
            .await?;
        audit.log();
        Ok(StagedUpload {
            document: DocumentView::from(&doc),
            upload,
        })
    }

    /// `DELETE /p/{token}/uploads/{id}`: removes a staged file (record and bytes).
    #[tracing::instrument(skip_all, fields(upload = %upload))]
    pub async fn remove_upload(
        &self,
        token: &LinkToken,
        upload: &Id,
        origin: &Origin,
    ) -> Result<()> {
        let o = self.open_link(token).await?;
        let doc = staged_of_link(&o, upload, "can no longer be removed")?;
        if let Some(parts) = doc.parts.as_ref().filter(|p| !p.completed) {
            if let Err(e) = self
                .blobs
                .abort_parts(&doc.blob_key, &parts.upload_id)
                .await
            {
                tracing::warn!(error = %e, "upload in parts not aborted; storage's expiry drops it");
            }
        }
        let case = &o.partition.dossier.case_id;
        let audit = self.link_entry(&o, "document.remove", document_object(&doc.id), origin);
        self.store
            .transact(vec![
                Write::Delete {
                    pk: keys::dossier(case),
                    sk: keys::doc(&doc.id),
                    condition: crate::ports::Condition::Equals("state".into(), "staged".into()),
                },
                Self::audit_write(&audit),
            ])
            .await
            .map_err(|_| Error::conflict(format!("{} was sent meanwhile", doc.filename)))?;
        audit.log();
        // After the commit: a failure here leaves only bytes under the dossier's prefixes,
        // which destruction removes.
        if let Err(e) = self.blobs.delete(&doc.blob_key).await {
            tracing::warn!(error = %e, "staged blob not deleted");
        }
        Ok(())
    }

    /// `GET /p/{token}/documents/{id}`: one of this request's delivered documents or a publication
    /// for it. Answers a short-lived URL.
    #[tracing::instrument(skip_all, fields(document = %document))]
    pub async fn portal_document_url(
        &self,
        token: &LinkToken,
        document: &Id,
        origin: &Origin,
    ) -> Result<String> {
        let o = self.open_link(token).await?;
        let r = o.request();
        let doc = o
            .partition
            .documents
            .iter()
            .find(|d| &d.id == document)
            .filter(|d| match d.state {
                DocumentState::Submitted | DocumentState::Approved | DocumentState::Staged => {
                    d.request_id.as_ref() == Some(&r.id)
                }
                DocumentState::Published => {
                    d.request_id.is_none() || d.request_id.as_ref() == Some(&r.id)
                }
                DocumentState::Rejected | DocumentState::Draft => false,
            })
            .ok_or_else(|| Error::not_found(format!("document {document}")))?;
        let url = self.download_url(doc, true).await?;
        self.audit_link(&o, "document.download", document_object(&doc.id), origin)
            .await?;
        Ok(url)
    }

    /// An audit entry for what a link holder did (a success: refusals are in the log lines).
    fn link_entry(&self, o: &Opened, action: &str, object: String, origin: &Origin) -> AuditEntry {
        self.audit_entry(
            &o.partition.dossier.case_id,
            action,
            object,
            AuditResult::Success,
            crate::usecases::audit::link_holder(&o.request_id),
            origin,
        )
    }

    /// Stores the entry of a read by a link holder: one write.
    async fn audit_link(
        &self,
        o: &Opened,
        action: &str,
        object: String,
        origin: &Origin,
    ) -> Result<()> {
        self.record_audit(&self.link_entry(o, action, object, origin))
            .await
    }

    /// Every download of a document goes through here: a quarantined (or, when scanning is
    /// required, unscanned) file gets no URL.
    pub(crate) async fn download_url(&self, doc: &Document, prefer_inline: bool) -> Result<String> {
        self.scan_permits(doc, "downloaded")?;
        Ok(self
            .blobs
            .download_url(DownloadSpec {
                key: &doc.blob_key,
                filename: doc.filename.as_str(),
                content_type: doc.content_type.as_str(),
                inline: prefer_inline && doc.content_type.is_inline_safe(),
                ttl: self.settings.download_ttl,
            })
            .await?)
    }
}

/// This link's staged document `upload`; a sent one is refused: "{file} was already sent and
/// {refusal}".
fn staged_of_link<'a>(o: &'a Opened, upload: &Id, refusal: &str) -> Result<&'a Document> {
    let r = o.request();
    let doc = o
        .partition
        .documents
        .iter()
        .find(|d| &d.id == upload && d.request_id.as_ref() == Some(&r.id))
        .ok_or_else(|| Error::not_found(format!("upload {upload}")))?;
    if doc.state != DocumentState::Staged {
        return Err(Error::conflict(format!(
            "{} was already sent and {refusal}",
            doc.filename
        )));
    }
    Ok(doc)
}

/// How the audit trail names a document.
fn document_object(id: &Id) -> String {
    format!("document:{id}")
}
