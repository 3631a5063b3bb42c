//! The staff console's pages: the work queue, the role refusal, the setup advice, the
//! developer sign-in and signing out. They use the portal's frame, stylesheet and CSP; every
//! form carries the session's CSRF token (the developer sign-in, before there is a session, a
//! token it also sets as a cookie).

use askama::Template;
use portaal_core::staff::{Role, StaffUser};
use portaal_core::usecases::staff::WorkQueue;

use super::format::{date_text, datetime_text};
use super::staff_texts::{EN, NL, StaffTexts};
use super::texts::{Texts, fill};
use super::{Frame, Lang, render};

pub mod dossier;
mod dossier_texts;

impl Lang {
    pub fn staff_texts(self) -> &'static StaffTexts {
        match self {
            Lang::Nl => &NL,
            Lang::En => &EN,
        }
    }
}

/// What every console page shows of its user: who, which roles, and the sign-out form.
pub struct StaffBar {
    pub signed_in_as: String,
    pub roles: String,
    pub csrf: String,
}

impl StaffBar {
    pub fn new(user: &StaffUser, csrf: &str, lang: Lang) -> Self {
        let s = lang.staff_texts();
        Self {
            signed_in_as: fill(s.signed_in_as, &[("name", user.display_name())]),
            roles: roles_text(&user.roles, s),
            csrf: csrf.to_owned(),
        }
    }
}

fn roles_text(roles: &[Role], s: &StaffTexts) -> String {
    if roles.is_empty() {
        return s.no_roles.to_owned();
    }
    roles
        .iter()
        .map(|r| s.role(*r))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the page's language sits in its links and form actions ("" or "?lang=en").
pub(super) fn lang_query(lang: Lang) -> &'static str {
    match lang {
        Lang::Nl => "",
        Lang::En => "?lang=en",
    }
}

/// `&lang=en` on English pages, for URLs that have a query already.
pub fn and_lang(lang: Lang) -> &'static str {
    match lang {
        Lang::Nl => "",
        Lang::En => "&lang=en",
    }
}

pub(super) fn frame<'a>(
    lang: Lang,
    base: &'a str,
    org: &'a str,
    title: &str,
    class: &'static str,
) -> Frame<'a> {
    Frame {
        lang,
        base,
        title: format!("{title} \u{2013} Portaal"),
        switch: true,
        footer: lang.texts().footer,
        body_class: class,
        org,
    }
}

pub struct QueueDelivery {
    pub case_id: String,
    pub submitted: String,
    pub submitted_iso: String,
    pub documents: usize,
}

pub struct QueueRequest {
    pub case_id: String,
    pub department: String,
    pub due: String,
    pub due_iso: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "staff/queue.html")]
struct QueuePage<'a> {
    t: &'static Texts,
    s: &'static StaffTexts,
    /// The handler's navigation (to the dossiers and the registration form).
    d: &'static dossier_texts::DossierTexts,
    frame: Frame<'a>,
    bar: StaffBar,
    q: &'static str,
    deliveries: Vec<QueueDelivery>,
    requests: Vec<QueueRequest>,
    more: bool,
}

/// `/staff`: the case handler's work queue.
pub fn queue_page(queue: &WorkQueue, bar: StaffBar, lang: Lang, base: &str, org: &str) -> String {
    let s = lang.staff_texts();
    render(&QueuePage {
        d: lang.dossier_texts(),
        t: lang.texts(),
        s,
        frame: frame(lang, base, org, s.queue_title, "page-staff"),
        bar,
        q: lang_query(lang),
        deliveries: queue
            .awaiting_review
            .iter()
            .map(|d| QueueDelivery {
                case_id: d.case_id.to_string(),
                submitted: datetime_text(d.submitted_at, lang),
                submitted_iso: d
                    .submitted_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                documents: d.document_ids.len(),
            })
            .collect(),
        requests: queue
            .due_soon
            .iter()
            .map(|r| QueueRequest {
                case_id: r.case_id.to_string(),
                department: r.department.clone(),
                due: date_text(r.due.0, lang),
                due_iso: r.due.0.format("%Y-%m-%d").to_string(),
                overdue: r.overdue,
            })
            .collect(),
        more: queue.more_awaiting,
    })
}

