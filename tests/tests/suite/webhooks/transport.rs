//! The sender's transport: an internal CA trusted only when configured, a mail that fails for
//! good reported as `mail.failed`, redirects not followed and refused connections as no answer.

use portaal_tests::receiver::{Answer, Receiver};
use portaal_tests::{case_id, spawn_with_settings};
use serde_json::{Value, json};

use super::{WAIT, feed, subscribe};

/// A receiver whose certificate an internal CA issued is reached only when
/// `PORTAAL_WEBHOOK_CA_FILE` names that CA (a real TLS server, certificates made by openssl).
#[tokio::test]
async fn an_internal_ca_is_trusted_only_when_configured() {
    use portaal_core::ports::{HookAnswer, HookSender};
    use portaal_infra::webhook::HttpHookSender;

    let dir = portaal_tests::TempDir::new("ca");
    let d = |name: &str| dir.0.join(name).display().to_string();
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Gemeente Test CA",
        "-keyout",
        &d("ca.key"),
        "-out",
        &d("ca.pem"),
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        &d("leaf.key"),
        "-out",
        &d("leaf.csr"),
    ]);
    std::fs::write(d("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &d("leaf.csr"),
        "-CA",
        &d("ca.pem"),
        "-CAkey",
        &d("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &d("ext.cnf"),
        "-out",
        &d("leaf.pem"),
    ]);
    // The server binds port 0 and names the port it got.
    let server = r#"
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
httpd = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[1], sys.argv[2])
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print("ready", httpd.server_address[1], flush=True)
httpd.serve_forever()
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", server, &d("leaf.pem"), &d("leaf.key")])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::BufRead;
    let mut ready = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let port: u16 = ready
        .trim()
        .strip_prefix("ready ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the TLS server names its port: {ready:?}"));

    let url = format!("https://localhost:{port}/hooks");
    let without = HttpHookSender::new(None).unwrap();
    match without.post(&url, &[], "{}").await {
        HookAnswer::NoAnswer(why) => assert!(
            why.contains("certificate") || why.contains("connection"),
            "{why}"
        ),
        other => panic!("an unknown CA must not be trusted: {other:?}"),
    }
    let with = HttpHookSender::new(Some(std::path::Path::new(&d("ca.pem")))).unwrap();
    assert_eq!(with.post(&url, &[], "{}").await, HookAnswer::Status(204));
    assert!(
        HttpHookSender::new(Some(std::path::Path::new(&d("leaf.csr")))).is_err(),
        "a file without certificates is refused"
    );
    assert!(HttpHookSender::new(Some(std::path::Path::new(&d("missing.pem")))).is_err());
    let _ = child.kill();
    let _ = child.wait();
}

/// A transport that refuses every mail for good (as a relay answering 550 would).
struct Refusing;

#[async_trait::async_trait]
impl portaal_core::ports::Mailer for Refusing {
    async fn send(
        &self,
        _mail: &portaal_core::ports::OutgoingMail,
    ) -> Result<String, portaal_core::ports::MailError> {
        Err(portaal_core::ports::MailError::Rejected(
            "550 mailbox unavailable".into(),
        ))
    }
}

#[tokio::test]
async fn a_mail_that_fails_for_good_is_reported_as_mail_failed() {
    let app = spawn_with_settings(&[("PORTAAL_WORKER", "off")]).await;
    let system = &app.running.state.system;
    let case = case_id("MAILFAIL");
    app.dossier_with_request(&case).await;
    let request = app.get_dossier(&case).await["requests"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let outbox = portaal_core::usecases::outbox::Outbox::new(
        system.store.clone(),
        std::sync::Arc::new(Refusing),
        std::sync::Arc::new(portaal_core::ports::SystemClock),
    );
    outbox.sweep(100).await.unwrap();
    system.webhooks.sequence_pending(1000).await.unwrap();
    let events = feed(&app, "?limit=500").await["events"]
        .as_array()
        .unwrap()
        .clone();
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["data"]["case_id"] == case.as_str())
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["type"], "mail.failed");
    assert_eq!(failed[0]["data"]["kind"], "request");
    assert_eq!(failed[0]["data"]["request_id"], request.as_str());
    assert!(failed[0]["data"]["mail_id"].is_string());
    assert!(!failed[0].to_string().contains("@"), "no addresses");
}

/// The sender does not follow redirects (a 3xx is an answer to retry on, never a new target) and
/// reports a refused connection as no answer; both count as not acknowledged.
#[tokio::test]
async fn redirects_are_not_followed_and_refused_connections_are_no_answer() {
    use portaal_core::ports::{HookAnswer, HookSender};
    use portaal_infra::webhook::HttpHookSender;

    let sender = HttpHookSender::new(None).unwrap();
    let receiver = Receiver::start().await;
    receiver.script(&[Answer::Status(307)], Answer::Status(204));
    assert_eq!(
        sender.post(&receiver.url, &[], "{}").await,
        HookAnswer::Status(307)
    );
    assert_eq!(receiver.received().len(), 1, "one request, not followed");

    // A port held by a socket that does not listen: connections to it are refused, and no
    // other process can take it meanwhile.
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let url = format!("http://{}/hooks", closed.local_addr().unwrap());
    match sender.post(&url, &[], "{}").await {
        HookAnswer::NoAnswer(why) => assert!(why.contains("connection"), "{why}"),
        other => panic!("a refused connection is no answer: {other:?}"),
    }

    // Through the whole path: a 3xx is retried like any refusal.
    let app = spawn_with_settings(&[("PORTAAL_WEBHOOK_RETRY_SCHEDULE", "1")]).await;
    let hooks = Receiver::start().await;
    hooks.script(&[Answer::Status(302)], Answer::Status(204));
    subscribe(&app, &hooks, json!(["dossier.closed"])).await;
    let case = case_id("REDIR");
    app.dossier_with_request(&case).await;
    app.close(&case, None).await;
    let got = hooks
        .wait_for("the retry after a redirect", WAIT, |r| {
            r.iter().any(|x| x.answer == Answer::Status(204))
        })
        .await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, got[1].id);
}
