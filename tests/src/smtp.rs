//! The real SMTP server of the mail tests (`tests/smtp/sink.py`, aiosmtpd), as a child process
//! that a test can stop and start again on the same port. The first start binds port 0 and
//! reads the port the sink reports.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct SmtpSink {
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
    _temp: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> Self {
        let temp = tempfile::Builder::new()
            .prefix("smtp-sink-")
            .tempdir()
            .unwrap();
        let mut sink = Self {
            port: 0,
            dir: temp.path().to_path_buf(),
            child: None,
            _temp: temp,
        };
        sink.resume();
        sink
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on its port; the first time on the port the system chooses.
    pub fn resume(&mut self) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/smtp/sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(self.port.to_string())
            .arg(&self.dir)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the SMTP sink (pip install aiosmtpd; tests/run does)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the SMTP sink started and named its port: {line:?}"));
        assert!(
            self.port == 0 || self.port == port,
            "the SMTP sink came back on port {port}, not {}",
            self.port
        );
        self.port = port;
        self.child = Some(child);
    }

    /// Stops the server: connections to its port are refused until `resume`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every message it accepted, oldest first.
    pub fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
        files.sort();
        files
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
            .collect()
    }

    /// Waits (polling, up to 30 s on a busy machine) until `count` messages about `needle`
    /// arrived; answers them.
    pub async fn wait_for(&self, needle: &str, count: usize) -> Vec<String> {
        for _ in 0..600 {
            let found: Vec<String> = self
                .messages()
                .into_iter()
                .filter(|m| m.contains(needle))
                .collect();
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "fewer than {count} messages about {needle}: {:?}",
            self.messages()
        );
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}
