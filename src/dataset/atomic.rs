//! Files written whole or not at all: a temporary file beside the target, flushed to disk, renamed
//! over it. On any failure the temporary file is removed and the target is left as it was.

use std::io::{BufWriter, Write as _};
use std::path::Path;

use tempfile::NamedTempFile;

use super::DatasetError;

/// What to do about an I/O failure, by its kind.
#[must_use]
pub fn io_hint(kind: std::io::ErrorKind) -> &'static str {
    use std::io::ErrorKind;
    match kind {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            "permission denied: write to a folder you own, or fix the folder's permissions"
        }
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge => {
            "the disk is full: free some space or write to another disk"
        }
        ErrorKind::NotFound => "the folder does not exist: create it first or fix the path",
        _ => "check the path and the disk",
    }
}

/// The writer a dataset is written through: a buffer over the temporary file.
pub type Output = BufWriter<NamedTempFile>;

/// Writes `path` through `fill`, atomically: readers see the old file or the whole new one.
pub fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut Output) -> std::io::Result<()>,
) -> Result<(), DatasetError> {
    let failed = |source| DatasetError::Write {
        path: path.to_owned(),
        source,
    };
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path.file_name().map_or_else(
        || "promlab".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    // Hidden and named after the target, so a crash's leftover is recognisable.
    let temporary = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(folder)
        .map_err(failed)?;
    let mut out = BufWriter::with_capacity(1 << 20, temporary);
    fill(&mut out).and_then(|()| out.flush()).map_err(failed)?;
    let temporary = out
        .into_inner()
        .map_err(|error| failed(error.into_error()))?;
    temporary.as_file().sync_all().map_err(failed)?;
    temporary
        .persist(path)
        .map_err(|error| failed(error.error))?;
    Ok(())
}
