//! What a link holder does: see the request, stage files, confirm them as one delivery.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::audit::{AuditEntry, AuditResult, Origin};
use crate::casetype::MAX_FILES_PER_DELIVERY;
use crate::domain::{self, ContentType, Filename, Id, LinkToken, Sha256};
use crate::error::{Error, Result};
use crate::mailtext::Language;
use crate::model::{
    Actor, Delivery, DeliveryState, Document, DocumentState, EventKind, MailKind, Record, Request,
    RequestState, keys,
};
use crate::ports::{DownloadSpec, UploadSpec, UploadTarget, Write};
use crate::service::{Partition, Portaal, dossier_vars, mail_time, request_vars, with_retries};
use crate::usecases::dossier::{PersonInput, person};
use crate::usecases::limits::Limit;
use crate::views::{DeliveryView, DocumentView, PortalDossier, PortalRequest, PortalView};

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
    pub upload: UploadTarget,
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
    /// Two reads: the token item, then the dossier partition.
    async fn open_link(&self, token: &LinkToken) -> Result<Opened> {
        let token_ref = self.resolve_token(token).await?;
        let partition = self
            .partition(&token_ref.case_id)
            .await
            .map_err(|e| match e {
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
        Ok(Opened {
            partition,
            request_id: token_ref.request_id,
        })
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
        let o = self.open_link(token).await?;
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
            timeline: p
                .events
                .iter()
                .filter(|e| {
                    // Mail trouble is the handler's business (it names addresses).
                    e.kind != EventKind::MailFailed
                        && (e.request_id.as_ref() == Some(&r.id)
                            || e.kind == EventKind::PublicationPublished && e.request_id.is_none())
                })
                .cloned()
                .collect(),
            staged: p
                .documents
                .iter()
                .filter(mine)
                .filter(|doc| doc.state == DocumentState::Staged)
                .map(DocumentView::from)
                .collect(),
            upload: r.upload.clone(),
            accepting: r.state != RequestState::Withdrawn && d.is_open_at(self.now()),
        })
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
        let file = self.announce(input, rules.max_file_bytes, &rules.allowed_types)?;
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
        let doc = Document {
            blob_key: keys::staged_blob(case, &id),
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
        };
        let upload = self.upload_target_for(&doc).await?;
        let audit = self.link_entry(
            &o,
            "document.upload",
            format!("document:{}", doc.id),
            origin,
        );
        self.store
            .transact(vec![
                Write::create(doc.to_item(keys::dossier(case), keys::doc(&doc.id))),
                counted,
                Self::audit_write(&audit),
            ])
            .await?;
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
        let r = o.request();
        let doc = o
            .partition
            .documents
            .iter()
            .find(|d| &d.id == upload && d.request_id.as_ref() == Some(&r.id))
            .ok_or_else(|| Error::not_found(format!("upload {upload}")))?;
        if doc.state != DocumentState::Staged {
            return Err(Error::conflict(format!(
                "{} was already sent and can no longer be removed",
                doc.filename
            )));
        }
        let case = &o.partition.dossier.case_id;
        let audit = self.link_entry(
            &o,
            "document.remove",
            format!("document:{}", doc.id),
            origin,
        );
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
        // After the commit: a failure here leaves only bytes under the dossier's prefix, which
        // destruction removes.
        if let Err(e) = self.blobs.delete(&doc.blob_key).await {
            tracing::warn!(error = %e, "staged blob not deleted");
        }
        Ok(())
    }

    /// `POST /p/{token}/deliveries`: *Bevestigen en versturen*. The staged files become one delivery
    /// in one transaction with its events and mails; confirming the same files again answers the
    /// delivery they already form.
    #[tracing::instrument(skip_all)]
    pub async fn confirm_delivery(
        &self,
        token: &LinkToken,
        input: &ConfirmInput,
        origin: &Origin,
    ) -> Result<Confirmed> {
        let submitted_by = person("submitted_by", &input.submitted_by)?;
        let comment = domain::optional_text("comment", &input.comment, 4000)?;
        let ids: BTreeSet<Id> = input
            .uploads
            .iter()
            .map(|u| Id::parse(u))
            .collect::<Result<_>>()?;
        if ids.is_empty() {
            return Err(Error::invalid(
                "uploads is empty: add at least one file before sending",
            ));
        }
        if ids.len() > MAX_FILES_PER_DELIVERY {
            return Err(Error::invalid(format!(
                "at most {MAX_FILES_PER_DELIVERY} files can be sent at once"
            )));
        }
        let result =
            with_retries(|| self.try_confirm(token, &ids, &comment, &submitted_by, origin)).await;
        match result {
            // A concurrent confirm of the same files may have won the race (and removed the
            // staged copies this one was checking): then this one answers its delivery.
            Err(e) if !e.is_internal() || matches!(e, Error::Blob(_)) => {
                match self.existing_delivery(token, &ids).await {
                    Ok(Some(view)) => Ok(Confirmed::AlreadyConfirmed(view)),
                    _ => Err(e),
                }
            }
            other => other,
        }
    }

    /// The delivery these uploads already form, if any.
    async fn existing_delivery(
        &self,
        token: &LinkToken,
        ids: &BTreeSet<Id>,
    ) -> Result<Option<DeliveryView>> {
        let o = self.open_link(token).await?;
        Ok(delivery_formed_by(&o.partition, ids))
    }

    async fn try_confirm(
        &self,
        token: &LinkToken,
        ids: &BTreeSet<Id>,
        comment: &str,
        submitted_by: &crate::model::Person,
        origin: &Origin,
    ) -> Result<Confirmed> {
        let o = self.open_link(token).await?;
        let p = &o.partition;
        let r = o.request();
        let docs: Vec<&Document> = ids
            .iter()
            .map(|id| {
                p.documents
                    .iter()
                    .find(|d| &d.id == id && d.request_id.as_ref() == Some(&r.id))
                    .ok_or_else(|| {
                        Error::invalid(format!("upload {id} is not known for this link"))
                    })
            })
            .collect::<Result<_>>()?;

        // A repeated confirm of exactly these files answers the delivery they already form.
        if let Some(existing) = delivery_formed_by(p, ids) {
            return Ok(Confirmed::AlreadyConfirmed(existing));
        }
        if let Some(sent) = docs.iter().find(|d| d.state != DocumentState::Staged) {
            return Err(Error::conflict(format!(
                "{} was already sent in another delivery",
                sent.filename
            )));
        }
        self.accepting(&o)?;
        // Counted with the delivery it makes (a repeated confirm answered above is not).
        let counted = self
            .count_write(&self.delivery_limit(), r.id.as_str())
            .await?;

        let case = &p.dossier.case_id;
        let mut checked = Vec::with_capacity(docs.len());
        for doc in &docs {
            let kept = async {
                let verified = self.verify_upload(doc).await?;
                // Checked where it was uploaded, before a copy is made.
                self.check_content(&verified).await?;
                self.keep(case, verified).await
            }
            .await;
            match kept {
                Ok(kept) => checked.push(kept),
                Err(e) => {
                    self.discard_copies(&checked).await;
                    return Err(e);
                }
            }
        }

        let now = self.now();
        let delivery = Delivery {
            id: self.new_id(),
            request_id: r.id.clone(),
            state: DeliveryState::Submitted,
            comment: comment.to_owned(),
            submitted_by: submitted_by.clone(),
            submitted_at: now,
            documents: checked.iter().map(|d| d.id.clone()).collect(),
            decided_at: None,
            reason: None,
        };
        let request = Request {
            state: if r.state == RequestState::Open {
                RequestState::Delivered
            } else {
                r.state
            },
            delivered_at: r.delivered_at.or(Some(now)),
            rev: r.rev + 1,
            ..r.clone()
        };
        let pk = keys::dossier(case);
        let first = p.deliveries.iter().all(|d| d.request_id != r.id);
        let mut event = self.event(EventKind::DeliverySubmitted, Actor::Department);
        event.actor_name = Some(submitted_by.name.clone());
        event.request_id = Some(r.id.clone());
        event.delivery_id = Some(delivery.id.clone());
        event.summary = format!(
            "{} door {}: {} {}",
            if first { "Aanlevering" } else { "Nazending" },
            submitted_by.name,
            checked.len(),
            if checked.len() == 1 {
                "document"
            } else {
                "documenten"
            }
        );

        let case_type = self.case_type(p.dossier.case_type.as_str()).await?;
        let delivery_vars = |language: Language| {
            let mut vars = dossier_vars(&p.dossier, language);
            request_vars(&mut vars, &request);
            vars.insert("submitted_by", submitted_by.name.clone());
            vars.insert("submitted_at", mail_time(now, language));
            vars.insert("comment", comment.to_owned());
            vars.insert("files", file_list(&checked));
            vars
        };

        let audit = self.link_entry(
            &o,
            "delivery.confirm",
            format!("delivery:{}", delivery.id),
            origin,
        );
        let mut writes = [
            self.dossier_unchanged(&p.dossier),
            counted,
            Self::audit_write(&audit),
            Write::create(delivery.to_item(pk.clone(), keys::delivery(&r.id, &delivery.id))),
            Write::replace_if(
                request.to_item(pk.clone(), keys::request(&r.id)),
                "rev",
                r.rev,
            ),
        ]
        .into_iter()
        .chain(self.queue_mail(
            &case_type,
            case,
            Some(&r.id),
            MailKind::DeliveryReceived,
            Language::Nl,
            vec![p.dossier.handler.email.clone()],
            &delivery_vars(Language::Nl),
            None,
        ))
        .collect::<Vec<_>>();
        // Only to the organisation: the form's address is whatever the sender typed.
        if self.may_mail(&submitted_by.email, r) {
            // The receipt carries the link for documents sent later.
            let mut vars = delivery_vars(r.language);
            let (portal_url, link) = self.mail_link(r);
            vars.insert("portal_url", portal_url);
            writes.extend(self.queue_mail(
                &case_type,
                case,
                Some(&r.id),
                MailKind::Receipt,
                r.language,
                vec![submitted_by.email.clone()],
                &vars,
                link,
            ));
        } else {
            tracing::info!("receipt not mailed: the address is outside the organisation's domains");
        }
        writes.extend(self.event_writes(case, &event));
        for doc in &checked {
            let submitted = Document {
                state: DocumentState::Submitted,
                delivery_id: Some(delivery.id.clone()),
                scan: self.initial_scan(),
                ..doc.clone()
            };
            writes.push(Write::replace_if(
                submitted.to_item(pk.clone(), keys::doc(&doc.id)),
                "state",
                "staged",
            ));
        }
        if let Err(e) = self.store.transact(writes).await {
            // Not committed: this attempt's copies are nobody's (they are its own keys).
            self.discard_copies(&checked).await;
            return Err(e.into());
        }
        self.discard_staged(&docs.iter().map(|d| d.blob_key.as_str()).collect::<Vec<_>>())
            .await;
        let submitted: Vec<Document> = checked
            .into_iter()
            .map(|d| Document {
                state: DocumentState::Submitted,
                delivery_id: Some(delivery.id.clone()),
                scan: self.initial_scan(),
                ..d
            })
            .collect();
        Ok(Confirmed::Created(DeliveryView::build(
            &delivery, &submitted,
        )))
    }

    /// Whether bytes may still arrive for this staged key: only while its document is staged (a
    /// delivery's file) or a draft (a publication's). A removed or sent upload's URL stores
    /// nothing, however long its signature is valid. One read.
    pub async fn accepts_upload(&self, key: &str) -> Result<bool> {
        let Some((case, id)) = keys::parse_staged_blob(key) else {
            return Ok(false);
        };
        let Some(item) = self
            .store
            .get(&keys::dossier(&case), &keys::doc(&id))
            .await?
        else {
            return Ok(false);
        };
        let doc = Document::from_item(&item)?;
        Ok(
            doc.blob_key == key
                && matches!(doc.state, DocumentState::Staged | DocumentState::Draft),
        )
    }

    /// Compares what storage holds with what was announced; answers the document with its SHA-256.
    pub(crate) async fn verify_upload(&self, doc: &Document) -> Result<Document> {
        let info = self.blobs.stat(&doc.blob_key).await?.ok_or_else(|| {
            Error::invalid(format!(
                "{} has not been uploaded (completely); upload it again",
                doc.filename
            ))
        })?;
        if info.size != doc.size {
            return Err(Error::invalid(format!(
                "{}: {} bytes arrived but {} were announced; upload it again",
                doc.filename, info.size, doc.size
            )));
        }
        let sha256 = match (&doc.sha256, info.sha256) {
            (Some(announced), Some(measured)) if *announced != measured => {
                return Err(Error::invalid(format!(
                    "{}: the SHA-256 of what arrived differs from the one announced; upload it again",
                    doc.filename
                )));
            }
            (_, Some(measured)) => measured,
            // Storage that cannot vouch for the bytes (S3 refused the checksum, or none was
            // sent) never turns an upload into a document.
            (_, None) => {
                return Err(Error::invalid(format!(
                    "{}: storage could not verify the file's SHA-256; upload it again",
                    doc.filename
                )));
            }
        };
        Ok(Document {
            sha256: Some(sha256),
            ..doc.clone()
        })
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
        self.audit_link(
            &o,
            "document.download",
            format!("document:{}", doc.id),
            origin,
        )
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
            crate::audit::link_holder(&o.request_id),
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

/// A file as announced before its bytes are sent: name, type, size and (maybe) SHA-256, checked.
pub(crate) struct Announced {
    pub filename: Filename,
    pub content_type: ContentType,
    pub size: u64,
    pub sha256: Option<Sha256>,
}

impl Portaal {
    /// Checks an announcement against the limits (`allowed_types` empty: any type).
    pub(crate) fn announce(
        &self,
        input: &UploadInput,
        max_bytes: u64,
        allowed_types: &[String],
    ) -> Result<Announced> {
        let filename = Filename::parse(&input.filename)?;
        let content_type = ContentType::parse(&input.content_type)?;
        let sha256 = input
            .sha256
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(Sha256::parse)
            .transpose()?;
        if input.size == 0 {
            return Err(Error::invalid(format!("{filename} is empty")));
        }
        if input.size > max_bytes {
            return Err(Error::TooLarge(format!(
                "{filename} is {} bytes; at most {max_bytes} bytes are allowed per file",
                input.size
            )));
        }
        if !allowed_types.is_empty() && !allowed_types.iter().any(|t| t == content_type.as_str()) {
            return Err(Error::UnsupportedType(format!(
                "{filename}: type {content_type} is not accepted; allowed are: {}",
                allowed_types.join(", ")
            )));
        }
        if sha256.is_none() && self.blobs.needs_announced_sha256() {
            return Err(Error::invalid(
                "sha256 is required: give the file's SHA-256 (hex) when announcing it",
            ));
        }
        Ok(Announced {
            filename,
            content_type,
            size: input.size,
            sha256,
        })
    }

    /// Copies a verified upload from the staging area to a copy of this attempt's own under the
    /// dossier (server-side) and answers the document pointing there. Storage that can tell the
    /// copy's SHA-256 must tell the verified one: a re-upload racing the copy is caught.
    pub(crate) async fn keep(
        &self,
        case: &crate::domain::CaseId,
        doc: Document,
    ) -> Result<Document> {
        let kept = keys::blob_copy(case, &doc.id, &self.new_id());
        self.blobs.copy(&doc.blob_key, &kept).await?;
        if let Some(info) = self.blobs.stat(&kept).await? {
            if (info.sha256.is_some() && info.sha256 != doc.sha256) || info.size != doc.size {
                let _ = self.blobs.delete(&kept).await;
                return Err(Error::invalid(format!(
                    "{} changed while it was being sent; upload it again",
                    doc.filename
                )));
            }
        }
        Ok(Document {
            blob_key: kept,
            ..doc
        })
    }

    /// Refuses a file whose bytes are not what its content type announced. Reads only the head
    /// and tail ranges the rules need.
    pub(crate) async fn check_content(&self, doc: &Document) -> Result<()> {
        use crate::content::{HEAD_BYTES, Sample, TAIL_BYTES};
        let head = self
            .blobs
            .read_range(&doc.blob_key, 0, doc.size.min(HEAD_BYTES))
            .await?;
        let tail = if doc.size > HEAD_BYTES {
            let start = doc.size.saturating_sub(TAIL_BYTES);
            self.blobs
                .read_range(&doc.blob_key, start, doc.size - start)
                .await?
        } else {
            Vec::new()
        };
        let sample = Sample {
            head: &head,
            tail: &tail,
        };
        let Err(mismatch) = crate::content::check(doc.content_type.as_str(), &sample) else {
            return Ok(());
        };
        tracing::warn!(content_type = %doc.content_type, reason = %mismatch.english(), "content refused");
        Err(Error::Unprocessable(format!(
            "{name}: de inhoud past niet bij het type {ct} ({nl}); er is niets verstuurd. / \
             {name}: the content does not match the type {ct} ({en}); nothing was sent.",
            name = doc.filename,
            ct = doc.content_type,
            nl = mismatch.dutch(),
            en = mismatch.english(),
        )))
    }

    /// Removes copies an attempt made that did not commit.
    pub(crate) async fn discard_copies(&self, copies: &[Document]) {
        for doc in copies {
            if let Err(e) = self.blobs.delete(&doc.blob_key).await {
                tracing::warn!(error = %e, "copy of an attempt that did not commit not deleted");
            }
        }
    }

    /// After the commit: staged copies are no longer needed. A failure leaves them to the
    /// storage's expiry of abandoned uploads (and to destruction).
    pub(crate) async fn discard_staged(&self, keys: &[&str]) {
        for key in keys {
            if let Err(e) = self.blobs.delete(key).await {
                tracing::warn!(error = %e, "staged copy not deleted");
            }
        }
    }

    /// The signed upload for a document's blob: size, type and SHA-256 fixed by the signature.
    pub(crate) async fn upload_target_for(&self, doc: &Document) -> Result<UploadTarget> {
        Ok(self
            .blobs
            .upload_target(UploadSpec {
                key: &doc.blob_key,
                size: doc.size,
                content_type: doc.content_type.as_str(),
                sha256: doc.sha256.as_ref(),
                ttl: self.settings.upload_ttl,
            })
            .await?)
    }
}

/// The delivery made of exactly these uploads, if they form one.
fn delivery_formed_by(p: &Partition, ids: &BTreeSet<Id>) -> Option<DeliveryView> {
    let first = p.documents.iter().find(|d| ids.contains(&d.id))?;
    let existing = p.delivery(first.delivery_id.as_ref()?).ok()?;
    let same: BTreeSet<&Id> = existing.documents.iter().collect();
    (same == ids.iter().collect()).then(|| DeliveryView::build(existing, &p.documents))
}

/// One line per file, with size and SHA-256: the receipt's proof of what arrived.
fn file_list(docs: &[Document]) -> String {
    docs.iter()
        .map(|d| {
            format!(
                "- {} ({} bytes, SHA-256 {})",
                d.filename,
                d.size,
                d.sha256.as_ref().map(|s| s.as_str()).unwrap_or("onbekend")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
