//! The staff console (`/staff`): sign-in with the organisation's OpenID Connect provider, sessions
//! in the store, role gating, and the case handler's work queue. Pages are HTML in the portal's
//! frame under the same CSP; every POST form carries a CSRF token.
//!
//! - Without a session a console page starts a sign-in (the pending sign-in goes to the store)
//!   and redirects to the provider; `GET /staff/auth/callback` redeems the code, checks `state`
//!   (also against a short-lived cookie, so an answer meant for another browser is refused) and
//!   starts a session.
//! - A session lives in the store under a hash of its cookie: idle 30 minutes, at most 10 hours.
//! - Without `PORTAAL_OIDC_ISSUER` the console explains how to configure it; with `--demo` on
//!   loopback, `/staff/dev-login` signs a developer in with a chosen role instead.

use std::marker::PhantomData;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Extension, Form, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use portaal_core::Portaal;
use portaal_core::staff::{Role, StaffSession, StaffUser, safe_return_path};
use portaal_core::usecases::staff::CallbackError;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::page::staff::{StaffBar, dev_login_page, forbidden_page, queue_page, setup_page};
use crate::page::{self, Lang};
use crate::portal::ClientIp;
use crate::state::PublicBase;

/// The functional administrator's case types and webhooks (`/staff/case-types…`).
mod admin;
/// The case handler's dossiers (`/staff/dossiers…`).
mod dossiers;
/// The records manager's destructions (`/staff/destructions…`).
mod records;

/// The session cookie (HttpOnly, SameSite=Lax, Secure on https, path `/staff`).
pub const SESSION_COOKIE: &str = "portaal_staff";
/// Binds a sign-in's `state` to the browser that started it (10 minutes, path `/staff/auth`).
pub const STATE_COOKIE: &str = "portaal_staff_state";
/// The developer sign-in form's token, before there is a session to hold one.
const FORM_COOKIE: &str = "portaal_staff_form";

/// The deliveries the work queue shows at most.
const QUEUE_LIMIT: usize = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff", get(work_queue))
        .route("/staff/auth/callback", get(callback))
        .route("/staff/logout", get(sign_out_page).post(sign_out))
        .route("/staff/dev-login", get(dev_login_form).post(dev_login))
        .merge(dossiers::routes())
        .merge(admin::routes())
        .merge(records::routes())
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// What every console answer needs: the language, where we are served, the organisation.
struct Page<'a> {
    state: &'a AppState,
    lang: Lang,
    base: &'a PublicBase,
}

impl<'a> Page<'a> {
    fn new(state: &'a AppState, lang: Option<&str>, base: &'a PublicBase) -> Self {
        Self {
            state,
            lang: Lang::from_query(lang),
            base,
        }
    }

    fn org(&self) -> &str {
        &self.state.system.config.org_name
    }

    fn secure(&self) -> bool {
        self.base.url.starts_with("https://")
    }

    fn html(&self, status: StatusCode, body: String) -> Response {
        (status, Html(body)).into_response()
    }

    fn error(&self, status: StatusCode, title: &str, detail: &str) -> Response {
        self.html(
            status,
            page::error_page(
                status.as_u16(),
                title,
                detail,
                page::hint_for(status.as_u16()),
                self.lang,
                &self.base.path,
                self.org(),
            ),
        )
    }

    /// A `Set-Cookie` value for a console cookie under `{base}{path}`.
    fn cookie(&self, name: &str, value: &str, path: &str, max_age: Option<i64>) -> HeaderValue {
        let mut cookie = format!(
            "{name}={value}; Path={}{path}; HttpOnly; SameSite=Lax",
            self.base.path
        );
        if let Some(seconds) = max_age {
            cookie.push_str(&format!("; Max-Age={seconds}"));
        }
        if self.secure() {
            cookie.push_str("; Secure");
        }
        HeaderValue::from_str(&cookie).expect("cookie values are base64url")
    }

