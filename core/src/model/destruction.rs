//! What remains of a destroyed dossier.

use super::*;

/// What remains of a destroyed dossier (Archiefwet: what, when, on which rule): no personal
/// data, no case number, no reversible identifier.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Destruction {
    /// HMAC of the case number under the records key ([`crate::sealing::RecordsKey`]): the
    /// portal finds a case's record; nobody without the key can tell which case it was.
    #[serde(default)]
    pub case_ref: String,
    /// Records written before `case_ref`: the bare SHA-256 of the case number (migrated away).
    #[serde(default, skip_serializing)]
    pub case_hash: Option<String>,
    /// Unknown when TTL removed the dossier's main item before the purge could read it.
    pub case_type: Option<CaseTypeKey>,
    /// The rule applied: the case type's terms when the dossier was handled.
    #[serde(default)]
    pub close_after_days: Option<u32>,
    #[serde(default)]
    pub destroy_after_days: Option<u32>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When destruction was due.
    #[serde(default)]
    pub destroy_at: Option<DateTime<Utc>>,
    pub destroyed_at: DateTime<Utc>,
    /// Documents of the dossier (every state) and their bytes.
    #[serde(default)]
    pub documents: u64,
    #[serde(default)]
    pub bytes: u64,
    /// Store items and stored files removed.
    pub items: u64,
    pub files: u64,
}

impl Record for Destruction {
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        let (index, pk) = index_keys::destroyed();
        vec![
            (index.pk_attr(), Value::from(pk)),
            (index.sk_attr(), Value::from(self.listed())),
        ]
    }
}

impl Destruction {
    /// Its position in the list by destruction time.
    pub fn listed(&self) -> String {
        format!(
            "{}#{}",
            self.destroyed_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            self.case_ref
        )
    }
}
