//! Case-type use cases: stored `CONFIG` items over the built-in Dutch defaults, changed by
//! `PUT` or JSON Merge Patch (conditional on what was read), previewed without saving.

use crate::casetype::{self, CaseType};
use crate::domain::Id;
use crate::error::{Error, Result};
use crate::mailtext::{self, Language};
use crate::model::{MailKind, Record, keys};
use crate::ports::{Store, Write};
use crate::service::{Portaal, with_retries};

/// Case-type configuration: stored `CONFIG` items over the built-in Dutch defaults.
impl Portaal {
    /// `GET /api/v1/case-types/{key}`: every text in force, defaults marked.
    pub async fn case_type_view(&self, key: &str) -> Result<crate::casetype::CaseTypeView> {
        Ok(self.case_type(key).await?.view())
    }

    pub async fn case_type(&self, key: &str) -> Result<CaseType> {
        load_case_type(self.store.as_ref(), key).await
    }

    pub async fn case_types(&self) -> Result<Vec<CaseType>> {
        let stored: Vec<CaseType> = self
            .store
            .query("CONFIG", "CASETYPE#")
            .await?
            .iter()
            .map(stored_case_type)
            .collect::<Result<_>>()?;
        let mut all = casetype::defaults();
        all.retain(|d| !stored.iter().any(|s| s.key == d.key));
        all.extend(stored);
        all.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
        Ok(all)
    }

    /// `PUT /api/v1/case-types/{key}`: the whole case type; texts equal to their defaults are
    /// not stored, so they follow the defaults.
    /// `actor` names the caller in the case type and in the audit line written with it.
    pub async fn put_case_type(&self, case_type: CaseType, actor: &str) -> Result<CaseType> {
        self.save_case_type(case_type, actor, crate::ports::Condition::None)
            .await
    }

    /// Saves a case type with its audit line, if `condition` still holds for the stored one.
    async fn save_case_type(
        &self,
        case_type: CaseType,
        actor: &str,
        condition: crate::ports::Condition,
    ) -> Result<CaseType> {
        let mut case_type = case_type.migrated().without_defaults();
        case_type.validate()?;
        let now = self.now();
        case_type.updated_by = Some(actor.to_owned());
        case_type.updated_at = Some(now);
        let (pk, sk) = keys::case_type(case_type.key.as_str());
        let audit = crate::model::ConfigChange {
            at: now,
            actor: actor.to_owned(),
            action: "case_type.changed".to_owned(),
            key: case_type.key.to_string(),
        };
        let id = Id::new_at(now);
        self.store
            .transact(vec![
                Write::Put {
                    item: case_type.to_item(pk, sk),
                    condition,
                },
                Write::create(audit.to_item(keys::CONFIG_AUDIT.to_owned(), format!("AT#{id}"))),
            ])
            .await?;
        Ok(case_type)
    }

    /// `PATCH /api/v1/case-types/{key}`: a JSON Merge Patch; `null` restores a default.
    pub async fn patch_case_type(
        &self,
        key: &str,
        patch: &serde_json::Value,
        actor: &str,
    ) -> Result<CaseType> {
        // Read, patch, write if nobody changed it meanwhile: two administrators patching
        // different settings at once both keep their change.
        with_retries(|| async {
            let (pk, sk) = keys::case_type(key);
            let stored = self.store.get(&pk, &sk).await?;
            let (current, condition) = match &stored {
                None => (
                    casetype::default_for(key)
                        .ok_or_else(|| Error::not_found(format!("case type {key}")))?,
                    crate::ports::Condition::NotExists,
                ),
                Some(item) => (
                    stored_case_type(item)?,
                    match item.attrs.get("updated_at") {
                        Some(at) => {
                            crate::ports::Condition::Equals("updated_at".into(), at.clone())
                        }
                        // Stored before changes were stamped: the first patch stamps it.
                        None => crate::ports::Condition::Exists,
                    },
                ),
            };
            self.save_case_type(current.merge_patch(patch)?, actor, condition)
                .await
        })
        .await
    }

    /// `POST /api/v1/case-types/{key}/preview`: a text (given, or the one in force) rendered
    /// with sample case data, without saving anything.
    pub async fn preview_mail(
        &self,
        key: &str,
        kind: MailKind,
        template: Option<&crate::casetype::Template>,
        language: Language,
    ) -> Result<mailtext::Rendered> {
        let case_type = self.case_type(key).await?;
        self.preview_of(&case_type, kind, template, language)
    }

    /// As [`Portaal::preview_mail`], for a case type read already.
    pub fn preview_of(
        &self,
        case_type: &CaseType,
        kind: MailKind,
        template: Option<&crate::casetype::Template>,
        language: Language,
    ) -> Result<mailtext::Rendered> {
        let template = template
            .cloned()
            .unwrap_or_else(|| case_type.template(kind, language));
        let mut sample = mailtext::sample_vars(
            kind,
            case_type.key.as_str(),
            &case_type.name,
            case_type.requires_decision(),
            language,
        );
        if !self.settings.org_name.is_empty() {
            sample.insert("org_name", self.settings.org_name.clone());
        }
        let field = language.template_field(kind);
        mailtext::preview(kind, language, &template, &field, &sample).map_err(Error::mistakes)
    }
}

/// A stored case type in today's shape, however old the item.
fn stored_case_type(item: &crate::ports::Item) -> Result<CaseType> {
    CaseType::from_item(item).map(CaseType::migrated)
}

/// A case type as stored, else its built-in default.
pub(crate) async fn load_case_type(store: &dyn Store, key: &str) -> Result<CaseType> {
    let (pk, sk) = keys::case_type(key);
    match store.get(&pk, &sk).await? {
        Some(item) => stored_case_type(&item),
        None => {
            casetype::default_for(key).ok_or_else(|| Error::not_found(format!("case type {key}")))
        }
    }
}
