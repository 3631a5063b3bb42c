//! The single-table item model on DynamoDB (DESIGN.md §5): keys `pk`/`sk` (strings), every other
//! attribute mapped from JSON as [`super::item`] says.
//! Reads of the table are strongly consistent; index reads are eventually consistent (GSIs offer
//! nothing else). Every `transact` is exactly one `TransactWriteItems` call.
//!
//! Logging: spans name the operation, index and counts only, never keys or attribute values
//! (they can hold personal data or token hashes).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConditionCheck, Delete, Put, TransactWriteItem,
};
use portaal_core::ports::{Condition, IndexQuery, Item, PageQuery, Store, StoreError, Write};

use super::item::{PK, SK, from_dynamo_item, to_attribute, to_dynamo_item};
use portaal_core::ports::validate_transaction;

/// The [`Store`] port on one DynamoDB table (resource `Table` of template.yaml).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (PK.to_owned(), AttributeValue::S(pk.to_owned())),
        (SK.to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

// ---------------------------------------------------------------- conditions

/// A condition as (expression, names, values); `None` for [`Condition::None`].
type Expression = (
    String,
    Option<HashMap<String, String>>,
    Option<HashMap<String, AttributeValue>>,
);

fn condition_expression(condition: &Condition) -> Result<Option<Expression>, StoreError> {
    let pairs: Vec<(&String, &serde_json::Value)> = match condition {
        Condition::None => return Ok(None),
        Condition::NotExists => {
            return Ok(Some((
                "attribute_not_exists(#pk)".into(),
                Some(pk_name()),
                None,
            )));
        }
        Condition::Exists => {
            return Ok(Some((
                "attribute_exists(#pk)".into(),
                Some(pk_name()),
                None,
            )));
        }
        Condition::Equals(attr, value) => vec![(attr, value)],
        Condition::AllEqual(pairs) => pairs.iter().map(|(a, v)| (a, v)).collect(),
    };
    let expression = (0..pairs.len())
        .map(|i| format!("#c{i} = :c{i}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let names = pairs
        .iter()
        .enumerate()
        .map(|(i, (attr, _))| (format!("#c{i}"), (*attr).clone()))
        .collect();
    let values = pairs
        .iter()
        .enumerate()
        .map(|(i, (_, value))| Ok((format!(":c{i}"), to_attribute(value)?)))
        .collect::<Result<_, StoreError>>()?;
    Ok(Some((expression, Some(names), Some(values))))
}

fn pk_name() -> HashMap<String, String> {
    HashMap::from([("#pk".to_owned(), PK.to_owned())])
}

fn transact_item(table: &str, write: &Write) -> Result<TransactWriteItem, StoreError> {
    let built = match write {
        Write::Put { item, condition } => {
            let mut put = Put::builder()
                .table_name(table)
                .set_item(Some(to_dynamo_item(item)?));
            if let Some((expr, names, values)) = condition_expression(condition)? {
                put = put
                    .condition_expression(expr)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values);
            }
            TransactWriteItem::builder().put(put.build().map_err(build_error)?)
        }
        Write::Delete { pk, sk, condition } => {
            let mut delete = Delete::builder()
                .table_name(table)
                .set_key(Some(key(pk, sk)));
            if let Some((expr, names, values)) = condition_expression(condition)? {
                delete = delete
                    .condition_expression(expr)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values);
            }
            TransactWriteItem::builder().delete(delete.build().map_err(build_error)?)
        }
        Write::Check { pk, sk, condition } => {
            // DynamoDB requires a condition on a check; an absent one holds always.
            let (expr, names, values) = condition_expression(condition)?.unwrap_or_else(|| {
                (
                    "attribute_exists(#pk) OR attribute_not_exists(#pk)".into(),
                    Some(pk_name()),
                    None,
                )
            });
            let check = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key(pk, sk)))
                .condition_expression(expr)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .map_err(build_error)?;
            TransactWriteItem::builder().condition_check(check)
        }
    };
    Ok(built.build())
}

// ---------------------------------------------------------------- errors

fn build_error(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(format!("DynamoDB request: {e}"))
}

fn sdk_error<E, R>(operation: &str, e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = e.code().unwrap_or("unknown").to_owned();
    StoreError::Backend(format!(
        "DynamoDB {operation} failed ({code}): {}",
        DisplayErrorContext(&e)
    ))
}

