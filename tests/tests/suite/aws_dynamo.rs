//! The store contract against DynamoStore on the moto emulator, and the call counts the
//! acceptance criteria rely on. Needs the emulators: `eval "$(infra/emulators up)"` first.

use std::collections::BTreeMap;
use std::sync::Arc;

use portaal_core::ports::{Condition, Item, Store, StoreError, Write};
use portaal_infra::aws::dynamo::DynamoStore;
use portaal_infra::aws::metrics::CallCounter;
use portaal_tests::{case_id, contract};
use serde_json::{Value, json};

/// A store on the emulator's table whose client reports its calls to `counter`.
async fn store(counter: &CallCounter) -> DynamoStore {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "AWS_ENDPOINT_URL is not set: start the emulators first, from the workspace root: \
         eval \"$(infra/emulators up)\"  (stop them with: infra/emulators down)"
    );
    let table = std::env::var("PORTAAL_TABLE").expect(
        "PORTAAL_TABLE is not set: start the emulators with eval \"$(infra/emulators up)\"",
    );
    let sdk_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
        .interceptor(counter.clone())
        .build();
    DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), table)
}

fn item(pk: &str, sk: &str, attrs: Value) -> Item {
    let Value::Object(map) = attrs else {
        panic!("attrs must be an object")
    };
    Item::new(pk, sk, map)
}

#[tokio::test]
async fn dynamo_store_keeps_the_store_contract() {
    let counter = CallCounter::default();
    contract::store_contract(Arc::new(store(&counter).await)).await;
    assert_eq!(
        counter.total("DynamoDB"),
        counter.snapshot().values().sum::<u64>(),
        "only DynamoDB calls: {:?}",
        counter.snapshot()
    );
}

#[tokio::test]
async fn a_transaction_is_one_call_and_a_get_is_one_call() {
    let counter = CallCounter::default();
    let store = store(&counter).await;
    let pk = format!("DOSSIER#{}", case_id("calls"));
    let writes = vec![
        Write::create(item(&pk, "META", json!({"rev": 1}))),
        Write::create(item(&pk, "DELIVERY#1#1", json!({"state": "submitted"}))),
        Write::create(item(&pk, "EVENT#1", json!({"kind": "delivered"}))),
    ];
    store.transact(writes).await.unwrap();
    assert_eq!(
        counter.snapshot(),
        BTreeMap::from([("DynamoDB.TransactWriteItems".to_owned(), 1)]),
        "three writes are one TransactWriteItems call"
    );

    counter.reset();
    let got = store.get(&pk, "META").await.unwrap();
    assert_eq!(got, Some(item(&pk, "META", json!({"rev": 1}))));
    assert_eq!(
        counter.snapshot(),
        BTreeMap::from([("DynamoDB.GetItem".to_owned(), 1)]),
        "a get is one GetItem call"
    );

    counter.reset();
    store
        .transact(vec![Write::put(item(&pk, "X", json!({})))])
        .await
        .unwrap();
    assert_eq!(
        counter.snapshot(),
        BTreeMap::from([("DynamoDB.TransactWriteItems".to_owned(), 1)]),
        "even one write is a TransactWriteItems call"
    );
}

#[tokio::test]
async fn a_failed_condition_names_the_first_failing_write() {
    let counter = CallCounter::default();
    let store = store(&counter).await;
    let pk = format!("DOSSIER#{}", case_id("cond"));
    store
        .transact(vec![Write::create(item(
            &pk,
            "META",
            json!({"status": "open"}),
        ))])
        .await
        .unwrap();
    let result = store
        .transact(vec![
            Write::create(item(&pk, "DOC#1", json!({}))),
            Write::Check {
                pk: pk.clone(),
                sk: "META".into(),
                condition: Condition::Equals("status".into(), json!("closed")),
            },
            Write::create(item(&pk, "OTHER", json!({}))),
        ])
        .await;
    assert!(
        matches!(result, Err(StoreError::ConditionFailed { index: Some(1) })),
        "the check (write 1) failed first: {result:?}"
    );
    assert_eq!(store.get(&pk, "DOC#1").await.unwrap(), None);
    let check_none = Write::Check {
        pk: pk.clone(),
        sk: "ABSENT".into(),
        condition: Condition::None,
    };
    store
        .transact(vec![check_none])
        .await
        .expect("a check without condition holds");
}
