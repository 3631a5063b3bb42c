//! Publishing documents to the department: the case system uploads a file through a signed URL,
//! then publishes it; the department is mailed and sees it in the portal's history.

use serde::Deserialize;

use crate::domain::{self, CaseId, Id};
use crate::error::{Error, Result};
use crate::format::{dossier_vars, request_vars};
use crate::model::{
    Actor, Document, DocumentState, EventKind, MailKind, Publication, PublicationState, Record,
    Request, RequestState, keys,
};
use crate::partition::Partition;
use crate::ports::{Condition, UploadTarget, Write};
use crate::service::{Portaal, with_retries};
use crate::usecases::portal::UploadInput;
use crate::views::PublicationView;

#[derive(Clone, Debug, Deserialize)]
pub struct PublicationInput {
    /// `filename`, `content_type`, `size`, optional `sha256`: as for a staged upload.
    #[serde(flatten)]
    pub file: UploadInput,
    /// The audience; default every request of the dossier.
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PublicationDraft {
    pub id: Id,
    pub document_id: Id,
    pub upload: UploadTarget,
}

/// Publications are at most this large (they come from the case system, not from a drop zone).
const MAX_PUBLICATION_BYTES: u64 = 500 * 1024 * 1024;

impl Portaal {
    /// `POST …/publications`: announces the document and answers where to upload it.
    #[tracing::instrument(skip(self, input), fields(case = %case))]
    pub async fn create_publication(
        &self,
        case: &CaseId,
        input: &PublicationInput,
    ) -> Result<PublicationDraft> {
        let file = self.announce(&input.file, MAX_PUBLICATION_BYTES, &[], false)?;
        let message = domain::optional_text("message", &input.message, 4000)?;
        let audience = input.request_id.as_deref().map(Id::parse).transpose()?;
        let p = self.partition(case).await?;
        if !p.dossier.is_open_at(self.now()) {
            return Err(Error::Gone(format!("dossier {case} is closed")));
        }
        if let Some(request) = &audience {
            p.request(request)?;
        }
        let (id, document_id) = (self.new_id(), self.new_id());
        let doc = Document {
            blob_key: keys::staged_blob(case, &document_id),
            id: document_id.clone(),
            filename: file.filename,
            size: file.size,
            content_type: file.content_type,
            sha256: file.sha256,
            state: DocumentState::Draft,
            request_id: audience.clone(),
            delivery_id: None,
            publication_id: Some(id.clone()),
            created_at: self.now(),
            scan: crate::model::ScanState::NotScanned,
            scan_note: None,
            sha256_verified: true,
            parts: None,
        };
        let publication = Publication {
            id: id.clone(),
            document_id: document_id.clone(),
            request_id: audience,
            message,
            state: PublicationState::Draft,
            created_at: self.now(),
            published_at: None,
        };
        let upload = self.upload_target_for(&doc).await?;
        let pk = keys::dossier(case);
        self.store
            .transact(vec![
                Write::Check {
                    pk: pk.clone(),
                    sk: keys::META.into(),
                    condition: Condition::Equals("status".into(), "open".into()),
                },
                Write::create(doc.to_item(pk.clone(), keys::doc(&document_id))),
                Write::create(publication.to_item(pk, keys::publication(&id))),
            ])
            .await?;
        Ok(PublicationDraft {
            id,
            document_id,
            upload,
        })
    }

    /// `POST …/publications/{id}/publish`: checks the uploaded file, shows it to the audience and
    /// mails them. Publishing again answers the publication unchanged.
    #[tracing::instrument(skip(self), fields(case = %case))]
    pub async fn publish(&self, case: &CaseId, id: &Id) -> Result<PublicationView> {
        with_retries(|| self.try_publish(case, id)).await
    }

