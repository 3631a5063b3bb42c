//! *Bevestigen en versturen*: the staged files of a link become one delivery, in one
//! transaction with its events, mails and audit entry.

use std::ops::ControlFlow;

use super::*;

impl Portaal {
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
        let docs = match staged_uploads(p, r, ids)? {
            ControlFlow::Continue(docs) => docs,
            ControlFlow::Break(existing) => return Ok(Confirmed::AlreadyConfirmed(existing)),
        };
        self.accepting(&o)?;
        // Counted with the delivery it makes (a repeated confirm answered above is not).
        let counted = self
            .count_write(&self.delivery_limit(), r.id.as_str())
            .await?;
        let checked = self.keep_checked(&p.dossier.case_id, &docs).await?;

        let delivery = Delivery {
            id: self.new_id(),
            request_id: r.id.clone(),
            state: DeliveryState::Submitted,
            comment: comment.to_owned(),
            submitted_by: submitted_by.clone(),
            submitted_at: self.now(),
            documents: checked.iter().map(|d| d.id.clone()).collect(),
            decided_at: None,
            reason: None,
        };
        let submitted: Vec<Document> = checked
            .iter()
            .map(|d| Document {
                state: DocumentState::Submitted,
                delivery_id: Some(delivery.id.clone()),
                scan: self.initial_scan(),
                ..d.clone()
            })
            .collect();
        let audit = self.link_entry(
            &o,
            "delivery.confirm",
            format!("delivery:{}", delivery.id),
            origin,
        );
        let mut writes = vec![
            self.dossier_unchanged(&p.dossier),
            counted,
            Self::audit_write(&audit),
        ];
        writes.extend(self.delivery_writes(p, r, &delivery, &submitted).await?);
        writes.extend(self.verification_writes(&p.dossier.case_id, &submitted));
        if let Err(e) = self.store.transact(writes).await {
            // Not committed: this attempt's copies are nobody's (they are its own keys).
            self.discard_copies(&checked).await;
            return Err(e.into());
        }
        audit.log();
        // Files joined on S3 are sent where they were joined; what was copied goes.
        let copied: Vec<&str> = docs
            .iter()
            .zip(&checked)
            .filter(|(_, kept)| !kept.awaits_measured_copy())
            .map(|(staged, _)| staged.blob_key.as_str())
            .collect();
        self.discard_staged(&copied).await;
        Ok(Confirmed::Created(DeliveryView::build(
            &delivery, &submitted,
        )))
    }

    /// The delivery, its request moved on, its documents submitted (each only if still staged),
    /// its timeline event and its mails.
    async fn delivery_writes(
        &self,
        p: &Partition,
        r: &Request,
        delivery: &Delivery,
        submitted: &[Document],
    ) -> Result<Vec<Write>> {
        let request = Request {
            state: if r.state == RequestState::Open {
                RequestState::Delivered
            } else {
                r.state
            },
            delivered_at: r.delivered_at.or(Some(delivery.submitted_at)),
            rev: r.rev + 1,
            ..r.clone()
        };
        let case = &p.dossier.case_id;
        let pk = keys::dossier(case);
        let mut writes = vec![
            Write::create(delivery.to_item(pk.clone(), keys::delivery(&r.id, &delivery.id))),
            Write::replace_if(
                request.to_item(pk.clone(), keys::request(&r.id)),
                "rev",
                r.rev,
            ),
        ];
        writes.extend(
            self.delivery_mails(p, &request, delivery, submitted)
                .await?,
        );
        let event = self.delivery_event(p, delivery, &delivery.submitted_by);
        writes.extend(self.event_writes(case, &event));
        writes.extend(submitted.iter().map(|doc| {
            Write::replace_if(
                doc.to_item(pk.clone(), keys::doc(&doc.id)),
                "state",
                "staged",
            )
        }));
        Ok(writes)
    }
}

/// The link's staged uploads `ids` names, or the delivery they already form (a repeated
/// confirm); refused when one is unknown or was sent in another delivery.
fn staged_uploads<'a>(
    p: &'a Partition,
    r: &Request,
    ids: &BTreeSet<Id>,
) -> Result<ControlFlow<DeliveryView, Vec<&'a Document>>> {
    let docs: Vec<&Document> = ids
        .iter()
        .map(|id| {
            p.documents
                .iter()
                .find(|d| &d.id == id && d.request_id.as_ref() == Some(&r.id))
                .ok_or_else(|| Error::invalid(format!("upload {id} is not known for this link")))
        })
        .collect::<Result<_>>()?;
    if let Some(existing) = delivery_formed_by(p, ids) {
        return Ok(ControlFlow::Break(existing));
    }
    if let Some(sent) = docs.iter().find(|d| d.state != DocumentState::Staged) {
        return Err(Error::conflict(format!(
            "{} was already sent in another delivery",
            sent.filename
        )));
    }
    Ok(ControlFlow::Continue(docs))
}

impl Portaal {
    /// The handler's notice of a delivery, and the sender's receipt when their address is the
    /// organisation's (the form's address is whatever the sender typed).
    async fn delivery_mails(
        &self,
        p: &Partition,
        request: &Request,
        delivery: &Delivery,
        files: &[Document],
    ) -> Result<Vec<Write>> {
        let submitted_by = &delivery.submitted_by;
        let case = &p.dossier.case_id;
        let case_type = self.case_type(p.dossier.case_type.as_str()).await?;
        let vars = |language: Language| {
            let mut vars = dossier_vars(&p.dossier, language);
            request_vars(&mut vars, request);
            vars.insert("submitted_by", submitted_by.name.clone());
            vars.insert("submitted_at", mail_time(delivery.submitted_at, language));
            vars.insert("comment", delivery.comment.clone());
            vars.insert("files", file_list(files));
            vars
        };
        let mut writes = self.queue_mail(
            &case_type,
            case,
            Some(&request.id),
            MailKind::DeliveryReceived,
            Language::Nl,
            vec![p.dossier.handler.email.clone()],
            &vars(Language::Nl),
            None,
        );
        if self.may_mail(&submitted_by.email, request) {
            // The receipt carries the link for documents sent later.
            let mut receipt = vars(request.language);
            let (portal_url, link) = self.mail_link(request);
            receipt.insert("portal_url", portal_url);
            writes.extend(self.queue_mail(
                &case_type,
                case,
                Some(&request.id),
                MailKind::Receipt,
                request.language,
                vec![submitted_by.email.clone()],
                &receipt,
                link,
            ));
        } else {
            tracing::info!("receipt not mailed: the address is outside the organisation's domains");
        }
        Ok(writes)
    }

    /// The timeline's line for a delivery: the first through a link, or one sent later.
    fn delivery_event(
        &self,
        p: &Partition,
        delivery: &Delivery,
        submitted_by: &crate::model::Person,
    ) -> crate::model::Event {
        let first = p
            .deliveries
            .iter()
            .all(|d| d.request_id != delivery.request_id);
        let count = delivery.documents.len();
        let mut event = self.event(EventKind::DeliverySubmitted, Actor::Department);
        event.actor_name = Some(submitted_by.name.clone());
        event.request_id = Some(delivery.request_id.clone());
        event.delivery_id = Some(delivery.id.clone());
        event.summary = format!(
            "{} door {}: {count} {}",
            if first { "Aanlevering" } else { "Nazending" },
            submitted_by.name,
            if count == 1 { "document" } else { "documenten" }
        );
        event
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
