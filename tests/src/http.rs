//! Driving a test app over HTTP as API.md describes: the API with its bearer key, the portal
//! link as a browser's script uses it, uploads, downloads and the sent mails.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::app::TestApp;
use crate::contract;
use crate::fixtures::{dossier_body, sha256_hex};

/// The JSON body of an answer that has this status (the body shown when it has another).
pub async fn json_answer(res: Response, status: StatusCode) -> Value {
    let code = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(code, status, "{body}");
    body
}

/// Asserts an `application/problem+json` answer with this status and a useful `detail`.
pub async fn problem(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "a useful detail: {body}"
    );
    body
}

pub struct Upload {
    pub id: String,
    pub bytes: Vec<u8>,
    pub filename: String,
}

impl TestApp {
    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.api_key)
    }

    pub async fn put_dossier(&self, case: &str) -> Response {
        self.put_dossier_with(case, &dossier_body()).await
    }

    /// `PUT /dossiers/{case}` with this body.
    pub async fn put_dossier_with(&self, case: &str, body: &Value) -> Response {
        self.api(reqwest::Method::PUT, &format!("/dossiers/{case}"))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch_request(&self, case: &str, request: &str, body: Value) -> Response {
        self.api(
            reqwest::Method::PATCH,
            &format!("/dossiers/{case}/requests/{request}"),
        )
        .json(&body)
        .send()
        .await
        .unwrap()
    }

    /// Closes the dossier (with this body, or none) and answers the close's `200` answer.
    pub async fn close(&self, case: &str, body: Option<Value>) -> Value {
        let mut req = self.api(reqwest::Method::POST, &format!("/dossiers/{case}/close"));
        if let Some(body) = body {
            req = req.json(&body);
        }
        json_answer(req.send().await.unwrap(), StatusCode::OK).await
    }

    /// Approves a delivery; answers its view.
    pub async fn approve(&self, case: &str, delivery: &str) -> Value {
        let path = format!("/dossiers/{case}/deliveries/{delivery}/approve");
        let res = self.api(reqwest::Method::POST, &path).send().await.unwrap();
        json_answer(res, StatusCode::OK).await
    }

    /// Rejects a delivery for this reason; answers its view.
    pub async fn reject(&self, case: &str, delivery: &str, reason: &str) -> Value {
        let path = format!("/dossiers/{case}/deliveries/{delivery}/reject");
        let res = self
            .api(reqwest::Method::POST, &path)
            .json(&json!({ "reason": reason }))
            .send()
            .await
            .unwrap();
        json_answer(res, StatusCode::OK).await
    }

    /// Runs the dossier's destruction job now, as its schedule would.
    pub async fn purge(&self, case: &str) -> portaal_core::usecases::lifecycle::JobOutcome {
        let case_id = portaal_core::domain::CaseId::parse(case).unwrap();
        self.running
            .state
            .system
            .portaal
            .run_job(&portaal_core::ports::Job::Purge { case_id })
            .await
            .unwrap()
    }

    /// Makes `bezwaar` a case type closed and destroyed at its handling (zero days), so a
    /// destruction is due as soon as a dossier closes; answers the saved case type.
    pub async fn destroy_bezwaar_at_handling(&self) -> Value {
        let res = self
            .api(reqwest::Method::PATCH, "/case-types/bezwaar")
            .json(&json!({"close_after_days": 0, "destroy_after_days": 0}))
            .send()
            .await
            .unwrap();
        json_answer(res, StatusCode::OK).await
    }

    /// The deadline overview for this query string.
    pub async fn overview(&self, query: &str) -> Vec<Value> {
        let res = self
            .api(reqwest::Method::GET, &format!("/requests?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn get_dossier(&self, case: &str) -> Value {
        let res = self
            .api(reqwest::Method::GET, &format!("/dossiers/{case}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// Creates a dossier and a request; answers the portal link from the API answer.
    /// A dossier with one request (the body of its `POST`); the request's view.
    async fn dossier_and_request(&self, case: &str, request: Value) -> Value {
        assert_eq!(self.put_dossier(case).await.status(), StatusCode::CREATED);
        let res = self
            .api(reqwest::Method::POST, &format!("/dossiers/{case}/requests"))
            .json(&request)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        res.json().await.unwrap()
    }

    /// A dossier with one request to these addresses (due 2099-12-31); the request's view.
    pub async fn dossier_with_request_to(&self, case: &str, to: &[&str]) -> Value {
        self.dossier_and_request(
            case,
            json!({"department": "Vergunningen", "to": to, "due": "2099-12-31"}),
        )
        .await
    }

    /// A dossier with a request to `vergunningen@example.nl`; its link.
    pub async fn dossier_with_request(&self, case: &str) -> String {
        let body = self
            .dossier_and_request(
                case,
                json!({"department": "Vergunningen", "to": ["vergunningen@example.nl"], "due": "2099-12-31", "message": "Graag alles."}),
            )
            .await;
        body["portal_url"].as_str().expect("portal_url").to_owned()
    }

    pub fn portal(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .header("X-Portaal-Client", "1")
    }

    /// Announces a file and answers the staging answer.
    pub async fn stage(
        &self,
        link: &str,
        filename: &str,
        content_type: &str,
        bytes: &[u8],
        sha256: Option<&str>,
    ) -> Response {
        let mut body =
            json!({"filename": filename, "content_type": content_type, "size": bytes.len()});
        if let Some(s) = sha256 {
            body["sha256"] = json!(s);
        }
        self.portal(reqwest::Method::POST, &format!("{link}/uploads"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// Sends bytes exactly as the staging answer says.
    pub async fn send_bytes(&self, staged: &Value, bytes: Vec<u8>) -> Response {
        let upload = &staged["upload"];
        let mut req = self.client.request(
            upload["method"].as_str().unwrap().parse().unwrap(),
            upload["url"].as_str().unwrap(),
        );
        for (k, v) in upload["headers"].as_object().unwrap() {
            if k != "content-length" {
                req = req.header(k, v.as_str().unwrap());
            }
        }
        req.body(bytes).send().await.unwrap()
    }

    /// Stages and uploads a file whose SHA-256 is announced.
    pub async fn upload(
        &self,
        link: &str,
        filename: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Upload {
        let res = self
            .stage(
                link,
                filename,
                content_type,
                &bytes,
                Some(&sha256_hex(&bytes)),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "staging {filename}");
        let staged: Value = res.json().await.unwrap();
        let put = self.send_bytes(&staged, bytes.clone()).await;
        assert!(
            put.status().is_success(),
            "upload of {filename}: {}",
            put.status()
        );
        Upload {
            id: staged["id"].as_str().unwrap().to_owned(),
            bytes,
            filename: filename.to_owned(),
        }
    }

    /// The portal page as scripts read it (JSON).
    pub async fn portal_view(&self, link: &str) -> Value {
        self.client
            .get(link)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// One PDF uploaded and sent as a delivery through `link`.
    pub async fn deliver(&self, link: &str, filename: &str, bytes: &[u8]) -> Upload {
        let upload = self
            .upload(link, filename, "application/pdf", bytes.to_vec())
            .await;
        assert_eq!(
            self.confirm(link, &[&upload.id]).await.status(),
            StatusCode::CREATED
        );
        upload
    }

    pub async fn confirm(&self, link: &str, uploads: &[&str]) -> Response {
        self.portal(reqwest::Method::POST, &format!("{link}/deliveries"))
            .json(&json!({"uploads": uploads, "comment": "Alle stukken.", "submitted_by": {"name": "Piet Bakker", "email": "p.bakker@example.nl"}}))
            .send()
            .await
            .unwrap()
    }

    /// The short-lived URL the API's 302 points at.
    pub async fn download_url(&self, case: &str, document: &str) -> String {
        let res = self
            .api(
                reqwest::Method::GET,
                &format!("/dossiers/{case}/documents/{document}/content"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FOUND);
        res.headers()["location"].to_str().unwrap().to_owned()
    }

    /// Follows the API's 302 to the short-lived URL and answers the bytes.
    pub async fn download(&self, case: &str, document: &str) -> Vec<u8> {
        let url = self.download_url(case, document).await;
        let res = self.client.get(url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.bytes().await.unwrap().to_vec()
    }

    /// The sent mails about this case (every subject names its case), waiting until at least
    /// `count` exist: the outbox sends in the background.
    pub async fn mails(&self, case: &str, count: usize) -> Vec<Value> {
        let mut mails = Vec::new();
        for _ in 0..100 {
            portal::local::run_due_work(&self.running.state.system).await;
            mails = self
                .sent_mails()
                .await
                .into_iter()
                .filter(|m| m.to_string().contains(case))
                .collect();
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("expected at least {count} mails about {case}, found {mails:?}");
    }

    /// Exactly `count` sent mails about this case: waits for them, lets the background work run
    /// once more, and fails on any extra (a duplicate send would show here).
    pub async fn exact_mails(&self, case: &str, count: usize) -> Vec<Value> {
        self.mails(case, count).await;
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            portal::local::run_due_work(&self.running.state.system).await;
        }
        let mails: Vec<Value> = self
            .sent_mails()
            .await
            .into_iter()
            .filter(|m| m.to_string().contains(case))
            .collect();
        assert_eq!(
            mails.len(),
            count,
            "exactly {count} mails about {case}: {mails:#?}"
        );
        mails
    }

    async fn sent_mails(&self) -> Vec<Value> {
        match &self.running.state.system.embedded {
            Some(_) => {
                let res = self
                    .client
                    .get(format!("{}/dev/mail", self.base))
                    .header("accept", "application/json")
                    .send()
                    .await
                    .unwrap();
                res.json().await.unwrap()
            }
            None => contract::aws_sent_mails().await,
        }
    }
}
