//! The `Scanner` port over clamd's INSTREAM protocol (`PORTAAL_CLAMD_URL` = `tcp://host:port` or
//! `unix:///path`). The file is read from storage in 1 MiB ranges and streamed as length-prefixed
//! chunks; clamd answers `stream: OK`, `stream: <name> FOUND` or `<reason> ERROR`.
//! With `AlertExceedsMax yes` a file over clamd's limits is reported as
//! `Heuristics.Limits.Exceeded.*`: that is a failed scan, never a finding and never clean.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use portaal_core::ports::{Blobs, ScanError, Scanner, Verdict};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const CHUNK: u64 = 1 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Scanning a large archive takes a while; beyond this clamd is considered stuck.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClamdAddress {
    Tcp(String),
    Unix(PathBuf),
}

impl ClamdAddress {
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(hostport) = url.strip_prefix("tcp://") {
            let hostport = hostport.trim_end_matches('/');
            if hostport
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0))
            {
                return Ok(Self::Tcp(hostport.to_owned()));
            }
            return Err("tcp:// needs host:port, e.g. tcp://127.0.0.1:3310".into());
        }
        if let Some(path) = url.strip_prefix("unix://") {
            if path.starts_with('/') {
                return Ok(Self::Unix(PathBuf::from(path)));
            }
            return Err("unix:// needs an absolute path, e.g. unix:///run/clamav/clamd.ctl".into());
        }
        Err("must start with tcp:// or unix://".into())
    }
}

trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

pub struct Clamd {
    address: ClamdAddress,
}

impl Clamd {
    pub fn new(address: ClamdAddress) -> Self {
        Self { address }
    }

    async fn connect(&self) -> std::io::Result<Box<dyn Connection>> {
        let connecting = async {
            Ok::<Box<dyn Connection>, std::io::Error>(match &self.address {
                ClamdAddress::Tcp(hostport) => {
                    Box::new(tokio::net::TcpStream::connect(hostport).await?)
                }
                ClamdAddress::Unix(path) => Box::new(tokio::net::UnixStream::connect(path).await?),
            })
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))?
    }
}

/// What clamd's answer line means.
pub fn verdict_of(answer: &str) -> Verdict {
    let answer = answer.trim_end_matches(['\0', '\n']).trim();
    if let Some(found) = answer.strip_suffix(" FOUND") {
        let name = found.strip_prefix("stream: ").unwrap_or(found).to_owned();
        if name.starts_with("Heuristics.Limits.Exceeded") {
            return Verdict::Failed(format!("over the scanner's limits ({name})"));
        }
        return Verdict::Infected(name);
    }
    if answer == "stream: OK" {
        return Verdict::Clean;
    }
    Verdict::Failed(answer.to_owned())
}

#[async_trait]
impl Scanner for Clamd {
    async fn scan(&self, blobs: &dyn Blobs, key: &str, size: u64) -> Result<Verdict, ScanError> {
        let unavailable = |what: &str, e: &dyn std::fmt::Display| {
            ScanError::Unavailable(format!("clamd {what}: {e}"))
        };
        let mut conn = self
            .connect()
            .await
            .map_err(|e| unavailable("connect", &e))?;
        conn.write_all(b"zINSTREAM\0")
            .await
            .map_err(|e| unavailable("write", &e))?;
        let mut offset = 0;
        // clamd closes its side when a stream exceeds StreamMaxLength; its answer says why.
        let mut cut_short = false;
        while offset < size {
            let len = CHUNK.min(size - offset);
            let bytes = blobs
                .read_range(key, offset, len)
                .await
                .map_err(|e| unavailable("read of the stored file", &e))?;
            if bytes.is_empty() {
                return Err(ScanError::Unavailable(format!(
                    "stored file ended at {offset} of {size} bytes"
                )));
            }
            offset += bytes.len() as u64;
            let length = (bytes.len() as u32).to_be_bytes();
            if conn.write_all(&length).await.is_err() || conn.write_all(&bytes).await.is_err() {
                cut_short = true;
                break;
            }
        }
        if !cut_short {
            // A refused terminator is fine as long as an answer follows.
            let _ = conn.write_all(&0u32.to_be_bytes()).await;
        }
        let mut answer = Vec::new();
        let read = tokio::time::timeout(ANSWER_TIMEOUT, async {
            let mut buf = [0u8; 256];
            loop {
                let n = conn.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                answer.extend_from_slice(&buf[..n]);
                if answer.contains(&0) || answer.len() > 4096 {
                    break;
                }
            }
            Ok::<_, std::io::Error>(())
        })
        .await;
        match read {
            Ok(Ok(())) if !answer.is_empty() => Ok(verdict_of(&String::from_utf8_lossy(&answer))),
            Ok(Ok(())) => Err(ScanError::Unavailable(
                "clamd closed without an answer".into(),
            )),
            Ok(Err(e)) => Err(unavailable("read", &e)),
            Err(_) => Err(ScanError::Unavailable(
                "clamd did not answer in time".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_answers() {
        assert_eq!(
            ClamdAddress::parse("tcp://127.0.0.1:3310"),
            Ok(ClamdAddress::Tcp("127.0.0.1:3310".into()))
        );
        assert_eq!(
            ClamdAddress::parse("unix:///run/clamav/clamd.ctl"),
            Ok(ClamdAddress::Unix("/run/clamav/clamd.ctl".into()))
        );
        assert!(ClamdAddress::parse("tcp://host").is_err());
        assert!(ClamdAddress::parse("http://x:1").is_err());
        assert_eq!(verdict_of("stream: OK\0"), Verdict::Clean);
        assert_eq!(
            verdict_of("stream: Eicar-Test-Signature FOUND\0"),
            Verdict::Infected("Eicar-Test-Signature".into())
        );
        assert!(matches!(
            verdict_of("stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND\0"),
            Verdict::Failed(_)
        ));
        assert!(matches!(
            verdict_of("INSTREAM size limit exceeded. ERROR\0"),
            Verdict::Failed(_)
        ));
    }
}
