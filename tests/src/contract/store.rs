//! The `Store` contract: one function per behaviour, each on a partition of its own.

use portaal_core::ports::{
    Condition, Index, IndexQuery, Item, PageQuery, Store, StoreError, Write,
};
use serde_json::{Value, json};

use super::unique;

/// One `#[tokio::test]` per store behaviour. `$make` is an async closure answering the store under
/// test (an `Arc`) and whatever must live as long as the test: `(Arc<S>, keep)`.
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::__contract_tests!(
            store,
            $make,
            (store, _keep) => (&*store),
            [
                get_put_round_trip,
                conditional_create_refuses_an_existing_item,
                replace_if_refuses_a_stale_revision,
                transactions_are_all_or_nothing,
                the_first_failing_write_is_named,
                a_check_without_condition_holds,
                query_by_prefix,
                all_equal_needs_every_attribute,
                delete_with_a_condition,
                more_than_a_hundred_writes_are_refused,
                a_key_written_twice_in_one_transaction_is_refused,
                index_queries_are_sparse_and_in_index_order,
                index_queries_are_bounded_by_upto,
                index_queries_honour_the_limit,
                an_item_rewritten_without_the_index_keys_leaves_the_index,
                ttl_attribute_and_numbers_survive,
                paging_a_partition_from_its_start,
                paging_forwards_after_a_sort_key,
                paging_backwards_before_a_sort_key,
                paging_an_index_key_newest_first,
                paging_an_index_key_after_a_cursor,
                paging_past_the_end_is_empty,
                paging_within_a_prefix_after_a_start_both_ways,
                paging_below_an_end_from_the_start_and_after_a_start,
            ]
        );
    };
}

fn item(pk: &str, sk: &str, attrs: Value) -> Item {
    let Value::Object(map) = attrs else {
        panic!("attrs must be an object")
    };
    Item::new(pk, sk, map)
}

fn partition() -> String {
    format!("DOSSIER#{}", unique("contract"))
}

async fn create(store: &dyn Store, item: Item) {
    store.transact(vec![Write::create(item)]).await.unwrap();
}

fn check(pk: &str, sk: &str, condition: Condition) -> Write {
    Write::Check {
        pk: pk.to_owned(),
        sk: sk.into(),
        condition,
    }
}

/// A partition whose `META` is revision 1, open.
async fn with_meta(store: &dyn Store) -> (String, Item) {
    let pk = partition();
    let meta = item(&pk, "META", json!({"rev": 1, "status": "open"}));
    create(store, meta.clone()).await;
    (pk, meta)
}

/// A partition holding `DOC#A`, staged.
async fn with_staged_doc(store: &dyn Store) -> String {
    let pk = partition();
    create(store, item(&pk, "DOC#A", json!({"state": "staged"}))).await;
    pk
}

// ---------------------------------------------------------------- items and conditions

/// An absent item reads as None; an item, with nested values and numbers, reads back as written.
pub async fn get_put_round_trip(store: &dyn Store) {
    let pk = partition();
    assert_eq!(
        store.get(&pk, "META").await.unwrap(),
        None,
        "an absent item reads as None"
    );
    let meta = item(
        &pk,
        "META",
        json!({"rev": 1, "status": "open", "nested": {"list": [1, "a", true, null]}, "empty": ""}),
    );
    create(store, meta.clone()).await;
    assert_eq!(
        store.get(&pk, "META").await.unwrap(),
        Some(meta),
        "an item reads back as written"
    );
}

/// A conditional create refuses an existing key and changes nothing.
pub async fn conditional_create_refuses_an_existing_item(store: &dyn Store) {
    let (pk, meta) = with_meta(store).await;
    let other = item(&pk, "META", json!({"rev": 99}));
    assert!(matches!(
        store.transact(vec![Write::create(other)]).await,
        Err(StoreError::ConditionFailed { .. })
    ));
    assert_eq!(store.get(&pk, "META").await.unwrap(), Some(meta));
}

/// `Equals`: numbers compare by value; a stale revision is refused.
pub async fn replace_if_refuses_a_stale_revision(store: &dyn Store) {
    let (pk, _) = with_meta(store).await;
    let rev2 = item(&pk, "META", json!({"rev": 2, "status": "open"}));
    store
        .transact(vec![Write::replace_if(rev2.clone(), "rev", 1)])
        .await
        .unwrap();
    let stale = item(&pk, "META", json!({"rev": 3}));
    assert!(matches!(
        store
            .transact(vec![Write::replace_if(stale, "rev", 1)])
            .await,
        Err(StoreError::ConditionFailed { .. })
    ));
    assert_eq!(store.get(&pk, "META").await.unwrap(), Some(rev2));
}

