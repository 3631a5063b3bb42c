//! One contract suite per port. Each function takes the adapter under test and panics with a
//! message naming the broken promise; the embedded and the AWS adapters run the same functions.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use portaal_core::domain::{CaseId, Email, Id, Sha256};
use portaal_core::ports::{
    Blobs, Condition, DownloadSpec, Index, IndexQuery, Item, Job, Mailer, OutgoingMail, Scheduler,
    Store, StoreError, UploadSpec, Write,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn item(pk: &str, sk: &str, attrs: Value) -> Item {
    let Value::Object(map) = attrs else {
        panic!("attrs must be an object")
    };
    Item::new(pk, sk, map)
}

fn unique(label: &str) -> String {
    crate::case_id(label)
}

// ---------------------------------------------------------------- store

pub async fn store_contract(store: Arc<dyn Store>) {
    let pk = format!("DOSSIER#{}", unique("contract"));

    // get / put round trip, with nested values and numbers
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
    store
        .transact(vec![Write::create(meta.clone())])
        .await
        .unwrap();
    assert_eq!(
        store.get(&pk, "META").await.unwrap(),
        Some(meta.clone()),
        "an item reads back as written"
    );

    // conditional create refuses an existing key and changes nothing
    let other = item(&pk, "META", json!({"rev": 99}));
    assert!(matches!(
        store.transact(vec![Write::create(other)]).await,
        Err(StoreError::ConditionFailed { .. })
    ));
    assert_eq!(store.get(&pk, "META").await.unwrap(), Some(meta.clone()));

    // Equals: numbers compare by value; a stale revision is refused
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
    assert_eq!(store.get(&pk, "META").await.unwrap(), Some(rev2.clone()));

    // all or nothing: one failing condition leaves every other write undone
    let a = item(&pk, "DOC#A", json!({"state": "staged"}));
    let failing = Write::Check {
        pk: pk.clone(),
        sk: "META".into(),
        condition: Condition::Equals("status".into(), json!("closed")),
    };
    let result = store
        .transact(vec![Write::create(a.clone()), failing])
        .await;
    assert!(
        matches!(result, Err(StoreError::ConditionFailed { .. })),
        "a failing check fails the transaction: {result:?}"
    );
    assert_eq!(
        store.get(&pk, "DOC#A").await.unwrap(),
        None,
        "no write of a failed transaction is visible"
    );

    // many writes at once, then query by prefix in sort-key order
    let writes: Vec<Write> = (0..30)
        .rev()
        .map(|i| Write::create(item(&pk, &format!("EVENT#{i:03}"), json!({"n": i}))))
        .collect();
    store.transact(writes).await.unwrap();
    store
        .transact(vec![Write::create(a.clone())])
        .await
        .unwrap();
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

    // every attribute of an AllEqual must hold
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
        let check = Write::Check {
            pk: pk.clone(),
            sk: "DOC#A".into(),
            condition: Condition::AllEqual(
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            ),
        };
        assert_eq!(store.transact(vec![check]).await.is_ok(), holds);
    }

    // delete with a condition
    let refused = Write::Delete {
        pk: pk.clone(),
        sk: "DOC#A".into(),
        condition: Condition::Equals("state".into(), json!("submitted")),
    };
    assert!(store.transact(vec![refused]).await.is_err());
    let ok = Write::Delete {
        pk: pk.clone(),
        sk: "DOC#A".into(),
        condition: Condition::Equals("state".into(), json!("staged")),
    };
    store.transact(vec![ok]).await.unwrap();
    assert_eq!(store.get(&pk, "DOC#A").await.unwrap(), None);
    let exists = Write::Check {
        pk: pk.clone(),
        sk: "DOC#A".into(),
        condition: Condition::Exists,
    };
    assert!(
        store.transact(vec![exists]).await.is_err(),
        "Exists fails on an absent item"
    );

    // transactions are bounded and name each key once
    let too_many: Vec<Write> = (0..101)
        .map(|i| Write::put(item(&pk, &format!("X#{i}"), json!({}))))
        .collect();
    assert!(matches!(
        store.transact(too_many).await,
        Err(StoreError::InvalidTransaction(_))
    ));
    let twice = vec![
        Write::put(item(&pk, "X#1", json!({}))),
        Write::put(item(&pk, "X#1", json!({}))),
    ];
    assert!(matches!(
        store.transact(twice).await,
        Err(StoreError::InvalidTransaction(_))
    ));
    assert!(store.query(&pk, "X#").await.unwrap().is_empty());

    // sparse index: only items carrying the index keys, in index order, bounded and limited
    let due = unique("DUE");
    let mut expected = Vec::new();
    for (i, day) in ["2026-12-03", "2026-12-01", "2026-12-02"]
        .iter()
        .enumerate()
    {
        let sk = format!("REQUEST#{i}");
        let it = item(
            &pk,
            &sk,
            json!({"gsi1pk": due, "gsi1sk": format!("{day}#{i}"), "i": i}),
        );
        store.transact(vec![Write::create(it)]).await.unwrap();
        expected.push((day.to_string(), sk));
    }
    store
        .transact(vec![Write::create(item(&pk, "REQUEST#9", json!({"i": 9})))])
        .await
        .unwrap();
    let found = store
        .query_index(IndexQuery {
            index: Index::Due,
            pk: &due,
            upto: None,
            limit: 10,
        })
        .await
        .unwrap();
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
    let upto = store
        .query_index(IndexQuery {
            index: Index::Due,
            pk: &due,
            upto: Some("2026-12-02~"),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(upto.len(), 2, "sk_upto bounds the index sort key");
    assert_eq!(
        store
            .query_index(IndexQuery {
                index: Index::Due,
                pk: &due,
                upto: None,
                limit: 1
            })
            .await
            .unwrap()
            .len(),
        1,
        "limit is honoured"
    );

    // leaving the index: an item rewritten without the keys disappears from it
    let it = item(&pk, "REQUEST#1", json!({"i": 1}));
    store.transact(vec![Write::put(it)]).await.unwrap();
    assert_eq!(
        store
            .query_index(IndexQuery {
                index: Index::Due,
                pk: &due,
                upto: None,
                limit: 10
            })
            .await
            .unwrap()
            .len(),
        2
    );

    // TTL attribute and numbers survive
    let ttl = item(
        &pk,
        "TTL",
        json!({"expires_at": 1_800_000_000i64, "f": 1.5}),
    );
    store.transact(vec![Write::put(ttl.clone())]).await.unwrap();
    assert_eq!(store.get(&pk, "TTL").await.unwrap(), Some(ttl));

    page_contract(store.as_ref()).await;
}

/// Pages of a partition and of an index key: both directions, exclusive start, limit.
async fn page_contract(store: &dyn Store) {
    use portaal_core::ports::PageQuery;
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
    let sks = |items: Vec<Item>| -> Vec<i64> {
        items
            .iter()
            .map(|i| i.attrs["i"].as_i64().unwrap())
            .collect()
    };
    let page = |index, pk, after, descending, limit| PageQuery {
        index,
        pk,
        after,
        descending,
        limit,
    };
    let after = format!("{:020}", 2);
    assert_eq!(
        sks(store.page(page(None, &pk, None, false, 3)).await.unwrap()),
        vec![0, 1, 2],
        "a partition from its start, limited"
    );
    assert_eq!(
        sks(store
            .page(page(None, &pk, Some(&after), false, 10))
            .await
            .unwrap()),
        vec![3, 4, 5, 6],
        "strictly after a sort key"
    );
    assert_eq!(
        sks(store
            .page(page(None, &pk, Some(&after), true, 10))
            .await
            .unwrap()),
        vec![1, 0],
        "descending: strictly before it"
    );
    assert_eq!(
        sks(store
            .page(page(Some(Index::Due), &index_pk, None, true, 2))
            .await
            .unwrap()),
        vec![6, 5],
        "an index key, newest first"
    );
    assert_eq!(
        sks(store
            .page(page(
                Some(Index::Due),
                &index_pk,
                Some("2026-12-05#x"),
                true,
                2
            ))
            .await
            .unwrap()),
        vec![4, 3],
        "an index key after a cursor"
    );
    assert!(
        store
            .page(page(None, &pk, Some(&format!("{:020}", 6)), false, 5))
            .await
            .unwrap()
            .is_empty(),
        "past the end: nothing"
    );
}

// ---------------------------------------------------------------- blobs

async fn put(
    client: &reqwest::Client,
    target: &portaal_core::ports::UploadTarget,
    body: Vec<u8>,
    skip_length: bool,
) -> StatusCode {
    let mut req = client.request(target.method.parse().unwrap(), &target.url);
    for (k, v) in &target.headers {
        if !(skip_length && k == "content-length") {
            req = req.header(k, v);
        }
    }
    req.body(body).send().await.unwrap().status()
}

/// `store`: where the local blob route looks up whether an upload is still wanted (a staged
/// document record); each key is made wanted there before its upload. S3 needs none.
pub async fn blobs_contract(blobs: Arc<dyn Blobs>, store: Option<Arc<dyn Store>>) {
    let client = reqwest::Client::new();
    let prefix = format!("staged/{}/", unique("blob"));
    let new_key = || format!("{prefix}{}", ulid::Ulid::new());
    let key = new_key();
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let sha = Sha256::of(&bytes);

    // an exact upload is stored; storage vouches for its size and SHA-256
    want(store.as_ref(), &key).await;
    let target = blobs
        .upload_target(UploadSpec {
            key: &key,
            size: bytes.len() as u64,
            content_type: "application/pdf",
            sha256: Some(&sha),
            ttl: Duration::from_secs(300),
        })
        .await
        .unwrap();
    assert_eq!(target.method, "PUT");
    assert_eq!(
        target.headers.get("content-type").map(String::as_str),
        Some("application/pdf")
    );
    assert!(
        put(&client, &target, bytes.clone(), true)
            .await
            .is_success(),
        "an exact upload is accepted"
    );
    let info = blobs
        .stat(&key)
        .await
        .unwrap()
        .expect("uploaded blob exists");
    assert_eq!(info.size, bytes.len() as u64);
    assert_eq!(
        info.sha256.as_ref(),
        Some(&sha),
        "storage reports the verified SHA-256"
    );

    // a download URL gives the same bytes with the filename
    let url = blobs
        .download_url(DownloadSpec {
            key: &key,
            filename: "besluit 1.pdf",
            content_type: "application/pdf",
            inline: false,
            ttl: Duration::from_secs(60),
        })
        .await
        .unwrap();
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let disposition = res
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert!(
        disposition.contains("attachment") && disposition.contains("besluit"),
        "download names the file: {disposition}"
    );
    assert_eq!(
        res.bytes().await.unwrap().to_vec(),
        bytes,
        "download is byte-identical"
    );

    // a body of another size is refused and leaves no blob
    let key2 = new_key();
    want(store.as_ref(), &key2).await;
    let target = blobs
        .upload_target(UploadSpec {
            key: &key2,
            size: 10,
            content_type: "text/plain",
            sha256: None,
            ttl: Duration::from_secs(300),
        })
        .await
        .unwrap();
    let status = put(&client, &target, vec![b'x'; 11], true).await;
    assert!(
        status.is_client_error(),
        "a larger body is refused: {status}"
    );
    let status = put(&client, &target, vec![b'x'; 9], true).await;
    assert!(
        status.is_client_error(),
        "a smaller body is refused: {status}"
    );
    assert_eq!(
        blobs.stat(&key2).await.unwrap(),
        None,
        "a refused upload leaves nothing"
    );

    // a tampered signature is refused with 403
    let mut tampered = target.clone();
    tampered.url = tamper(&tampered.url);
    assert_eq!(
        put(&client, &tampered, vec![b'x'; 10], true).await,
        StatusCode::FORBIDDEN,
        "a tampered URL is refused"
    );
    assert_eq!(blobs.stat(&key2).await.unwrap(), None);

    // bytes that differ from the announced SHA-256 are never vouched for
    let key3 = new_key();
    let announced = Sha256::of(b"something else!!");
    want(store.as_ref(), &key3).await;
    let target = blobs
        .upload_target(UploadSpec {
            key: &key3,
            size: 16,
            content_type: "text/plain",
            sha256: Some(&announced),
            ttl: Duration::from_secs(300),
        })
        .await
        .unwrap();
    let status = put(&client, &target, b"0123456789abcdef".to_vec(), true).await;
    assert!(
        status.is_client_error(),
        "a body with another SHA-256 is refused: {status}"
    );
    let after = blobs.stat(&key3).await.unwrap();
    assert!(
        after.is_none_or(|i| i.sha256.as_ref() != Some(&announced)),
        "storage never vouches for bytes it refused"
    );

    // an expired URL is refused
    let key4 = new_key();
    want(store.as_ref(), &key4).await;
    let target = blobs
        .upload_target(UploadSpec {
            key: &key4,
            size: 3,
            content_type: "text/plain",
            sha256: None,
            ttl: Duration::from_secs(1),
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        put(&client, &target, b"abc".to_vec(), true).await,
        StatusCode::FORBIDDEN,
        "an expired URL is refused"
    );

    // a server-side copy holds the same bytes and survives its source
    let copy = format!("{prefix}copy");
    blobs.copy(&key, &copy).await.expect("copy succeeds");
    let copied = blobs.stat(&copy).await.unwrap().expect("the copy exists");
    assert_eq!(copied.size, bytes.len() as u64);
    blobs.delete(&key).await.unwrap();
    let url = blobs
        .download_url(DownloadSpec {
            key: &copy,
            filename: "kopie.pdf",
            content_type: "application/pdf",
            inline: true,
            ttl: Duration::from_secs(60),
        })
        .await
        .unwrap();
    assert_eq!(
        client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec(),
        bytes,
        "the copy is byte-identical"
    );

    // delete and prefix delete
    blobs.delete(&key).await.unwrap();
    assert_eq!(blobs.stat(&key).await.unwrap(), None);
    blobs.delete(&key).await.unwrap();
    for n in [5u64, 6] {
        let k = format!("{prefix}{}", ulid::Ulid::from_parts(n, 0));
        want(store.as_ref(), &k).await;
        let t = blobs
            .upload_target(UploadSpec {
                key: &k,
                size: 2,
                content_type: "text/plain",
                sha256: None,
                ttl: Duration::from_secs(60),
            })
            .await
            .unwrap();
        assert!(put(&client, &t, b"ok".to_vec(), true).await.is_success());
    }
    // Two destructions at once (a retry and a trigger): both succeed, between them all is gone.
    let (first, second) = tokio::join!(blobs.delete_prefix(&prefix), blobs.delete_prefix(&prefix));
    let removed = first.unwrap().max(second.unwrap());
    assert!(
        removed >= 2,
        "prefix delete removes every blob under it ({removed})"
    );
    assert_eq!(
        blobs
            .stat(&format!("{prefix}{}", ulid::Ulid::from_parts(5, 0)))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        blobs.delete_prefix(&prefix).await.unwrap(),
        0,
        "again: nothing left"
    );
}

/// Changes one character of the signature-bearing query parameter.
pub fn tamper(url: &str) -> String {
    for marker in ["sig=", "X-Amz-Signature="] {
        if let Some(i) = url.find(marker) {
            let at = i + marker.len();
            let c = &url[at..at + 1];
            let replacement = if c == "0" { "1" } else { "0" };
            return format!("{}{}{}", &url[..at], replacement, &url[at + 1..]);
        }
    }
    panic!("no signature in {url}");
}

/// Makes an upload to `key` wanted: a staged document record, as staging writes it.
async fn want(store: Option<&Arc<dyn Store>>, key: &str) {
    use portaal_core::domain::{ContentType, Filename};
    use portaal_core::model::{Document, DocumentState, Record, ScanState, keys};
    let Some(store) = store else { return };
    let (case, id) = keys::parse_staged_blob(key).expect("a staged key");
    let doc = Document {
        id,
        filename: Filename::parse("contract.pdf").unwrap(),
        size: 1,
        content_type: ContentType::parse("application/pdf").unwrap(),
        sha256: None,
        blob_key: key.to_owned(),
        state: DocumentState::Staged,
        request_id: None,
        delivery_id: None,
        publication_id: None,
        created_at: Utc::now(),
        scan: ScanState::NotScanned,
        scan_note: None,
    };
    store
        .transact(vec![Write::put(
            doc.to_item(keys::dossier(&case), keys::doc(&doc.id)),
        )])
        .await
        .unwrap();
}

// ---------------------------------------------------------------- mailer

/// `sink` answers the sent mails the transport holds, as JSON objects with `to`, `subject` and
/// the bodies.
pub async fn mailer_contract<F, Fut>(mailer: Arc<dyn Mailer>, sink: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Vec<Value>>,
{
    let subject = format!("Contract {}", unique("mail"));
    let mail = OutgoingMail {
        id: Id::from_ulid(ulid::Ulid::new()),
        case_id: portaal_core::domain::CaseId::parse("BZ-2026-0042").unwrap(),
        to: vec![
            Email::parse("afdeling@example.nl").unwrap(),
            Email::parse("tweede@example.nl").unwrap(),
        ],
        reply_to: Some(Email::parse("behandelaar@example.nl").unwrap()),
        subject: subject.clone(),
        text: "Beste collega,\n\nZie https://portaal.example.nl/p/abc".into(),
        html: "<p>Beste collega,</p><p><a href=\"https://portaal.example.nl/p/abc\">link</a></p>"
            .into(),
    };
    let id = mailer.send(&mail).await.expect("send succeeds");
    assert!(!id.is_empty(), "the transport answers a message id");
    let sent = sink().await;
    let found: Vec<&Value> = sent
        .iter()
        .filter(|m| m.to_string().contains(&subject))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "the mail reached the transport once: {sent:?}"
    );
    let text = found[0].to_string();
    assert!(
        text.contains("afdeling@example.nl") && text.contains("tweede@example.nl"),
        "every recipient is addressed"
    );
    assert!(
        text.contains("portaal.example.nl/p/abc"),
        "the body arrives"
    );
}

// ---------------------------------------------------------------- scheduler

pub async fn scheduler_contract(scheduler: Arc<dyn Scheduler>) {
    let job = Job::Reminder {
        case_id: CaseId::parse(&unique("sched")).unwrap(),
        request_id: Id::from_ulid(ulid::Ulid::new()),
        step: -2,
    };
    let first = Utc.with_ymd_and_hms(2099, 1, 2, 7, 0, 0).unwrap();
    let second = Utc.with_ymd_and_hms(2099, 1, 5, 7, 0, 0).unwrap();
    assert_eq!(
        scheduler.scheduled_at(&job).await.unwrap(),
        None,
        "no schedule before upsert"
    );
    scheduler.upsert(&job, first).await.unwrap();
    assert_eq!(scheduler.scheduled_at(&job).await.unwrap(), Some(first));
    scheduler
        .upsert(&job, second)
        .await
        .expect("upsert of an existing schedule updates it");
    assert_eq!(
        scheduler.scheduled_at(&job).await.unwrap(),
        Some(second),
        "the later upsert wins"
    );
    scheduler.remove(&job).await.unwrap();
    assert_eq!(scheduler.scheduled_at(&job).await.unwrap(), None, "removed");
    scheduler
        .remove(&job)
        .await
        .expect("removing an absent schedule is fine");
    let purge = Job::Purge {
        case_id: CaseId::parse(&unique("sched")).unwrap(),
    };
    scheduler.upsert(&purge, first).await.unwrap();
    assert_eq!(scheduler.scheduled_at(&purge).await.unwrap(), Some(first));
    assert_eq!(
        scheduler.scheduled_at(&job).await.unwrap(),
        None,
        "jobs have their own schedules"
    );
    scheduler.remove(&purge).await.unwrap();
}

// ---------------------------------------------------------------- AWS emulator sinks

/// Mails moto received through SES (under `ses.Message` of its data API).
pub async fn aws_sent_mails() -> Vec<Value> {
    let Ok(moto) = std::env::var("PORTAAL_MOTO_URL") else {
        return Vec::new();
    };
    let ses: Value = reqwest::get(format!("{moto}/portaal-test/sent-mail"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = Vec::new();
    for kind in ["Message", "RawMessage"] {
        if let Some(list) = ses[kind].as_array() {
            // `to` as the embedded outbox lists it, so tests read both alike.
            out.extend(list.iter().cloned().map(|mut m| {
                m["to"] = m["destinations"]["ToAddresses"].clone();
                m
            }));
        }
    }
    out
}
