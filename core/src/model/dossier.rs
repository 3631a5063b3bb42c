//! The dossier: a case as the case system registered it, open or handled.

use super::*;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Submitter {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Decision {
    pub reference: String,
    pub date: Date,
    #[serde(default)]
    pub subject: String,
    pub department: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Person {
    pub name: String,
    pub email: Email,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DossierStatus {
    Open,
    Closed,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Hold {
    pub reason: String,
    pub since: DateTime<Utc>,
}

/// A dossier under a legal hold, as the holds index lists it: an item beside the dossier's own
/// (`HOLD`), written and removed in the transaction that sets or lifts the hold, so the records
/// manager's list is one index read and goes with the dossier when it is destroyed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HeldDossier {
    pub case_id: CaseId,
    pub title: String,
    #[serde(flatten)]
    pub hold: Hold,
}

impl Record for HeldDossier {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        vec![
            (Index::Expiry.pk_attr(), Value::from(index_keys::HOLDS)),
            (Index::Expiry.sk_attr(), Value::from(self.listed())),
        ]
    }
}

impl HeldDossier {
    pub fn of(dossier: &Dossier) -> Option<Self> {
        dossier.hold.clone().map(|hold| Self {
            case_id: dossier.case_id.clone(),
            title: dossier.title.clone(),
            hold,
        })
    }

    /// Its position in the holds index: oldest hold first.
    pub fn listed(&self) -> String {
        format!("{}#{}", keys::time_key(self.hold.since), self.case_id)
    }

    /// The write that keeps the index true for `dossier`: its entry while held, none after.
    pub fn write_for(dossier: &Dossier) -> crate::ports::Write {
        let pk = keys::dossier(&dossier.case_id);
        match Self::of(dossier) {
            Some(held) => crate::ports::Write::put(held.to_item(pk, keys::HOLD.to_owned())),
            None => crate::ports::Write::delete(pk, keys::HOLD),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Dossier {
    pub case_id: CaseId,
    pub case_type: CaseTypeKey,
    pub case_type_name: String,
    /// Copied from the case type so the portal page needs no configuration read.
    pub show_submitter: bool,
    pub title: String,
    pub remarks: String,
    pub submitter: Submitter,
    /// The decision the case is about; a Woo-verzoek or klacht may concern none.
    #[serde(default)]
    pub decision: Option<Decision>,
    pub handler: Person,
    pub status: DossierStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub result: Option<String>,
    /// When the links of a handled (closed) dossier stop; until then they read, without uploads.
    /// Absent on dossiers closed before this existed: their links stopped at the close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<DateTime<Utc>>,
    /// When the dossier is destroyed (closed dossiers only).
    #[serde(default, rename = "destroy_at")]
    pub destroy_at: Option<DateTime<Utc>>,
    /// The case type's terms when it was closed: the rule its destruction record names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_after_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroy_after_days: Option<u32>,
    #[serde(default)]
    pub hold: Option<Hold>,
    /// Destruction has begun: from here on the dossier cannot be reopened or held.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroying: bool,
    /// Bumped on every change; writes are conditional on it.
    pub rev: u64,
}

impl Dossier {
    /// Open for changes: not handled, and not past its destruction time even if TTL has not
    /// removed it yet.
    pub fn is_open_at(&self, now: DateTime<Utc>) -> bool {
        self.status == DossierStatus::Open && self.destroy_at.is_none_or(|t| t > now)
    }

    /// Its links still show it: open, or handled but before `closes_at`.
    pub fn is_readable_at(&self, now: DateTime<Utc>) -> bool {
        self.is_open_at(now)
            || (self.status == DossierStatus::Closed
                && self.closes_at.is_some_and(|t| t > now)
                && self.destroy_at.is_none_or(|t| t > now))
    }
}

impl Record for Dossier {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        // Listed newest first by status, and by status and case type.
        let listed = format!("{}#{}", keys::time_key(self.created_at), self.case_id);
        let (by_status, by_status_key) = index_keys::dossiers(self.status, None);
        let (by_type, by_type_key) = index_keys::dossiers(self.status, Some(&self.case_type));
        let mut attrs = vec![
            (by_status.pk_attr(), Value::from(by_status_key)),
            (by_status.sk_attr(), Value::from(listed.clone())),
            (by_type.pk_attr(), Value::from(by_type_key)),
            (by_type.sk_attr(), Value::from(listed)),
        ];
        attrs.extend(self.expiry_attrs());
        attrs
    }
}

impl Dossier {
    /// Closed dossiers are listed by destruction time, legal holds included (the records
    /// manager sees them); TTL, the backstop that destroys, only without a hold.
    fn expiry_attrs(&self) -> Vec<(&'static str, Value)> {
        let Some(at) = self.destroy_at else {
            return Vec::new();
        };
        let mut attrs = vec![
            (Index::Expiry.pk_attr(), Value::from(index_keys::EXPIRY)),
            (Index::Expiry.sk_attr(), Value::from(self.expiry_key())),
        ];
        if self.hold.is_none() {
            attrs.push((TTL_ATTR, Value::from(at.timestamp())));
        }
        attrs
    }

    /// Its position in the list by destruction time.
    pub fn expiry_key(&self) -> String {
        self.destroy_at.map_or_else(String::new, |at| {
            format!(
                "{}#{}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                self.case_id
            )
        })
    }
}