/// One failing condition leaves every other write of its transaction undone.
pub async fn transactions_are_all_or_nothing(store: &dyn Store) {
    let (pk, _) = with_meta(store).await;
    let a = item(&pk, "DOC#A", json!({"state": "staged"}));
    let failing = check(
        &pk,
        "META",
        Condition::Equals("status".into(), json!("closed")),
    );
    let result = store.transact(vec![Write::create(a), failing]).await;
    assert!(
        matches!(result, Err(StoreError::ConditionFailed { .. })),
        "a failing check fails the transaction: {result:?}"
    );
    assert_eq!(
        store.get(&pk, "DOC#A").await.unwrap(),
        None,
        "no write of a failed transaction is visible"
    );
}

/// A failed transaction names the first write whose condition failed.
pub async fn the_first_failing_write_is_named(store: &dyn Store) {
    let (pk, _) = with_meta(store).await;
    let result = store
        .transact(vec![
            Write::create(item(&pk, "DOC#1", json!({}))),
            check(
                &pk,
                "META",
                Condition::Equals("status".into(), json!("closed")),
            ),
            Write::create(item(&pk, "OTHER", json!({}))),
        ])
        .await;
    assert!(
        matches!(result, Err(StoreError::ConditionFailed { index: Some(1) })),
        "the check (write 1) failed first: {result:?}"
    );
    assert_eq!(store.get(&pk, "DOC#1").await.unwrap(), None);
}

/// A check with `Condition::None` holds, even on an absent item.
pub async fn a_check_without_condition_holds(store: &dyn Store) {
    store
        .transact(vec![check(&partition(), "ABSENT", Condition::None)])
        .await
        .expect("a check without condition holds");
}

/// Many writes at once, then a query by prefix answers them in sort-key order, the partition only.
pub async fn query_by_prefix(store: &dyn Store) {
    let (pk, _) = with_meta(store).await;
    let writes: Vec<Write> = (0..30)
        .rev()
        .map(|i| Write::create(item(&pk, &format!("EVENT#{i:03}"), json!({"n": i}))))
        .collect();
    store.transact(writes).await.unwrap();
    create(store, item(&pk, "DOC#A", json!({"state": "staged"}))).await;
    let events = store.query(&pk, "EVENT#").await.unwrap();
    assert_eq!(events.len(), 30, "query returns every item with the prefix");
    assert!(
        events.windows(2).all(|w| w[0].sk < w[1].sk),
        "query answers in sort-key order"
    );
    assert_eq!(
        store.query(&pk, "").await.unwrap().len(),
        32,
        "an empty prefix answers the whole partition"
    );
    assert!(
        store.query(&format!("{pk}X"), "").await.unwrap().is_empty(),
        "other partitions stay apart"
    );
}