    /// 303 to a console path (`/staff…`), under the public base path.
    fn see_console(&self, path: &str, cookies: Vec<HeaderValue>) -> Response {
        let location = format!("{}{}", self.base.path, path);
        see_other(&location, cookies)
    }
}

fn see_other(location: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, value);
    }
    for cookie in cookies {
        res.headers_mut().append(header::SET_COOKIE, cookie);
    }
    res
}

/// The value of cookie `name`, if the request has it.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Equal secrets, compared in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A signed-in user with the role a page needs.
struct SignedIn {
    session: StaffSession,
}

/// What every console page needs of its request: the app, where it is served from, the
/// language (`?lang=en`), the caller's address and the headers (the session cookie).
struct Console {
    state: AppState,
    base: PublicBase,
    lang: Lang,
    ip: ClientIp,
    headers: HeaderMap,
    uri: Uri,
}

impl FromRequestParts<AppState> for Console {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = ClientIp::from_request_parts(parts, state).await?;
        let base = parts
            .extensions
            .get::<PublicBase>()
            .cloned()
            .unwrap_or_else(|| PublicBase {
                url: state.system.config.public_url.clone(),
                path: String::new(),
            });
        Ok(Self {
            state: state.clone(),
            base,
            lang: Lang::from_query(parts.uri.query()),
            ip,
            headers: parts.headers.clone(),
            uri: parts.uri.clone(),
        })
    }
}

impl Console {
    fn page(&self) -> Page<'_> {
        Page {
            state: &self.state,
            lang: self.lang,
            base: &self.base,
        }
    }

    fn portaal(&self) -> &Portaal {
        &self.state.system.portaal
    }

    fn bar(&self, signed_in: &SignedIn) -> StaffBar {
        let session = &signed_in.session;
        StaffBar::new(&session.user, &session.csrf, self.lang)
    }

    /// The signed-in user with `role` whose script sent the session's CSRF token (see
    /// [`require_script`]).
    async fn scripted(&self, role: Role, csrf: &str) -> Result<SignedIn, Response> {
        require_script(&self.page(), &self.headers, role, csrf).await
    }
}

/// A role a console page needs, as a type: `Staff<Handler>` is a request by a case handler.
trait NeedsRole {
    const ROLE: Role;
}

/// The case handler's pages.
struct Handler;
/// The functional administrator's pages.
struct Admin;
/// The records manager's pages.
struct Records;

impl NeedsRole for Handler {
    const ROLE: Role = Role::Handler;
}
impl NeedsRole for Admin {
    const ROLE: Role = Role::Admin;
}
impl NeedsRole for Records {
    const ROLE: Role = Role::Records;
}

/// A console request by a signed-in user with role `R`. Without a session the request is
/// answered by a sign-in (a redirect to the provider, and back here after), without the role by
/// `403` with a page naming it.
struct Staff<R> {
    console: Console,
    signed_in: SignedIn,
    role: PhantomData<R>,
}

impl<R: NeedsRole> FromRequestParts<AppState> for Staff<R> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(console) = Console::from_request_parts(parts, state).await;
        let signed_in = require(&console.page(), &console.headers, &console.uri, R::ROLE).await?;
        Ok(Self {
            console,
            signed_in,
            role: PhantomData,
        })
    }
}

impl<R> Staff<R> {
    fn page(&self) -> Page<'_> {
        self.console.page()
    }

    fn bar(&self) -> StaffBar {
        self.console.bar(&self.signed_in)
    }

    /// The signed-in user as the audit trail names them.
    fn actor(&self) -> String {
        self.signed_in.session.user.actor()
    }
}

/// A console form's CSRF token field.
trait CsrfField {
    fn csrf(&self) -> &str;
}

/// A console form of type `T`, posted by a signed-in user with role `R` with the session's CSRF
/// token. Without a session the user signs in and comes back to the page the form is on (never
/// to the action); an unreadable form is `400`, a missing or foreign token `403`.
struct StaffForm<R, T> {
    staff: Staff<R>,
    form: T,
}

