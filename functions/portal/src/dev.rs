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
use tokio_util::io::ReaderStream;

use crate::AppState;
use crate::page;
use crate::problem::{ApiError, problem_response};

/// The signed blob routes always; `/dev/mail` only when `with_mail` (it shows every link).
pub fn routes(embedded: Embedded, with_mail: bool) -> Router<AppState> {
    let blob_routes = Router::new()
        .route("/blobs/{*key}", get(download).put(upload))
        .layer(DefaultBodyLimit::disable())
        .with_state(embedded.clone());
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
    State(e): State<Embedded>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let signed = match e
        .blobs
        .verify_upload(&key, &query_map(q), chrono::Utc::now())
    {
        Ok(s) => s,
        Err(err) => return blob_error(err),
    };
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match e.blobs.receive(&signed, ct, body.into_data_stream()).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(err) => blob_error(err),
    }
}

async fn download(
    State(e): State<Embedded>,
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
    let (file, size) = match e.blobs.open(&signed.key).await {
        Ok(f) => f,
        Err(err) => return blob_error(err),
    };
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if signed.inline {
            "inline"
        } else {
            "attachment"
        },
        percent_encoding::utf8_percent_encode(&signed.filename, percent_encoding::NON_ALPHANUMERIC)
    );
    let mut res = Response::new(Body::from_stream(ReaderStream::with_capacity(
        file,
        256 * 1024,
    )));
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
    let json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"));
    if json {
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
    if headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
    {
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
