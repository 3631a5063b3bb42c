//! The one conversion between DynamoDB items and the store port's [`Item`], by serde_dynamo: the
//! SDK's answers and the stream's images (aws_lambda_events hands those over as serde_dynamo
//! items) go through the same rules.
//!
//! Keys `pk`/`sk` are strings; every other attribute maps from JSON (string→S, number→N,
//! bool→BOOL, null→NULL, array→L, object→M) and back. A number reads as an integer when it is
//! one (i64, else u64), else as a float. Sets read as arrays and binaries as base64 strings (the
//! adapter never writes them, but the table may hold them).

use std::collections::HashMap;
use std::fmt;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use portaal_core::ports::{Item, StoreError};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Serialize, Serializer};
use serde_json::{Map, Number, Value};

pub const PK: &str = "pk";
pub const SK: &str = "sk";

/// An item as a DynamoDB item. The key attributes win over attributes of the same name.
pub fn to_dynamo_item(item: &Item) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::aws_sdk_dynamodb_1::to_item(Keyed(item)).map_err(mapping_error)
}

/// A JSON value as a DynamoDB attribute value.
pub fn to_attribute(value: &Value) -> Result<AttributeValue, StoreError> {
    serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(value).map_err(mapping_error)
}

/// A DynamoDB item (an SDK answer, or a stream image) as an item: `pk` and `sk` must be strings.
pub fn from_dynamo_item(raw: impl Into<serde_dynamo::Item>) -> Result<Item, StoreError> {
    let Attributes(mut attrs) = serde_dynamo::from_item(raw).map_err(mapping_error)?;
    let mut key = |name: &str| match attrs.remove(name) {
        Some(Value::String(s)) => Ok(s),
        _ => Err(StoreError::Backend(format!(
            "DynamoDB item without a string `{name}`"
        ))),
    };
    let pk = key(PK)?;
    let sk = key(SK)?;
    Ok(Item { pk, sk, attrs })
}

fn mapping_error(e: serde_dynamo::Error) -> StoreError {
    StoreError::Backend(format!("DynamoDB item mapping: {e}"))
}

/// An item's attributes with its keys after them, so the keys win.
struct Keyed<'a>(&'a Item);

impl Serialize for Keyed<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Item { pk, sk, attrs } = self.0;
        let mut map = serializer.serialize_map(Some(attrs.len() + 2))?;
        for (name, value) in attrs.iter().filter(|(name, _)| *name != PK && *name != SK) {
            map.serialize_entry(name, value)?;
        }
        map.serialize_entry(PK, pk)?;
        map.serialize_entry(SK, sk)?;
        map.end()
    }
}

/// An item's attributes as JSON.
struct Attributes(Map<String, Value>);

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_map(AttributeVisitor)? {
            Value::Object(map) => Ok(Attributes(map)),
            _ => Err(de::Error::custom("a DynamoDB item is a map")),
        }
    }
}

/// One attribute value as JSON: serde_json's own reading, but a binary becomes its base64 text.
struct Attribute(Value);

impl<'de> Deserialize<'de> for Attribute {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(AttributeVisitor)
            .map(Attribute)
    }
}

struct AttributeVisitor;

