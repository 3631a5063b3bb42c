//! Errors as `application/problem+json`: a useful `detail`, never internals (those are logged).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portaal_core::Error as CoreError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or wrong API key")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("too many attempts; wait a few minutes")]
    TooManyRequests,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    PayloadTooLarge(String),
}

#[derive(Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Each mistake at its place, where there are several (a mail text's line and column).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<portaal_core::error::FieldError>>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        use CoreError as E;
        match self {
            ApiError::Core(e) => match e {
                E::Invalid(_) | E::InvalidFields { .. } => StatusCode::BAD_REQUEST,
                E::NotFound(_) | E::UnknownLink => StatusCode::NOT_FOUND,
                E::Conflict(_) => StatusCode::CONFLICT,
                E::Gone(_) | E::RequestWithdrawn => StatusCode::GONE,
                // A concurrent change won the race; asking again sees it.
                E::Store(portaal_core::ports::StoreError::ConditionFailed { .. }) => {
                    StatusCode::CONFLICT
                }
                E::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                E::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                E::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
                E::NotYet { .. } => StatusCode::CONFLICT,
                E::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
                E::Forbidden(_) => StatusCode::FORBIDDEN,
                E::Store(_) | E::Blob(_) | E::Mail(_) | E::Schedule(_) | E::Corrupt(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
            },
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// What the caller may read: the message for their mistakes, a generic line for ours.
    pub fn detail(&self) -> String {
        match self {
            ApiError::Core(CoreError::Store(portaal_core::ports::StoreError::ConditionFailed { .. })) => {
                "the dossier changed while this was being saved; nothing was changed by this call, try again".to_owned()
            }
            ApiError::Core(e) if e.is_internal() => {
                "Something went wrong on our side; nothing was changed. Try again later.".to_owned()
            }
            other => other.to_string(),
        }
    }
}

/// An `application/problem+json` answer.
pub fn problem_response(status: StatusCode, detail: String) -> Response {
    problem(status, detail, None)
}

/// A problem, with each mistake at its place when there are several
/// (`errors: [{field, line, column, detail}]`).
fn problem(
    status: StatusCode,
    detail: String,
    errors: Option<Vec<portaal_core::error::FieldError>>,
) -> Response {
    let problem = Problem {
        kind: "about:blank",
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        errors,
    };
    let mut res = (status, Json(problem)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let errors = match &self {
            ApiError::Core(CoreError::InvalidFields { errors, .. }) => Some(errors.clone()),
            _ => None,
        };
        let mut res = problem(status, self.detail(), errors);
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let ApiError::Core(
            CoreError::NotYet {
                retry_after_secs, ..
            }
            | CoreError::TooMany {
                retry_after_secs, ..
            },
        ) = &self
        {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            // The guess limiter's window.
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("600"));
        }
        res
    }
}

/// A JSON body whose rejection is the app's problem+json (400, 413, 415 with a `detail`).
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct AppJson<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "send the body as JSON with Content-Type: application/json".into(),
            ),
            JsonRejection::BytesRejection(_) => {
                ApiError::PayloadTooLarge("the request body is too large".into())
            }
            other => ApiError::BadRequest(format!("the body is not valid: {}", other.body_text())),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// `302 Found` to a short-lived URL, as the API contract says (axum's `Redirect::to` is a 303).
pub fn found(url: &str) -> Response {
    match HeaderValue::from_str(url) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => ApiError::Core(CoreError::Corrupt(
            "download URL is not a valid header".into(),
        ))
        .into_response(),
    }
}

/// An optional JSON body: absent or empty is the default; anything else must parse, or the
/// answer is a 400 problem like every other bad body.
pub struct OptionalJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for OptionalJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Default,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge("the request body is too large".into()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(T::default()));
        }
        serde_json::from_slice(&bytes)
            .map(Self)
            .map_err(|e| ApiError::BadRequest(format!("the body is not valid: {e}")))
    }
}