/// The store error for cancellation reasons: the first failed condition wins; a conflict with
/// another transaction is a condition failure without index (callers re-read and retry).
fn cancelled(reasons: &[CancellationReason]) -> Option<StoreError> {
    let code = |r: &CancellationReason| r.code().unwrap_or("None").to_owned();
    if let Some(i) = reasons
        .iter()
        .position(|r| code(r) == "ConditionalCheckFailed")
    {
        return Some(StoreError::ConditionFailed { index: Some(i) });
    }
    if reasons.iter().any(|r| code(r) == "TransactionConflict") {
        return Some(StoreError::ConditionFailed { index: None });
    }
    None
}

fn transact_error<R: std::fmt::Debug>(e: SdkError<TransactWriteItemsError, R>) -> StoreError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error()
        && let Some(mapped) = cancelled(c.cancellation_reasons())
    {
        return mapped;
    }
    sdk_error("TransactWriteItems", e)
}

// ---------------------------------------------------------------- the port

/// Runs a query until `limit` items are read or none are left (one call unless an answer passes
/// DynamoDB's 1 MB limit).
async fn collect_up_to(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    limit: usize,
) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut start = None;
    while items.len() < limit {
        let remaining = i32::try_from(limit - items.len()).unwrap_or(i32::MAX);
        let out = query
            .clone()
            .limit(remaining)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        for raw in out.items.unwrap_or_default() {
            if items.len() < limit {
                items.push(from_dynamo_item(raw)?);
            }
        }
        start = out.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            break;
        }
    }
    Ok(items)
}

