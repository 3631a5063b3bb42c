//! The store contract against DynamoStore on the moto emulator, and the call counts the
//! acceptance criteria rely on. Needs the emulators: `eval "$(infra/emulators up)"` first.

use std::collections::BTreeMap;
use std::sync::Arc;

use portaal_core::ports::{Item, Store, Write};
use portaal_infra::aws::dynamo::DynamoStore;
use portaal_infra::aws::metrics::CallCounter;
use portaal_tests::case_id;
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

/// Fails the test, when dropped at its end, if the store's client called anything but DynamoDB.
struct OnlyDynamoDbCalls(CallCounter);

impl Drop for OnlyDynamoDbCalls {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_eq!(
                self.0.total("DynamoDB"),
                self.0.snapshot().values().sum::<u64>(),
                "only DynamoDB calls: {:?}",
                self.0.snapshot()
            );
        }
    }
}

/// The store contract, one test per behaviour: `aws_dynamo::dynamo_store::query_by_prefix`.
mod dynamo_store {
    use super::*;

    portaal_tests::store_contract_tests!(|| async {
        let counter = CallCounter::default();
        let store = Arc::new(store(&counter).await);
        (store, OnlyDynamoDbCalls(counter))
    });
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
