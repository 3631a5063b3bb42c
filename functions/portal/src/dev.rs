//! Routes only the embedded mode has: signed blob URLs and the mail outbox (`/dev/mail`).

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use portaal_infra::embedded::blobs::{BlobAccessError, parse_query};
use portaal_infra::system::Embedded;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use portaal_core::Portaal;

use crate::AppState;
use crate::page;
use crate::problem::{ApiError, problem_response};

/// What the blob routes need: the files, and the records that say whether an upload is wanted.
#[derive(Clone)]
struct BlobState {
    embedded: Embedded,
    portaal: Portaal,
    /// An upload body that sends nothing for this long is cut (`PORTAAL_UPLOAD_IDLE_SECONDS`;
    /// there is no limit on its total time: large files take long).
    upload_idle: Duration,
}

/// The signed blob routes always; `/dev/mail` only when `with_mail` (it shows every link).
pub fn routes(
    embedded: Embedded,
    portaal: Portaal,
    upload_idle: Duration,
    with_mail: bool,
) -> Router<AppState> {
    let blob_routes = Router::new()
        .route("/blobs/{*key}", get(download).put(upload))
        .layer(DefaultBodyLimit::disable())
        .with_state(BlobState {
            embedded: embedded.clone(),
            portaal,
            upload_idle,
        });
    let mail_routes = Router::new()
        .route("/dev/mail", get(mail_list))
        .route("/dev/mail/{id}", get(mail_one))
        .with_state(embedded);
    if with_mail {
        blob_routes.merge(mail_routes)
    } else {
        blob_routes
    }
}

fn blob_error(e: BlobAccessError) -> Response {
    let (status, detail) = match &e {
        BlobAccessError::BadSignature | BlobAccessError::Expired => {
            (StatusCode::FORBIDDEN, e.to_string())
        }
        BlobAccessError::Refused(_) => (
            StatusCode::BAD_REQUEST,
            format!("upload refused: {e}; nothing was stored"),
        ),
        BlobAccessError::NotFound => (StatusCode::NOT_FOUND, "not found".into()),
        BlobAccessError::Io(_) => {
            tracing::error!(error = %e, "blob storage failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage failed; nothing was stored".into(),
            )
        }
    };
    problem_response(status, detail)
}

fn query_map(q: Option<String>) -> BTreeMap<String, String> {
    q.as_deref().map(parse_query).unwrap_or_default()
}

async fn upload(
    State(BlobState {
        embedded: e,
        portaal,
        upload_idle,
    }): State<BlobState>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let query = query_map(q);
    if query.contains_key("upload") {
        return upload_part(&e, &portaal, &key, &query, upload_idle, body).await;
    }
    let signed = match e.blobs.verify_upload(&key, &query, chrono::Utc::now()) {
        Ok(s) => s,
        Err(err) => return blob_error(err),
    };
    if let Some(refused) = unwanted(&portaal, &signed.key).await {
        return refused;
    }
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let body = idle_limited(body.into_data_stream(), upload_idle);
    match e.blobs.receive(&signed, ct, body).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(err) => blob_error(err),
    }
}

/// A valid signature is not enough: the upload must still be wanted. The refusal, if not.
async fn unwanted(portaal: &Portaal, key: &str) -> Option<Response> {
    match portaal.accepts_upload(key).await {
        Ok(true) => None,
        Ok(false) => Some(problem_response(
            StatusCode::FORBIDDEN,
            "this upload was removed, completed or already sent; announce the file again to upload it"
                .into(),
        )),
        Err(err) => Some(ApiError::Core(err).into_response()),
    }
}

/// One part of an upload in parts: answered with its `ETag`, as S3 does.
async fn upload_part(
    e: &Embedded,
    portaal: &Portaal,
    key: &str,
    query: &BTreeMap<String, String>,
    upload_idle: Duration,
    body: Body,
) -> Response {
    let signed = match e.blobs.verify_part(key, query, chrono::Utc::now()) {
        Ok(s) => s,
        Err(err) => return blob_error(err),
    };
    if let Some(refused) = unwanted(portaal, &signed.key).await {
        return refused;
    }
    let body = idle_limited(body.into_data_stream(), upload_idle);
    match e.blobs.receive_part(&signed, body).await {
        Ok(etag) => match HeaderValue::from_str(&etag) {
            Ok(v) => (StatusCode::OK, [(header::ETAG, v)]).into_response(),
            Err(_) => StatusCode::OK.into_response(),
        },
        Err(err) => blob_error(err),
    }
}

/// The body's chunks, ending in an error when none arrives for `idle`.
fn idle_limited<S, E>(
    body: S,
    idle: Duration,
) -> std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, String>> + Send>>
where
    S: Stream<Item = Result<Bytes, E>> + Send + Unpin + 'static,
    E: std::fmt::Display,
{
    Box::pin(futures_util::stream::unfold(
        Some(body),
        move |state| async move {
            let mut body = state?;
            match tokio::time::timeout(idle, body.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
                Ok(Some(Err(e))) => Some((Err(e.to_string()), None)),
                Ok(None) => None,
                Err(_) => Some((
                    Err(format!("no bytes arrived for {} seconds", idle.as_secs())),
                    None,
                )),
            }
        },
    ))
}

async fn download(
    State(BlobState { embedded: e, .. }): State<BlobState>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let signed = match e
        .blobs
        .verify_download(&key, &query_map(q), chrono::Utc::now())
    {
        Ok(s) => s,
        Err(err) => return blob_error(err),
    };
    let (verified, size) = match e.blobs.open_verified(&signed.key).await {
        Ok(f) => f,
        Err(err) => return blob_error(err),
    };
    let disposition = portaal_infra::download::content_disposition(&signed.filename, signed.inline);
    let mut res = Response::new(Body::from_stream(verified));
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&signed.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    // Downloaded files run nothing in the portal's origin.
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; object-src 'self'"));
    res
}

async fn mail_list(State(e): State<Embedded>, headers: HeaderMap) -> Response {
    let mails = match e.mailer.list().await {
        Ok(m) => m,
        Err(err) => {
            return ApiError::Core(portaal_core::Error::Mail(
                portaal_core::ports::MailError::Backend(err.to_string()),
            ))
            .into_response();
        }
    };
    if crate::negotiate::wants_json(&headers) {
        return Json(mails).into_response();
    }
    let sent: Vec<String> = mails
        .iter()
        .map(|m| m.sent_at.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .collect();
    let rows: Vec<page::MailRow> = mails
        .iter()
        .zip(&sent)
        .map(|(m, s)| page::MailRow {
            id: &m.id,
            to: &m.to,
            subject: &m.subject,
            sent_at: s,
        })
        .collect();
    Html(page::mail_list_page(&rows)).into_response()
}

async fn mail_one(
    State(e): State<Embedded>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(id) = id.strip_suffix(".eml") {
        return match e.mailer.raw(id).await {
            Some(raw) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("message/rfc822"),
                )],
                raw,
            )
                .into_response(),
            None => ApiError::NotFound(format!("mail {id} not found")).into_response(),
        };
    }
    let Some(mail) = e.mailer.get(&id).await else {
        return ApiError::NotFound(format!("mail {id} not found")).into_response();
    };
    if crate::negotiate::wants_json(&headers) {
        return Json(mail).into_response();
    }
    let sent = mail.sent_at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    Html(page::mail_page(
        &mail.id,
        &mail.to,
        &mail.subject,
        &sent,
        &mail.text,
    ))
    .into_response()
}
