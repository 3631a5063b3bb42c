//! An upload written at disk speed: the bytes arriving from the network are gathered into
//! batches of a MiB (the chunks themselves, not copies) and handed to one blocking thread
//! that hashes and writes them with plain file calls while the next batch arrives. One
//! `spawn_blocking` per upload instead of one per network chunk; memory stays at a few batches.

use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;
use sha2::Digest;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Bytes gathered before a batch goes to the writer.
const BATCH_BYTES: usize = 1 << 20;
/// Batches waiting for the writer at most: a slow disk slows the upload, not the memory.
const BATCHES_QUEUED: usize = 2;

pub(super) struct Spool {
    batch: Vec<Bytes>,
    batch_bytes: usize,
    writer: Option<mpsc::Sender<Vec<Bytes>>>,
    /// Taken by the first stop: a failed push stops the writer, and the abandon after it finds
    /// it stopped.
    done: Option<JoinHandle<std::io::Result<(std::fs::File, String)>>>,
}

impl Spool {
    /// Creates `path` (it must not exist) and starts its writer.
    pub(super) fn create(path: PathBuf) -> Self {
        Self::start(path, None)
    }

    /// Writes into `path` from byte `offset` on, leaving the rest of the file as it is (a part
    /// of a file sent in parts, written in place); creates the file if it is not there.
    pub(super) fn at(path: PathBuf, offset: u64) -> Self {
        Self::start(path, Some(offset))
    }

    fn start(path: PathBuf, offset: Option<u64>) -> Self {
        let (writer, mut batches) = mpsc::channel::<Vec<Bytes>>(BATCHES_QUEUED);
        let done = tokio::task::spawn_blocking(move || {
            let mut file = match offset {
                None => std::fs::File::options()
                    .write(true)
                    .create_new(true)
                    .open(&path)?,
                Some(offset) => {
                    let mut file = std::fs::File::options()
                        .write(true)
                        .create(true)
                        .truncate(false)
                        .open(&path)?;
                    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(offset))?;
                    file
                }
            };
            let mut hasher = sha2::Sha256::new();
            while let Some(batch) = batches.blocking_recv() {
                for chunk in &batch {
                    hasher.update(chunk);
                    file.write_all(chunk)?;
                }
            }
            Ok((file, hex::encode(hasher.finalize())))
        });
        Self {
            batch: Vec::new(),
            batch_bytes: 0,
            writer: Some(writer),
            done: Some(done),
        }
    }

    pub(super) async fn push(&mut self, chunk: Bytes) -> std::io::Result<()> {
        self.batch_bytes += chunk.len();
        self.batch.push(chunk);
        if self.batch_bytes >= BATCH_BYTES {
            self.send().await?;
        }
        Ok(())
    }

    async fn send(&mut self) -> std::io::Result<()> {
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        let Some(writer) = self.writer.as_ref() else {
            return Err(std::io::Error::other("the upload's writer stopped"));
        };
        if writer.send(batch).await.is_err() {
            // The writer stopped on an error: finishing tells which.
            return Err(self
                .stop()
                .await
                .err()
                .unwrap_or_else(|| std::io::Error::other("the upload's writer stopped")));
        }
        Ok(())
    }

    async fn stop(&mut self) -> std::io::Result<(std::fs::File, String)> {
        self.writer = None;
        let Some(done) = self.done.take() else {
            return Err(std::io::Error::other("the upload's writer stopped"));
        };
        match done.await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(format!(
                "the upload's writer failed: {e}"
            ))),
        }
    }

    /// Stops the writer without flushing: the upload failed and its file goes.
    pub(super) async fn abandon(mut self) {
        let _ = self.stop().await;
    }

    /// Writes what is left, flushes it to disk and answers the hex SHA-256 of every byte pushed.
    pub(super) async fn finish(mut self) -> std::io::Result<String> {
        if !self.batch.is_empty() {
            self.send().await?;
        }
        let (file, sha256) = self.stop().await?;
        tokio::task::spawn_blocking(move || file.sync_all())
            .await
            .map_err(|e| std::io::Error::other(format!("sync failed: {e}")))??;
        Ok(sha256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_byte_lands_in_order_and_is_hashed_across_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload.part");
        let mut spool = Spool::create(path.clone());
        let mut all = Vec::new();
        // Chunks of odd sizes, well over one batch in total.
        for n in 0..1000u32 {
            let chunk: Vec<u8> = (0..(n % 97 + 1) * 131).map(|i| (i ^ n) as u8).collect();
            all.extend_from_slice(&chunk);
            spool.push(Bytes::from(chunk)).await.unwrap();
        }
        assert!(all.len() > BATCH_BYTES, "the test spans batches");
        let sha256 = spool.finish().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), all);
        assert_eq!(sha256, hex::encode(sha2::Sha256::digest(&all)));
    }

    #[tokio::test]
    async fn a_writer_that_failed_is_abandoned_without_a_second_stop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        std::fs::write(&path, b"earlier").unwrap();
        let mut spool = Spool::create(path.clone());
        // Enough for a batch to reach the writer, which failed to create the file.
        let mut failed = None;
        for _ in 0..(BATCH_BYTES * (BATCHES_QUEUED + 2)) / 4096 {
            if let Err(e) = spool.push(Bytes::from(vec![0u8; 4096])).await {
                failed = Some(e);
                break;
            }
        }
        let failed = failed.expect("a push reports the writer's failure");
        assert_eq!(failed.kind(), std::io::ErrorKind::AlreadyExists, "{failed}");
        spool.abandon().await;
        assert_eq!(std::fs::read(&path).unwrap(), b"earlier");
    }

    #[tokio::test]
    async fn a_file_that_exists_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        std::fs::write(&path, b"earlier").unwrap();
        let mut spool = Spool::create(path.clone());
        let pushed = spool.push(Bytes::from_static(b"later")).await;
        let finished = spool.finish().await;
        assert!(pushed.is_err() || finished.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"earlier");
    }
}