impl<'de> Visitor<'de> for AttributeVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a DynamoDB attribute value")
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Value, E> {
        Number::from_f64(n)
            .map(Value::Number)
            .ok_or_else(|| E::custom("DynamoDB answered a number that is not finite"))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }
    fn visit_bytes<E>(self, b: &[u8]) -> Result<Value, E> {
        Ok(Value::String(
            base64::engine::general_purpose::STANDARD.encode(b),
        ))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut list = Vec::new();
        while let Some(Attribute(value)) = seq.next_element()? {
            list.push(value);
        }
        Ok(Value::Array(list))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some((name, Attribute(value))) = map.next_entry::<String, Attribute>()? {
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;
    use serde_json::json;

    fn attrs(value: Value) -> Map<String, Value> {
        let Value::Object(map) = value else {
            unreachable!()
        };
        map
    }

    #[test]
    fn items_map_both_ways_exactly() {
        let item = Item::new(
            "DOSSIER#1",
            "META",
            attrs(json!({
                "rev": 1, "big": u64::MAX, "neg": -7, "f": 1.5, "s": "", "b": true, "n": null,
                "nested": {"list": [1, "a", true, null, {"x": []}]}, "expires_at": 1_800_000_000i64
            })),
        );
        let raw = to_dynamo_item(&item).unwrap();
        assert_eq!(raw["pk"], AttributeValue::S("DOSSIER#1".into()));
        assert_eq!(raw["f"], AttributeValue::N("1.5".into()));
        assert_eq!(raw["big"], AttributeValue::N(u64::MAX.to_string()));
        assert_eq!(raw["n"], AttributeValue::Null(true));
        assert_eq!(from_dynamo_item(raw).unwrap(), item);
    }

    #[test]
    fn the_keys_win_over_attributes_of_the_same_name() {
        let item = Item::new("A", "B", attrs(json!({"pk": "other", "x": 1})));
        let raw = to_dynamo_item(&item).unwrap();
        assert_eq!(raw["pk"], AttributeValue::S("A".into()));
        assert_eq!(raw["sk"], AttributeValue::S("B".into()));
        let numeric_key = HashMap::from([
            ("pk".to_owned(), AttributeValue::N("1".into())),
            ("sk".to_owned(), AttributeValue::S("B".into())),
        ]);
        assert!(from_dynamo_item(numeric_key).is_err());
    }

    /// The same record as the SDK answers it and as the stream delivers it (DynamoDB JSON)
    /// becomes the same item: numbers, nested maps and lists, sets, binary, booleans, null.
    #[test]
    fn a_stream_image_and_an_sdk_item_of_one_record_are_the_same_item() {
        let n = |s: &str| AttributeValue::N(s.into());
        let sdk = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("DOSSIER#1".into())),
            ("sk".to_owned(), AttributeValue::S("META".into())),
            ("int".to_owned(), n("42")),
            ("neg".to_owned(), n("-7")),
            ("big".to_owned(), n("18446744073709551615")),
            ("float".to_owned(), n("1.5")),
            ("yes".to_owned(), AttributeValue::Bool(true)),
            ("none".to_owned(), AttributeValue::Null(true)),
            (
                "bin".to_owned(),
                AttributeValue::B(Blob::new(b"\x00\x01pdf".to_vec())),
            ),
            ("tags".to_owned(), AttributeValue::Ss(vec!["a".into()])),
            ("counts".to_owned(), AttributeValue::Ns(vec!["3".into()])),
            (
                "nested".to_owned(),
                AttributeValue::M(HashMap::from([(
                    "list".to_owned(),
                    AttributeValue::L(vec![
                        n("1"),
                        AttributeValue::S("a".into()),
                        AttributeValue::M(HashMap::new()),
                    ]),
                )])),
            ),
        ]);
        let image: serde_dynamo::Item = serde_json::from_value(json!({
            "pk": {"S": "DOSSIER#1"}, "sk": {"S": "META"},
            "int": {"N": "42"}, "neg": {"N": "-7"}, "big": {"N": "18446744073709551615"},
            "float": {"N": "1.5"}, "yes": {"BOOL": true}, "none": {"NULL": true},
            "bin": {"B": "AAFwZGY="}, "tags": {"SS": ["a"]}, "counts": {"NS": ["3"]},
            "nested": {"M": {"list": {"L": [{"N": "1"}, {"S": "a"}, {"M": {}}]}}}
        }))
        .unwrap();
        let expected = Item::new(
            "DOSSIER#1",
            "META",
            attrs(json!({
                "int": 42, "neg": -7, "big": u64::MAX, "float": 1.5, "yes": true, "none": null,
                "bin": "AAFwZGY=", "tags": ["a"], "counts": [3],
                "nested": {"list": [1, "a", {}]}
            })),
        );
        let from_sdk = from_dynamo_item(sdk).unwrap();
        assert_eq!(from_sdk, expected);
        assert_eq!(from_dynamo_item(image).unwrap(), from_sdk);
        assert!(from_sdk.attrs["int"].is_i64() && from_sdk.attrs["float"].is_f64());
    }
}