    async fn try_publish(&self, case: &CaseId, id: &Id) -> Result<PublicationView> {
        let p = self.partition(case).await?;
        if !p.dossier.is_open_at(self.now()) {
            return Err(Error::Gone(format!("dossier {case} is closed")));
        }
        let publication = p
            .publications
            .iter()
            .find(|x| &x.id == id)
            .ok_or_else(|| Error::not_found(format!("publication {id}")))?;
        let without_document = || Error::Corrupt(format!("publication {id} without its document"));
        if publication.state == PublicationState::Published {
            return self
                .publication_views(&p, None)
                .into_iter()
                .find(|v| &v.id == id)
                .ok_or_else(without_document);
        }
        let doc = p
            .documents
            .iter()
            .find(|d| d.id == publication.document_id)
            .ok_or_else(without_document)?;
        let audience = audience(&p, publication)?;
        let published = Publication {
            state: PublicationState::Published,
            published_at: Some(self.now()),
            ..publication.clone()
        };
        let mut event = self.event(EventKind::PublicationPublished, Actor::CaseSystem);
        event.request_id = publication.request_id.clone();
        event.publication_id = Some(id.clone());
        event.summary = format!("Document gepubliceerd: {}", doc.filename);
        let event_writes = self.event_writes(case, &event);
        // The dossier check, the publication, its document, the event, and one mail per
        // recipient, checked before any copy is made.
        let mails: usize = audience.iter().map(|r| r.to.len()).sum();
        if 3 + event_writes.len() + mails > crate::ports::MAX_TRANSACTION_WRITES {
            return Err(Error::conflict(format!(
                "{} requests would be mailed at once; publish to one request at a time (request_id)",
                audience.len()
            )));
        }
        let kept = self
            .keep_checked(case, &[doc])
            .await?
            .pop()
            .ok_or_else(|| Error::Corrupt(format!("publication {id} kept no copy")))?;
        let document = Document {
            state: DocumentState::Published,
            scan: self.initial_scan(),
            ..kept
        };
        let pk = keys::dossier(case);
        let mut writes = vec![
            self.dossier_unchanged(&p.dossier),
            Write::replace_if(
                published.to_item(pk.clone(), keys::publication(id)),
                "state",
                "draft",
            ),
            Write::replace_if(
                document.to_item(pk.clone(), keys::doc(&document.id)),
                "state",
                "draft",
            ),
        ];
        writes.extend(event_writes);
        match self
            .publication_mails(&p, &audience, &document, &published)
            .await
        {
            Ok(mails) => writes.extend(mails),
            Err(e) => {
                self.discard_copies(std::slice::from_ref(&document)).await;
                return Err(e);
            }
        }
        if let Err(e) = self.store.transact(writes).await {
            self.discard_copies(std::slice::from_ref(&document)).await;
            return Err(e.into());
        }
        self.discard_staged(&[doc.blob_key.as_str()]).await;
        Ok(PublicationView {
            id: id.clone(),
            document: (&document).into(),
            request_id: published.request_id.clone(),
            message: published.message.clone(),
            published_at: published.published_at,
        })
    }

    /// One mail item per recipient of each request in the audience.
    async fn publication_mails(
        &self,
        p: &Partition,
        audience: &[&Request],
        document: &Document,
        published: &Publication,
    ) -> Result<Vec<Write>> {
        let case = &p.dossier.case_id;
        let case_type = self.case_type(p.dossier.case_type.as_str()).await?;
        let mut writes = Vec::new();
        for request in audience {
            let mut vars = dossier_vars(&p.dossier, request.language);
            request_vars(&mut vars, request);
            let (portal_url, link) = self.mail_link(request);
            vars.insert("portal_url", portal_url);
            vars.insert("filename", document.filename.to_string());
            vars.insert("message", published.message.clone());
            writes.extend(self.queue_mail(
                &case_type,
                case,
                Some(&request.id),
                MailKind::Publication,
                request.language,
                request.to.clone(),
                &vars,
                link,
            ));
        }
        Ok(writes)
    }
}

/// The requests whose department sees the publication: the one it names, or every request not
/// withdrawn.
fn audience<'a>(p: &'a Partition, publication: &Publication) -> Result<Vec<&'a Request>> {
    let audience: Vec<_> = p
        .requests
        .iter()
        .filter(|r| r.state != RequestState::Withdrawn)
        .filter(|r| publication.request_id.as_ref().is_none_or(|a| a == &r.id))
        .collect();
    if audience.is_empty() {
        return Err(Error::conflict(
            "there is no (open) request whose department could see this publication",
        ));
    }
    Ok(audience)
}