#[async_trait]
impl Store for DynamoStore {
    #[tracing::instrument(name = "dynamo.get", skip_all)]
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        out.item.map(from_dynamo_item).transpose()
    }

    #[tracing::instrument(name = "dynamo.query", skip_all, fields(items))]
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut names = HashMap::from([("#pk".to_owned(), PK.to_owned())]);
        let mut values = HashMap::from([(":pk".to_owned(), AttributeValue::S(pk.to_owned()))]);
        let expression = if sk_prefix.is_empty() {
            "#pk = :pk"
        } else {
            names.insert("#sk".into(), SK.into());
            values.insert(":p".into(), AttributeValue::S(sk_prefix.to_owned()));
            "#pk = :pk AND begins_with(#sk, :p)"
        };
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(expression)
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query", e))?;
            for raw in out.items.unwrap_or_default() {
                items.push(from_dynamo_item(raw)?);
            }
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                break;
            }
        }
        tracing::Span::current().record("items", items.len());
        Ok(items)
    }

    #[tracing::instrument(name = "dynamo.query_index", skip_all, fields(index = query.index.name(), limit = query.limit, items))]
    async fn query_index(&self, query: IndexQuery<'_>) -> Result<Vec<Item>, StoreError> {
        let IndexQuery {
            index,
            pk,
            upto: sk_upto,
            limit,
        } = query;
        let mut names = HashMap::from([("#ipk".to_owned(), index.pk_attr().to_owned())]);
        let mut values = HashMap::from([(":pk".to_owned(), AttributeValue::S(pk.to_owned()))]);
        let expression = match sk_upto {
            None => "#ipk = :pk",
            Some(upto) => {
                names.insert("#isk".into(), index.sk_attr().into());
                values.insert(":upto".into(), AttributeValue::S(upto.to_owned()));
                "#ipk = :pk AND #isk <= :upto"
            }
        };
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index.name())
            .key_condition_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values));
        let items = collect_up_to(query, limit).await?;
        tracing::Span::current().record("items", items.len());
        Ok(items)
    }

    #[tracing::instrument(name = "dynamo.page", skip_all, fields(index = query.index.map(|i| i.name()), limit = query.limit, items))]
    async fn page(&self, query: PageQuery<'_>) -> Result<Vec<Item>, StoreError> {
        let (key_pk, key_sk) = match query.index {
            None => (PK, SK),
            Some(index) => (index.pk_attr(), index.sk_attr()),
        };
        let mut names = HashMap::from([("#kpk".to_owned(), key_pk.to_owned())]);
        let mut values =
            HashMap::from([(":pk".to_owned(), AttributeValue::S(query.pk.to_owned()))]);
        let mut value = |name: &str, v: &str| {
            values.insert(name.to_owned(), AttributeValue::S(v.to_owned()));
        };
        // A key condition holds one test of the sort key: a prefix with a start becomes an
        // inclusive range, and the start itself (at most one item) is dropped below. So does a
        // start with an end bound (the end dropped too); with a prefix the end is applied after.
        let mut inclusive_after = None;
        let mut until_after = None;
        let expression = match (query.prefix, query.after) {
            (None, None) if query.until.is_some() => {
                value(":until", query.until.unwrap_or_default());
                "#kpk = :pk AND #ksk < :until"
            }
            (None, Some(after)) if query.until.is_some() && !query.descending => {
                let until = query.until.unwrap_or_default();
                if after >= until {
                    return Ok(Vec::new());
                }
                value(":low", after);
                value(":high", until);
                inclusive_after = Some(after);
                until_after = Some(until);
                "#kpk = :pk AND #ksk BETWEEN :low AND :high"
            }
            (None, None) => "#kpk = :pk",
            (Some(prefix), None) => {
                until_after = query.until;
                value(":prefix", prefix);
                "#kpk = :pk AND begins_with(#ksk, :prefix)"
            }
            (None, Some(after)) => {
                until_after = query.until;
                value(":after", after);
                if query.descending {
                    "#kpk = :pk AND #ksk < :after"
                } else {
                    "#kpk = :pk AND #ksk > :after"
                }
            }
            (Some(prefix), Some(after)) => {
                until_after = query.until;
                let end = format!("{prefix}\u{10FFFF}");
                let (low, high) = if query.descending {
                    (prefix, after)
                } else {
                    (after, end.as_str())
                };
                if low >= high {
                    return Ok(Vec::new());
                }
                value(":low", low);
                value(":high", high);
                inclusive_after = Some(after);
                "#kpk = :pk AND #ksk BETWEEN :low AND :high"
            }
        };
        if query.prefix.is_some() || query.after.is_some() || query.until.is_some() {
            names.insert("#ksk".into(), key_sk.into());
        }
        // One call per page unless the page passes DynamoDB's 1 MB answer limit.
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(query.index.map(|i| i.name().to_owned()))
            .key_condition_expression(expression)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .scan_index_forward(!query.descending)
            // Only the table itself offers consistent reads.
            .consistent_read(query.index.is_none());
        let wanted = query
            .limit
            .saturating_add(usize::from(inclusive_after.is_some()))
            .saturating_add(usize::from(until_after.is_some()));
        let mut items = collect_up_to(request, wanted).await?;
        let sort_key = |item: &Item| match query.index {
            None => Some(item.sk.clone()),
            Some(index) => item.str_attr(index.sk_attr()).map(str::to_owned),
        };
        if let Some(until) = until_after {
            items.retain(|item| sort_key(item).is_some_and(|k| k.as_str() < until));
        }
        if let Some(after) = inclusive_after {
            items.retain(|item| {
                let sort_key = match query.index {
                    None => Some(item.sk.as_str()),
                    Some(index) => item.str_attr(index.sk_attr()),
                };
                sort_key != Some(after)
            });
            items.truncate(query.limit);
        }
        tracing::Span::current().record("items", items.len());
        Ok(items)
    }

    #[tracing::instrument(name = "dynamo.transact", skip_all, fields(writes = writes.len()))]
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        let items = writes
            .iter()
            .map(|w| transact_item(&self.table, w))
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .transact_write_items()
            // The SDK's own retries (e.g. after a timeout) reuse this token, so DynamoDB answers a
            // retried, already committed transaction as a success instead of a failed condition.
            .client_request_token(ulid::Ulid::new().to_string())
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(transact_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failed_condition_is_named_and_conflicts_retry() {
        let reason = |c: &str| CancellationReason::builder().code(c).build();
        let failed = cancelled(&[
            reason("None"),
            reason("ConditionalCheckFailed"),
            reason("ConditionalCheckFailed"),
        ]);
        assert!(matches!(
            failed,
            Some(StoreError::ConditionFailed { index: Some(1) })
        ));
        let conflict = cancelled(&[reason("TransactionConflict"), reason("None")]);
        assert!(matches!(
            conflict,
            Some(StoreError::ConditionFailed { index: None })
        ));
        assert!(cancelled(&[reason("ThrottlingError")]).is_none());
    }

    #[test]
    fn a_check_without_condition_still_has_one() {
        let w = Write::Check {
            pk: "a".into(),
            sk: "b".into(),
            condition: Condition::None,
        };
        let item = transact_item("t", &w).unwrap();
        assert!(item.condition_check().is_some());
    }
}