/// Every attribute of an `AllEqual` must hold, and each must be present.
pub async fn all_equal_needs_every_attribute(store: &dyn Store) {
    let pk = with_staged_doc(store).await;
    for (pairs, holds) in [
        (
            vec![("state", json!("staged")), ("state", json!("submitted"))],
            false,
        ),
        (
            vec![("state", json!("staged")), ("missing", json!("x"))],
            false,
        ),
        (vec![("state", json!("staged"))], true),
    ] {
        let condition =
            Condition::AllEqual(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
        let result = store.transact(vec![check(&pk, "DOC#A", condition)]).await;
        assert_eq!(result.is_ok(), holds);
    }
}

/// A delete whose condition fails is refused; one whose condition holds removes the item, which
/// then no longer `Exists`.
pub async fn delete_with_a_condition(store: &dyn Store) {
    let pk = with_staged_doc(store).await;
    let delete = |state: &str| Write::Delete {
        pk: pk.clone(),
        sk: "DOC#A".into(),
        condition: Condition::Equals("state".into(), json!(state)),
    };
    assert!(store.transact(vec![delete("submitted")]).await.is_err());
    store.transact(vec![delete("staged")]).await.unwrap();
    assert_eq!(store.get(&pk, "DOC#A").await.unwrap(), None);
    assert!(
        store
            .transact(vec![check(&pk, "DOC#A", Condition::Exists)])
            .await
            .is_err(),
        "Exists fails on an absent item"
    );
}

/// Transactions are bounded: 101 writes are refused, and none of them is written.
pub async fn more_than_a_hundred_writes_are_refused(store: &dyn Store) {
    let pk = partition();
    let too_many: Vec<Write> = (0..101)
        .map(|i| Write::put(item(&pk, &format!("X#{i}"), json!({}))))
        .collect();
    refused_as_invalid(store, &pk, too_many).await;
}

/// A transaction names each key once: a key written twice is refused, and nothing is written.
pub async fn a_key_written_twice_in_one_transaction_is_refused(store: &dyn Store) {
    let pk = partition();
    let twice = vec![
        Write::put(item(&pk, "X#1", json!({}))),
        Write::put(item(&pk, "X#1", json!({}))),
    ];
    refused_as_invalid(store, &pk, twice).await;
}

/// `writes` (all under `X#` in `pk`) are refused as an invalid transaction; none is written.
async fn refused_as_invalid(store: &dyn Store, pk: &str, writes: Vec<Write>) {
    assert!(matches!(
        store.transact(writes).await,
        Err(StoreError::InvalidTransaction(_))
    ));
    assert!(store.query(pk, "X#").await.unwrap().is_empty());
}

/// A TTL attribute and numbers (whole and fractional) survive.
pub async fn ttl_attribute_and_numbers_survive(store: &dyn Store) {
    let pk = partition();
    let ttl = item(
        &pk,
        "TTL",
        json!({"expires_at": 1_800_000_000i64, "f": 1.5}),
    );
    store.transact(vec![Write::put(ttl.clone())]).await.unwrap();
    assert_eq!(store.get(&pk, "TTL").await.unwrap(), Some(ttl));
}

// ---------------------------------------------------------------- the sparse index

/// A partition with three items on a due-index key of their own (days 3, 1, 2, written in that
/// order) and one without index keys; answers the partition and the index key.
async fn with_due_items(store: &dyn Store) -> (String, String) {
    let pk = partition();
    let due = unique("DUE");
    for (i, day) in ["2026-12-03", "2026-12-01", "2026-12-02"]
        .iter()
        .enumerate()
    {
        let attrs = json!({"gsi1pk": due, "gsi1sk": format!("{day}#{i}"), "i": i});
        create(store, item(&pk, &format!("REQUEST#{i}"), attrs)).await;
    }
    create(store, item(&pk, "REQUEST#9", json!({"i": 9}))).await;
    (pk, due)
}

async fn due(store: &dyn Store, pk: &str, upto: Option<&str>, limit: usize) -> Vec<Item> {
    let query = IndexQuery {
        index: Index::Due,
        pk,
        upto,
        limit,
    };
    store.query_index(query).await.unwrap()
}

/// Only items carrying the index keys, in index sort order, with their table keys.
pub async fn index_queries_are_sparse_and_in_index_order(store: &dyn Store) {
    let (pk, key) = with_due_items(store).await;
    let found = due(store, &key, None, 10).await;
    let days: Vec<&str> = found
        .iter()
        .map(|i| i.str_attr("gsi1sk").unwrap())
        .collect();
    assert_eq!(
        days,
        vec!["2026-12-01#1", "2026-12-02#2", "2026-12-03#0"],
        "index answers in index sort order, sparse"
    );
    assert_eq!(found[0].pk, pk, "index items carry their table keys");
}

pub async fn index_queries_are_bounded_by_upto(store: &dyn Store) {
    let (_, key) = with_due_items(store).await;
    let upto = due(store, &key, Some("2026-12-02~"), 10).await;
    assert_eq!(upto.len(), 2, "sk_upto bounds the index sort key");
}

pub async fn index_queries_honour_the_limit(store: &dyn Store) {
    let (_, key) = with_due_items(store).await;
    assert_eq!(
        due(store, &key, None, 1).await.len(),
        1,
        "limit is honoured"
    );
}

/// An item rewritten without the index keys disappears from the index.
pub async fn an_item_rewritten_without_the_index_keys_leaves_the_index(store: &dyn Store) {
    let (pk, key) = with_due_items(store).await;
    let it = item(&pk, "REQUEST#1", json!({"i": 1}));
    store.transact(vec![Write::put(it)]).await.unwrap();
    assert_eq!(due(store, &key, None, 10).await.len(), 2);
}

// ---------------------------------------------------------------- pages

/// Seven items `i` = 0..7 in a partition (sort keys in that order) and on one index key (sort
/// keys `2026-12-0{i}#x`); answers the partition and the index key.
async fn with_pages(store: &dyn Store) -> (String, String) {
    let pk = format!("FEEDTEST#{}", unique("page"));
    let index_pk = format!("LIST#{}", unique("page"));
    let writes = (0..7)
        .map(|i| {
            Write::create(item(
                &pk,
                &format!("{i:020}"),
                json!({"gsi1pk": index_pk, "gsi1sk": format!("2026-12-0{i}#x"), "i": i}),
            ))
        })
        .collect();
    store.transact(writes).await.unwrap();
    (pk, index_pk)
}

/// The `i` of each item of a page.
async fn page(
    store: &dyn Store,
    index: Option<Index>,
    pk: &str,
    after: Option<&str>,
    descending: bool,
    limit: usize,
) -> Vec<i64> {
    let query = PageQuery {
        prefix: None,
        index,
        pk,
        after,
        until: None,
        descending,
        limit,
    };
    let items = store.page(query).await.unwrap();
    items
        .iter()
        .map(|i| i.attrs["i"].as_i64().unwrap())
        .collect()
}

/// The sort key of item `i` in [`with_pages`].
fn sort_key(i: u32) -> String {
    format!("{i:020}")
}

pub async fn paging_a_partition_from_its_start(store: &dyn Store) {
    let (pk, _) = with_pages(store).await;
    assert_eq!(
        page(store, None, &pk, None, false, 3).await,
        vec![0, 1, 2],
        "a partition from its start, limited"
    );
}

pub async fn paging_forwards_after_a_sort_key(store: &dyn Store) {
    let (pk, _) = with_pages(store).await;
    assert_eq!(
        page(store, None, &pk, Some(&sort_key(2)), false, 10).await,
        vec![3, 4, 5, 6],
        "strictly after a sort key"
    );
}

pub async fn paging_backwards_before_a_sort_key(store: &dyn Store) {
    let (pk, _) = with_pages(store).await;
    assert_eq!(
        page(store, None, &pk, Some(&sort_key(2)), true, 10).await,
        vec![1, 0],
        "descending: strictly before it"
    );
}

pub async fn paging_an_index_key_newest_first(store: &dyn Store) {
    let (_, key) = with_pages(store).await;
    assert_eq!(
        page(store, Some(Index::Due), &key, None, true, 2).await,
        vec![6, 5],
        "an index key, newest first"
    );
}

pub async fn paging_an_index_key_after_a_cursor(store: &dyn Store) {
    let (_, key) = with_pages(store).await;
    assert_eq!(
        page(store, Some(Index::Due), &key, Some("2026-12-05#x"), true, 2).await,
        vec![4, 3],
        "an index key after a cursor"
    );
}

pub async fn paging_past_the_end_is_empty(store: &dyn Store) {
    let (pk, _) = with_pages(store).await;
    assert!(
        page(store, None, &pk, Some(&sort_key(6)), false, 5)
            .await
            .is_empty(),
        "past the end: nothing"
    );
}

/// A partition of sort keys `A#1 A#2 B#1 B#2 B#3 C#1` (in that order); its key.
async fn with_groups(store: &dyn Store) -> String {
    let pk = format!("GROUPS#{}", ulid::Ulid::new());
    let writes = ["A#1", "A#2", "B#1", "B#2", "B#3", "C#1"]
        .iter()
        .map(|sk| Write::create(item(&pk, sk, json!({"sk": sk}))))
        .collect();
    store.transact(writes).await.unwrap();
    pk
}

/// The sort keys of a page of `with_groups`.
async fn sort_keys(store: &dyn Store, query: PageQuery<'_>) -> Vec<String> {
    store
        .page(query)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.sk)
        .collect()
}

