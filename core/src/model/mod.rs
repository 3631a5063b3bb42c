//! What the store keeps (records) and how keys are made. Records are serde structs; an item is a
//! record's JSON object plus its keys, index keys and TTL attribute.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Map, Value};

use crate::domain::{
    CaseId, CaseTypeKey, ContentType, Date, Email, Filename, Id, Sha256, TokenHash, UploadRules,
};
use crate::error::Error;
use crate::ports::{Index, Item, TTL_ATTR};

pub mod index_keys;
pub mod keys;

mod destruction;
mod documents;
mod dossier;
mod events;
mod mail;
mod request;

pub use destruction::*;
pub use documents::*;
pub use dossier::*;
pub use events::*;
pub use mail::*;
pub use request::*;

/// A record type stored as items.
pub trait Record: Serialize + DeserializeOwned {
    /// Extra attributes besides the record's own fields: index keys and TTL.
    fn index_attrs(&self) -> Vec<(&'static str, Value)> {
        Vec::new()
    }

    fn to_item(&self, pk: String, sk: String) -> Item {
        let Value::Object(mut attrs) =
            serde_json::to_value(self).expect("records serialise to objects")
        else {
            unreachable!("records are structs")
        };
        for (k, v) in self.index_attrs() {
            attrs.insert(k.to_owned(), v);
        }
        Item { pk, sk, attrs }
    }

    fn from_item(item: &Item) -> Result<Self, Error> {
        let mut attrs: Map<String, Value> = item.attrs.clone();
        for index in Index::ALL {
            attrs.remove(index.pk_attr());
            attrs.remove(index.sk_attr());
        }
        attrs.remove(TTL_ATTR);
        serde_json::from_value(Value::Object(attrs))
            .map_err(|e| Error::Corrupt(format!("item {} {}: {e}", item.pk, item.sk)))
    }
}
