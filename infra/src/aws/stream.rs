//! The table's stream records (aws_lambda_events' shapes) as the functions it triggers read them:
//! the item's key, whether DynamoDB's TTL removed it, the image before the change, and the record
//! to report for retry (`ReportBatchItemFailures`).

use aws_lambda_events::dynamodb::EventRecord;
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use portaal_core::ports::Item;
use serde_dynamo::AttributeValue;

use super::item::from_dynamo_item;

/// A string attribute of the record's key (`pk`, `sk`).
pub fn key<'a>(record: &'a EventRecord, name: &str) -> Option<&'a str> {
    match record.change.keys.get(name)? {
        AttributeValue::S(s) => Some(s),
        _ => None,
    }
}

/// A removal by DynamoDB's TTL process (not by a request).
pub fn is_ttl_removal(record: &EventRecord) -> bool {
    record.event_name == "REMOVE"
        && record
            .user_identity
            .as_ref()
            .is_some_and(|u| u.type_ == "Service" && u.principal_id == "dynamodb.amazonaws.com")
}

/// The item as it was before the change, when the record carries a readable one.
pub fn old_item(record: &EventRecord) -> Option<Item> {
    from_dynamo_item(record.change.old_image.clone()).ok()
}

/// Reports the record for retry: the stream hands it (and what follows it) over again.
pub fn retry(response: &mut DynamoDbEventResponse, record: &EventRecord) {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = record.change.sequence_number.clone();
    response.batch_item_failures.push(failure);
}
