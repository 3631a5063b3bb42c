//! A real OpenID provider for the staff console's tests: `tests/oidc/provider.mjs`
//! (oidc-provider from npm), started once per test process, or the one `PORTAAL_TEST_OIDC_ISSUER`
//! names. Each test app registers a client of its own there (dynamic registration, since the
//! app's port, and so its redirect URI, is chosen at start), and [`Browser`] signs in through the
//! provider's login form as a browser would: following redirects and keeping cookies.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::app::{TestApp, spawn_for_base};

/// The test provider's issuer URL, starting it on first use.
pub fn issuer() -> &'static str {
    static ISSUER: OnceLock<String> = OnceLock::new();
    ISSUER.get_or_init(|| {
        if let Ok(issuer) = std::env::var("PORTAAL_TEST_OIDC_ISSUER") {
            if !issuer.is_empty() {
                return issuer;
            }
        }
        start_provider()
    })
}

fn start_provider() -> String {
    use std::io::BufRead;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/oidc");
    assert!(
        std::path::Path::new(dir)
            .join("node_modules/oidc-provider")
            .is_dir(),
        "the staff tests need the test OpenID provider: run `npm ci --prefix tests/oidc` first (tests/run does)"
    );
    let mut child = std::process::Command::new("node")
        .arg(format!("{dir}/provider.mjs"))
        // It stops when its input closes: when this test process ends.
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("node runs (the staff tests need Node.js)");
    let stdout = child.stdout.take().expect("piped");
    let mut reader = std::io::BufReader::new(stdout);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .expect("the provider prints its issuer");
    // Whatever it prints later is read and dropped: a closed pipe would end it at its next line.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    // Kept open for the life of the process; the provider ends with it.
    std::mem::forget(child);
    let issuer = line.trim().to_owned();
    assert!(
        issuer.starts_with("http://127.0.0.1:"),
        "provider said {issuer:?}"
    );
    issuer
}

/// A client registered at the provider for an app at `base`: its id and secret.
pub fn register_client(base: &str) -> (String, String) {
    let body = json!({
        "redirect_uris": [format!("{base}/staff/auth/callback")],
        "post_logout_redirect_uris": [format!("{base}/staff/logout")],
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
    });
    // Registration happens while the app's configuration is made, outside any runtime's reach.
    let issuer = issuer().to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let res = Client::new()
                .post(format!("{issuer}/reg"))
                .json(&body)
                .send()
                .await
                .expect("the provider answers");
            assert_eq!(res.status(), StatusCode::CREATED, "client registration");
            let client: Value = res.json().await.unwrap();
            (
                client["client_id"].as_str().unwrap().to_owned(),
                client["client_secret"].as_str().unwrap().to_owned(),
            )
        })
    })
    .join()
    .expect("registration")
}

/// An app whose staff console signs in at the test provider (with a client of its own), plus
/// `extra` settings. Answers the app and its client's settings (to start another app with).
pub async fn spawn_with_provider(extra: &[(&str, &str)]) -> (TestApp, Vec<(String, String)>) {
    let mut used = Vec::new();
    let app = spawn_for_base(
        extra,
        |base| {
            let (id, secret) = register_client(base);
            let settings = vec![
                ("PORTAAL_OIDC_ISSUER".to_owned(), issuer().to_owned()),
                ("PORTAAL_OIDC_CLIENT_ID".to_owned(), id),
                ("PORTAAL_OIDC_CLIENT_SECRET".to_owned(), secret),
                ("PORTAAL_OIDC_EXTRA_SCOPES".to_owned(), "roles".to_owned()),
            ];
            used = settings.clone();
            settings
        },
        |_| {},
    )
    .await;
    (app, used)
}

/// A browser for the console: follows no redirect by itself, keeps cookies by name (the app and
/// the provider are both on 127.0.0.1, where browsers share cookies across ports too).
pub struct Browser {
    pub client: Client,
    pub cookies: BTreeMap<String, String>,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

/// One answer as the browser saw it.
pub struct Seen {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
    pub set_cookies: Vec<String>,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn keep(&mut self, res: reqwest::Response) -> Seen {
        let mut set_cookies = Vec::new();
        for value in res.headers().get_all(reqwest::header::SET_COOKIE) {
            let text = value.to_str().unwrap().to_owned();
            let first = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = first.split_once('=') {
                let gone = value.is_empty()
                    || text.to_ascii_lowercase().contains("max-age=0")
                    || text.contains("1970");
                if gone {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies
                        .insert(name.trim().to_owned(), value.trim().to_owned());
                }
            }
            set_cookies.push(text);
        }
        let status = res.status();
        let location = res
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = res.text().await.unwrap_or_default();
        Seen {
            status,
            location,
            body,
            set_cookies,
        }
    }

    pub async fn get(&mut self, url: &str) -> Seen {
        let res = self
            .client
            .get(url)
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(res).await
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Seen {
        let res = self
            .client
            .post(url)
            .header(reqwest::header::COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(res).await
    }

    /// Opens `start` (a console page) and signs in at the provider as `login` through its login
    /// form; answers the answer to the provider's callback (a redirect back into the console).
    pub async fn sign_in(&mut self, start: &str, login: &str) -> Seen {
        let callback = self.to_callback(start, login).await;
        self.get(&callback).await
    }

    /// As [`Browser::sign_in`], but stops before the callback: answers the callback URL.
    pub async fn to_callback(&mut self, start: &str, login: &str) -> String {
        let app_origin = origin(start);
        let mut current = app_origin.clone();
        let mut seen = self.get(start).await;
        for _ in 0..12 {
            if let Some(location) = seen.location.clone() {
                let url = absolute(&location, &current);
                if url.starts_with(&format!("{app_origin}/staff/auth/callback")) {
                    return url;
                }
                current = origin(&url);
                seen = self.get(&url).await;
                continue;
            }
            assert_eq!(
                seen.status,
                StatusCode::OK,
                "at the provider: {}",
                seen.body
            );
            let action = attribute(&seen.body, "action").expect("the provider's form");
            let url = absolute(&action, &current);
            let prompt = if seen.body.contains("value=\"login\"") {
                "login"
            } else {
                "consent"
            };
            seen = self
                .post_form(
                    &url,
                    &[("prompt", prompt), ("login", login), ("password", "test")],
                )
                .await;
        }
        panic!("the sign-in did not come back to {app_origin}");
    }
}

impl Browser {
    /// The CSRF token of the page's first form.
    pub fn csrf(body: &str) -> String {
        let at = body
            .find("name=\"csrf\"")
            .expect("a form with a CSRF token");
        attribute(&body[at..], "value").expect("the token's value")
    }
}

/// `scheme://host:port` of a URL.
fn origin(url: &str) -> String {
    let after = url.find("://").map_or(0, |i| i + 3);
    let end = url[after..].find('/').map_or(url.len(), |i| after + i);
    url[..end].to_owned()
}

fn absolute(location: &str, origin: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_owned()
    } else {
        format!("{origin}{location}")
    }
}

/// The first `name="…"` attribute's value in `html`, unescaped for `&amp;`.
fn attribute(html: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(
        html[start..end]
            .replace("&amp;", "&")
            .replace("&#x2F;", "/"),
    )
}