#[derive(Template)]
#[template(path = "staff/forbidden.html")]
struct ForbiddenPage<'a> {
    t: &'static Texts,
    s: &'static StaffTexts,
    frame: Frame<'a>,
    bar: StaffBar,
    q: &'static str,
    detail: String,
}

/// 403: a signed-in user without the role the page needs; names that role and the user's own.
pub fn forbidden_page(needed: Role, bar: StaffBar, lang: Lang, base: &str, org: &str) -> String {
    let s = lang.staff_texts();
    render(&ForbiddenPage {
        t: lang.texts(),
        s,
        frame: frame(lang, base, org, s.forbidden_title, "page-staff page-error"),
        detail: fill(
            s.forbidden_detail,
            &[("role", &format!("{} ({})", s.role(needed), needed.as_str()))],
        ),
        bar,
        q: lang_query(lang),
    })
}

#[derive(Template)]
#[template(path = "staff/setup.html")]
struct SetupPage<'a> {
    t: &'static Texts,
    s: &'static StaffTexts,
    frame: Frame<'a>,
    redirect: String,
    vars: &'static [&'static str],
}

/// The console without an identity provider: how to configure one.
pub fn setup_page(redirect_uri: &str, lang: Lang, base: &str, org: &str) -> String {
    let s = lang.staff_texts();
    render(&SetupPage {
        t: lang.texts(),
        s,
        frame: frame(lang, base, org, s.setup_title, "page-staff"),
        redirect: fill(s.setup_redirect, &[("uri", redirect_uri)]),
        vars: &[
            "PORTAAL_OIDC_ISSUER",
            "PORTAAL_OIDC_CLIENT_ID",
            "PORTAAL_OIDC_CLIENT_SECRET",
            "PORTAAL_OIDC_EXTRA_SCOPES",
            "PORTAAL_OIDC_ROLES_CLAIM",
            "PORTAAL_OIDC_ROLE_MAP",
        ],
    })
}

pub struct RoleChoice {
    pub value: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "staff/dev_login.html")]
struct DevLoginPage<'a> {
    t: &'static Texts,
    s: &'static StaffTexts,
    frame: Frame<'a>,
    q: &'static str,
    form_token: &'a str,
    return_to: &'a str,
    choices: Vec<RoleChoice>,
}

/// `/staff/dev-login` (local demo only): pick a role.
pub fn dev_login_page(
    form_token: &str,
    return_to: &str,
    lang: Lang,
    base: &str,
    org: &str,
) -> String {
    let s = lang.staff_texts();
    render(&DevLoginPage {
        t: lang.texts(),
        s,
        frame: frame(lang, base, org, s.dev_title, "page-staff"),
        q: lang_query(lang),
        form_token,
        return_to,
        choices: Role::ALL
            .into_iter()
            .map(|r| RoleChoice {
                value: r.as_str(),
                label: s.role(r),
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "staff/sign_out.html")]
struct SignOutPage<'a> {
    t: &'static Texts,
    s: &'static StaffTexts,
    frame: Frame<'a>,
    bar: Option<StaffBar>,
    q: &'static str,
}

/// `GET /staff/logout`: the sign-out button (a POST with the CSRF token), or, without a
/// session, that the user is signed out.
pub fn sign_out_page(bar: Option<StaffBar>, lang: Lang, base: &str, org: &str) -> String {
    let s = lang.staff_texts();
    let title = if bar.is_some() {
        s.signout_title
    } else {
        s.signed_out_title
    };
    render(&SignOutPage {
        t: lang.texts(),
        s,
        frame: frame(lang, base, org, title, "page-staff"),
        bar,
        q: lang_query(lang),
    })
}