/// The page a form posted to `path` stands on: where a sign-in in between returns to.
fn page_of_form(path: &str) -> String {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["staff", "dossiers"] => "/staff/dossiers/new".to_owned(),
        ["staff", "dossiers", case, _, ..] => format!("/staff/dossiers/{case}"),
        ["staff", "case-types", key, _, ..] => format!("/staff/case-types/{key}"),
        ["staff", "webhooks", _, ..] => "/staff/webhooks".to_owned(),
        _ => path.to_owned(),
    }
}

impl<R, T> FromRequest<AppState> for StaffForm<R, T>
where
    R: NeedsRole,
    T: CsrfField + DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Ok(console) = Console::from_request_parts(&mut parts, state).await;
        let page = console.page();
        let s = page.lang.staff_texts();
        let back: Uri = page_of_form(parts.uri.path())
            .parse()
            .unwrap_or_else(|_| Uri::from_static("/staff"));
        let signed_in = require(&page, &console.headers, &back, R::ROLE).await?;
        let form = Form::<T>::from_request(Request::from_parts(parts, body), state).await;
        let Ok(Form(form)) = form else {
            return Err(page.error(StatusCode::BAD_REQUEST, s.csrf_title, s.csrf_detail));
        };
        let given = form.csrf();
        if given.is_empty() || !same_secret(given, &signed_in.session.csrf) {
            return Err(page.error(StatusCode::FORBIDDEN, s.csrf_title, s.csrf_detail));
        }
        Ok(Self {
            staff: Staff {
                console,
                signed_in,
                role: PhantomData,
            },
            form,
        })
    }
}

/// The session behind the request, or the answer instead: a sign-in (redirect to the provider,
/// or the developer sign-in, or the setup page) without one, `403` without `role`.
async fn require(
    page: &Page<'_>,
    headers: &HeaderMap,
    uri: &Uri,
    role: Role,
) -> Result<SignedIn, Response> {
    let portaal = &page.state.system.portaal;
    if let Some(cookie) = cookie_value(headers, SESSION_COOKIE) {
        match portaal.staff_session(&cookie).await {
            Ok(Some(session)) if session.user.has(role) => return Ok(SignedIn { session }),
            Ok(Some(session)) => {
                let bar = StaffBar::new(&session.user, &session.csrf, page.lang);
                return Err(page.html(
                    StatusCode::FORBIDDEN,
                    forbidden_page(role, bar, page.lang, &page.base.path, page.org()),
                ));
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "reading a staff session failed");
                return Err(page.error(StatusCode::INTERNAL_SERVER_ERROR, "Error", ""));
            }
        }
    }
    let return_to = uri.path_and_query().map_or("/staff", |p| p.as_str());
    Err(start_sign_in(page, return_to).await)
}

/// The signed-in user with `role` whose script sent the session's CSRF token; else the answer
/// as problem+json, as a script reads it: `401` without a session (never a redirect to the
/// provider), `403` without the role or the token.
async fn require_script(
    page: &Page<'_>,
    headers: &HeaderMap,
    role: Role,
    csrf: &str,
) -> Result<SignedIn, Response> {
    let s = page.lang.staff_texts();
    let refuse = crate::problem::problem_response;
    let session = match cookie_value(headers, SESSION_COOKIE) {
        Some(cookie) => page.state.system.portaal.staff_session(&cookie).await,
        None => Ok(None),
    };
    match session {
        Ok(Some(session)) if !session.user.has(role) => Err(refuse(
            StatusCode::FORBIDDEN,
            page::texts::fill(s.script_needs_role, &[("role", role.as_str())]),
        )),
        Ok(Some(session)) if csrf.is_empty() || !same_secret(csrf, &session.csrf) => {
            Err(refuse(StatusCode::FORBIDDEN, s.csrf_detail.to_owned()))
        }
        Ok(Some(session)) => Ok(SignedIn { session }),
        Ok(None) => Err(refuse(
            StatusCode::UNAUTHORIZED,
            s.script_signed_out.to_owned(),
        )),
        Err(e) => {
            tracing::error!(error = %e, "reading a staff session failed");
            Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, String::new()))
        }
    }
}

