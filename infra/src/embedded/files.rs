//! Writing a file so that readers see the old bytes or the new, never half of them.

use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt;

/// The temporary name a write goes to first: beside the file, unique per write, so writers of
/// the same file never share one. It starts with the file's name (cleanups find it by that).
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", ulid::Ulid::new()));
    path.with_file_name(name)
}

/// Writes `bytes` to a temporary file, syncs it, and renames it over `path`.
pub(crate) async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temporary(path);
    let mut f = tokio::fs::File::create(&tmp).await?;
    f.write_all(bytes).await?;
    f.sync_all().await?;
    tokio::fs::rename(&tmp, path).await
}