pub async fn paging_within_a_prefix_after_a_start_both_ways(store: &dyn Store) {
    let pk = with_groups(store).await;
    let query = |after, descending| PageQuery {
        index: None,
        pk: &pk,
        prefix: Some("B#"),
        after,
        until: None,
        descending,
        limit: 10,
    };
    assert_eq!(
        sort_keys(store, query(None, false)).await,
        ["B#1", "B#2", "B#3"]
    );
    assert_eq!(
        sort_keys(store, query(Some("B#1"), false)).await,
        ["B#2", "B#3"]
    );
    assert_eq!(
        sort_keys(store, query(Some("B#3"), true)).await,
        ["B#2", "B#1"]
    );
    assert_eq!(
        sort_keys(store, query(Some("B#3"), false)).await,
        Vec::<String>::new()
    );
}

pub async fn paging_below_an_end_from_the_start_and_after_a_start(store: &dyn Store) {
    let pk = with_groups(store).await;
    let query = |after, until, limit| PageQuery {
        index: None,
        pk: &pk,
        prefix: None,
        after,
        until,
        descending: false,
        limit,
    };
    assert_eq!(
        sort_keys(store, query(None, Some("B#3"), 10)).await,
        ["A#1", "A#2", "B#1", "B#2"],
        "everything below the end"
    );
    assert_eq!(
        sort_keys(store, query(None, Some("B$"), 3)).await,
        ["A#1", "A#2", "B#1"],
        "limited"
    );
    assert_eq!(
        sort_keys(store, query(Some("B#1"), Some("B$"), 10)).await,
        ["B#2", "B#3"],
        "after a start, below the end"
    );
    assert_eq!(
        sort_keys(store, query(Some("B#1"), Some("B#3"), 10)).await,
        ["B#2"],
        "the end itself is left out"
    );
}