/// Sends the browser to sign in, and to `return_to` (a console path) afterwards.
async fn start_sign_in(page: &Page<'_>, return_to: &str) -> Response {
    let s = page.lang.staff_texts();
    let config = &page.state.system.config;
    let Some(oidc) = page.state.oidc.as_deref() else {
        if config.staff_dev_login() {
            let query = format!(
                "/staff/dev-login?return_to={}",
                percent_encoding::utf8_percent_encode(
                    &safe_return_path(Some(return_to)),
                    percent_encoding::NON_ALPHANUMERIC
                )
            );
            return page.see_console(&query, Vec::new());
        }
        let redirect = portaal_infra::config::OidcConfig::redirect_uri(&page.base.url);
        return page.html(
            StatusCode::SERVICE_UNAVAILABLE,
            setup_page(&redirect, page.lang, &page.base.path, page.org()),
        );
    };
    match page
        .state
        .system
        .portaal
        .start_staff_sign_in(oidc, return_to)
        .await
    {
        Ok((url, state)) => {
            let bound = page.cookie(STATE_COOKIE, &state, "/staff/auth", Some(600));
            see_other(&url, vec![bound])
        }
        Err(e) => {
            tracing::error!(error = %e, "starting a staff sign-in failed");
            page.error(
                StatusCode::SERVICE_UNAVAILABLE,
                s.unavailable_title,
                &e.to_string(),
            )
        }
    }
}

/// `GET /staff`: the case handler's work queue.
async fn work_queue(staff: Staff<Handler>) -> Response {
    let page = staff.page();
    match staff.console.portaal().work_queue(QUEUE_LIMIT).await {
        Ok(queue) => page.html(
            StatusCode::OK,
            queue_page(&queue, staff.bar(), page.lang, &page.base.path, page.org()),
        ),
        Err(e) => {
            tracing::error!(error = %e, "the work queue failed");
            page.error(StatusCode::INTERNAL_SERVER_ERROR, "Error", "")
        }
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /staff/auth/callback`: the provider's answer. An unknown, used, expired or tampered
/// `state`, or one this browser did not start, is `400`.
async fn callback(
    State(state): State<AppState>,
    Extension(base): Extension<PublicBase>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let page = Page {
        state: &state,
        lang: Lang::Nl,
        base: &base,
    };
    let s = page.lang.staff_texts();
    let Some(oidc) = state.oidc.as_deref() else {
        return start_sign_in(&page, "/staff").await;
    };
    let returned_state = q.state.unwrap_or_default();
    let bound = cookie_value(&headers, STATE_COOKIE).unwrap_or_default();
    let clear_state = page.cookie(STATE_COOKIE, "", "/staff/auth", Some(0));
    if returned_state.is_empty() || !same_secret(&bound, &returned_state) {
        return with_cookie(
            page.error(StatusCode::BAD_REQUEST, s.state_title, s.state_detail),
            clear_state,
        );
    }
    if let Some(error) = q.error {
        // The provider refused (the user cancelled, no access): the pending sign-in is dropped.
        let _ = state
            .system
            .portaal
            .take_pending_sign_in(&returned_state)
            .await;
        let detail = match q.error_description {
            Some(d) => format!("{error}: {d}"),
            None => error,
        };
        let detail: String = detail.chars().take(300).collect();
        return with_cookie(
            page.error(StatusCode::BAD_REQUEST, s.refused_title, &detail),
            clear_state,
        );
    }
    let code = q.code.unwrap_or_default();
    let finished = state
        .system
        .portaal
        .finish_staff_sign_in(oidc, &oidc.config().role_map, &returned_state, &code)
        .await;
    let answer = match finished {
        Ok((cookie, _, return_to)) => page.see_console(
            &return_to,
            vec![page.cookie(SESSION_COOKIE, &cookie, "/staff", None)],
        ),
        Err(CallbackError::UnknownState) => {
            page.error(StatusCode::BAD_REQUEST, s.state_title, s.state_detail)
        }
        Err(CallbackError::Provider(portaal_core::staff::SignInError::Refused(why))) => {
            tracing::warn!(reason = %why, "a staff sign-in was refused");
            page.error(StatusCode::BAD_REQUEST, s.refused_title, &why)
        }
        Err(e) => {
            tracing::error!(error = %e, "finishing a staff sign-in failed");
            page.error(
                StatusCode::SERVICE_UNAVAILABLE,
                s.unavailable_title,
                &e.to_string(),
            )
        }
    };
    with_cookie(answer, clear_state)
}

fn with_cookie(mut res: Response, cookie: HeaderValue) -> Response {
    res.headers_mut().append(header::SET_COOKIE, cookie);
    res
}

/// `GET /staff/logout`: the sign-out button, or that the session has ended.
async fn sign_out_page(
    State(state): State<AppState>,
    Extension(base): Extension<PublicBase>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::from_query(q.lang.as_deref());
    let session = match cookie_value(&headers, SESSION_COOKIE) {
        Some(cookie) => state
            .system
            .portaal
            .staff_session(&cookie)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    let bar = session.map(|s| StaffBar::new(&s.user, &s.csrf, lang));
    Html(page::staff::sign_out_page(
        bar,
        lang,
        &base.path,
        &state.system.config.org_name,
    ))
    .into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /staff/logout`: ends the session (with its CSRF token), then the provider's session
/// where it offers RP-initiated logout; back at `GET /staff/logout` either way.
async fn sign_out(
    State(state): State<AppState>,
    Extension(base): Extension<PublicBase>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let page = Page::new(&state, q.lang.as_deref(), &base);
    let s = page.lang.staff_texts();
    let Ok(Form(form)) = form else {
        return page.error(StatusCode::BAD_REQUEST, s.csrf_title, s.csrf_detail);
    };
    let signed_out = if page.lang == Lang::En {
        "/staff/logout?lang=en"
    } else {
        "/staff/logout"
    };
    let clear = page.cookie(SESSION_COOKIE, "", "/staff", Some(0));
    let Some(cookie) = cookie_value(&headers, SESSION_COOKIE) else {
        return page.see_console(signed_out, vec![clear]);
    };
    let portaal = &state.system.portaal;
    let session = match portaal.staff_session(&cookie).await {
        Ok(Some(session)) => session,
        Ok(None) => return page.see_console(signed_out, vec![clear]),
        Err(e) => {
            tracing::error!(error = %e, "reading a staff session failed");
            return page.error(StatusCode::INTERNAL_SERVER_ERROR, "Error", "");
        }
    };
    if !same_secret(&form.csrf, &session.csrf) {
        return page.error(StatusCode::FORBIDDEN, s.csrf_title, s.csrf_detail);
    }
    if let Err(e) = portaal.end_staff_session(&cookie).await {
        tracing::error!(error = %e, "ending a staff session failed");
        return page.error(StatusCode::INTERNAL_SERVER_ERROR, "Error", "");
    }
    let after = format!("{}{signed_out}", base.url);
    if let Some(oidc) = state.oidc.as_deref() {
        if let Some(url) = portaal_core::staff::IdentityProvider::logout_url(
            oidc,
            session.id_token.as_deref(),
            &after,
        )
        .await
        {
            return see_other(&url, vec![clear]);
        }
    }
    page.see_console(signed_out, vec![clear])
}

#[derive(Deserialize)]
struct DevLoginQuery {
    lang: Option<String>,
    return_to: Option<String>,
}

/// `GET /staff/dev-login`: only with `--demo` on loopback; elsewhere not found.
async fn dev_login_form(
    State(state): State<AppState>,
    Extension(base): Extension<PublicBase>,
    Query(q): Query<DevLoginQuery>,
) -> Response {
    let page = Page::new(&state, q.lang.as_deref(), &base);
    if !state.system.config.staff_dev_login() {
        return not_found(&page);
    }
    let token = portaal_core::usecases::staff::random_secret();
    let return_to = safe_return_path(q.return_to.as_deref());
    let body = dev_login_page(&token, &return_to, page.lang, &base.path, page.org());
    with_cookie(
        page.html(StatusCode::OK, body),
        page.cookie(FORM_COOKIE, &token, "/staff/dev-login", Some(600)),
    )
}

fn not_found(page: &Page<'_>) -> Response {
    let (title, detail) = match page.lang {
        Lang::Nl => (
            "Niet gevonden",
            "De ontwikkelaarsaanmelding bestaat alleen in de lokale demo (--demo op een loopback-adres).",
        ),
        Lang::En => (
            "Not found",
            "The developer sign-in exists only in the local demo (--demo on a loopback address).",
        ),
    };
    page.error(StatusCode::NOT_FOUND, title, detail)
}

#[derive(Deserialize)]
struct DevLoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    return_to: Option<String>,
}

/// `POST /staff/dev-login`: a session with the chosen role, no provider involved.
async fn dev_login(
    State(state): State<AppState>,
    Extension(base): Extension<PublicBase>,
    Query(q): Query<LangQuery>,
    headers: HeaderMap,
    form: Result<Form<DevLoginForm>, FormRejection>,
) -> Response {
    let page = Page::new(&state, q.lang.as_deref(), &base);
    if !state.system.config.staff_dev_login() {
        return not_found(&page);
    }
    let s = page.lang.staff_texts();
    let Ok(Form(form)) = form else {
        return page.error(StatusCode::BAD_REQUEST, s.csrf_title, s.csrf_detail);
    };
    let bound = cookie_value(&headers, FORM_COOKIE).unwrap_or_default();
    if form.csrf.is_empty() || !same_secret(&bound, &form.csrf) {
        return page.error(StatusCode::FORBIDDEN, s.csrf_title, s.csrf_detail);
    }
    let Some(role) = Role::parse(&form.role) else {
        return page.error(
            StatusCode::BAD_REQUEST,
            s.dev_title,
            "role: handler, admin or records",
        );
    };
    let user = StaffUser {
        subject: format!("dev-{}", role.as_str()),
        email: None,
        name: Some(format!("{} ({})", s.role(role), role.as_str())),
        roles: vec![role],
    };
    match state.system.portaal.open_staff_session(user, None).await {
        Ok((cookie, _)) => page.see_console(
            &safe_return_path(form.return_to.as_deref()),
            vec![
                page.cookie(SESSION_COOKIE, &cookie, "/staff", None),
                page.cookie(FORM_COOKIE, "", "/staff/dev-login", Some(0)),
            ],
        ),
        Err(e) => {
            tracing::error!(error = %e, "a developer sign-in failed");
            page.error(StatusCode::INTERNAL_SERVER_ERROR, "Error", "")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "portaal_staff_state=abc; portaal_staff=xyz"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            cookie_value(&headers, SESSION_COOKIE).as_deref(),
            Some("xyz")
        );
        assert_eq!(cookie_value(&headers, STATE_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie_value(&headers, FORM_COOKIE), None);
    }

    #[test]
    fn a_sign_in_during_a_form_returns_to_the_page_the_form_is_on() {
        let cases = [
            ("/staff/dossiers", "/staff/dossiers/new"),
            ("/staff/dossiers/BZ-1/close", "/staff/dossiers/BZ-1"),
            (
                "/staff/dossiers/BZ-1/deliveries/01J/approve",
                "/staff/dossiers/BZ-1",
            ),
            ("/staff/case-types/bezwaar", "/staff/case-types/bezwaar"),
            (
                "/staff/case-types/bezwaar/preview.html",
                "/staff/case-types/bezwaar",
            ),
            ("/staff/webhooks", "/staff/webhooks"),
            ("/staff/webhooks/01J/rotate", "/staff/webhooks"),
            ("/staff/logout", "/staff/logout"),
        ];
        for (form, page) in cases {
            assert_eq!(page_of_form(form), page, "{form}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
        assert!(!same_secret("", "a"));
    }
}
