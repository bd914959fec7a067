//! Files written whole or not at all, the one way promlab writes a file: a hidden temporary file beside
//! the target (`.NAME.XXXXXX.tmp`), filled through a buffer, flushed and synced to disk, given its mode,
//! renamed over the target, and the folder synced so that the rename survives a power cut. On any
//! failure the temporary file is removed and the target is left as it was.
//!
//! Leftovers are handled in two ways. A batch command stopped by Ctrl-C or SIGTERM calls
//! [`exit_removing_temporaries`], which removes the temporary files this process is writing (they are
//! kept in a registry while they exist). What a SIGKILL or a power cut leaves behind is removed by a
//! later write of the same target: see [`remove_stale_temporaries`].

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::io::{self, BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tempfile::NamedTempFile;

/// A temporary file untouched for this long belongs to no live writer: every writer writes its data
/// as fast as the disk takes it, so an hour without a change means its process is gone.
pub const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// The random part of a temporary file's name: `.NAME.XXXXXX.tmp`.
const RANDOM_LENGTH: usize = 6;

/// What to do about an I/O failure, by its kind.
#[must_use]
pub fn io_hint(kind: ErrorKind) -> &'static str {
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

/// A file could not be written (created, filled, synced or renamed into place). The target is then as
/// it was, and no temporary file is left.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {shown}: {source}; {hint}", shown = path.display(), hint = io_hint(source.kind()))]
pub struct FsError {
    /// The target, not its temporary sibling: the path the user named.
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl FsError {
    /// The failure `source` of writing `path`.
    #[must_use]
    pub fn new(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self {
            path: path.into(),
            source,
        }
    }
}

/// How a file is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    mode: Option<u32>,
}

impl WriteOptions {
    /// The file gets exactly these Unix permission bits (the umask does not narrow them), set before
    /// it takes the target's name. Without it, a file gets a new file's usual mode (0o666 less the
    /// umask, as `File::create` gives). Ignored where there are no Unix modes.
    #[must_use]
    pub const fn with_mode(self, mode: u32) -> Self {
        Self { mode: Some(mode) }
    }
}

/// A file being written atomically: write to it, then [`commit`](Self::commit). Dropped without a
/// commit (an error, a panic), its temporary file is removed and the target is untouched.
#[derive(Debug)]
pub struct AtomicFile {
    // Dropped first: the temporary file goes before it leaves the registry.
    out: BufWriter<NamedTempFile>,
    _registered: Registered,
    target: PathBuf,
    mode: Option<u32>,
}

impl AtomicFile {
    /// Starts writing `path`: removes the stale temporary files of earlier runs, then creates a new one
    /// beside it.
    pub fn create(path: &Path, options: WriteOptions) -> Result<Self, FsError> {
        let failed = |source| FsError::new(path, source);
        let name = path.file_name().ok_or_else(|| {
            failed(io::Error::new(
                ErrorKind::InvalidInput,
                "the path names a folder, not a file",
            ))
        })?;
        let folder = folder_of(path);
        remove_stale_temporaries(folder, name);
        let mut prefix = OsString::from(".");
        prefix.push(name);
        prefix.push(".");
        let mut builder = tempfile::Builder::new();
        builder
            .prefix(&prefix)
            .suffix(".tmp")
            .rand_bytes(RANDOM_LENGTH);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            // The asked mode from the start (the umask may narrow it until `commit` sets it exactly):
            // a secret is never readable by more users than it will be.
            builder.permissions(std::fs::Permissions::from_mode(
                options.mode.unwrap_or(0o666),
            ));
        }
        // Locked from creation to registration: a signal handler sees every temporary file there is.
        let mut live = registry();
        let temporary = builder.tempfile_in(folder).map_err(failed)?;
        live.insert(temporary.path().to_owned());
        drop(live);
        Ok(Self {
            _registered: Registered(temporary.path().to_owned()),
            out: BufWriter::with_capacity(1 << 20, temporary),
            target: path.to_owned(),
            mode: options.mode,
        })
    }

    /// Flushes and syncs the file, gives it its mode, renames it over the target and syncs the folder.
    /// Should the folder's sync fail, the error is returned though the target is already the new file.
    pub fn commit(self) -> Result<(), FsError> {
        let Self {
            out,
            _registered,
            target,
            mode,
        } = self;
        let failed = |source| FsError::new(&target, source);
        let temporary = out
            .into_inner()
            .map_err(|error| failed(error.into_error()))?;
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt as _;
            temporary
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(failed)?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        temporary.as_file().sync_all().map_err(failed)?;
        temporary
            .persist(&target)
            .map_err(|error| failed(error.error))?;
        sync_folder(folder_of(&target)).map_err(failed)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.out.write(bytes)
    }

    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes `path` through `fill`, atomically: readers see the old file or the whole new one.
pub fn write_atomically(
    path: &Path,
    options: WriteOptions,
    fill: impl FnOnce(&mut AtomicFile) -> io::Result<()>,
) -> Result<(), FsError> {
    let mut out = AtomicFile::create(path, options)?;
    fill(&mut out).map_err(|source| FsError::new(path, source))?;
    out.commit()
}

/// Writes `bytes` to `path`, atomically.
pub fn write_bytes_atomically(
    path: &Path,
    bytes: &[u8],
    options: WriteOptions,
) -> Result<(), FsError> {
    write_atomically(path, options, |out| out.write_all(bytes))
}

/// Removes the temporary files an earlier writer of `folder/name` left (`.NAME.XXXXXX.tmp`, killed or
/// powered off before it could clean up), once they are [`STALE_AFTER`] old; a younger one may belong
/// to a writer still at work in another process, and this process's own are never touched. Best effort:
/// what cannot be read or removed is left, the write goes on. Returns how many were removed.
pub fn remove_stale_temporaries(folder: &Path, name: &OsStr) -> usize {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    let mut prefix = OsString::from(".");
    prefix.push(name);
    prefix.push(".");
    let prefix = prefix.as_encoded_bytes();
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name();
        let random = file_name
            .as_encoded_bytes()
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(b".tmp"));
        let ours = random.is_some_and(|random| {
            random.len() == RANDOM_LENGTH && random.iter().all(u8::is_ascii_alphanumeric)
        });
        if !ours {
            continue;
        }
        let stale = entry.metadata().is_ok_and(|metadata| {
            metadata.is_file()
                && metadata
                    .modified()
                    .is_ok_and(|at| now.duration_since(at).is_ok_and(|age| age >= STALE_AFTER))
        });
        let path = entry.path();
        if stale && !registry().contains(&path) && std::fs::remove_file(&path).is_ok() {
            tracing::info!(path = %path.display(), "removed a temporary file an interrupted write left");
            removed += 1;
        }
    }
    removed
}

/// Removes every temporary file this process is writing, then exits with `code`. For a batch command
/// stopped by Ctrl-C or SIGTERM, which would otherwise die leaving them beside their targets. The
/// registry stays locked until the process is gone: no writer starts another one meanwhile, and a writer
/// that was about to rename finds its file gone and leaves the target as it was.
pub fn exit_removing_temporaries(code: i32) -> ! {
    let live = registry();
    for path in live.iter() {
        let _ = std::fs::remove_file(path);
    }
    std::process::exit(code)
}

/// The temporary files this process is writing.
static LIVE: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn registry() -> MutexGuard<'static, BTreeSet<PathBuf>> {
    // The set stays valid whatever a panicking holder was doing: insertions and removals are whole.
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A temporary file's place in the registry, given up when the file is gone.
#[derive(Debug)]
struct Registered(PathBuf);

impl Drop for Registered {
    fn drop(&mut self) {
        registry().remove(&self.0);
    }
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Syncs a folder, so that a rename in it is on disk. File systems that cannot sync a folder say
/// `EINVAL`: there is nothing more to do on them.
fn sync_folder(folder: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        match std::fs::File::open(folder).and_then(|opened| opened.sync_all()) {
            Err(error) if error.kind() == ErrorKind::InvalidInput => Ok(()),
            other => other,
        }
    }
    // Windows cannot open a folder as a file; NTFS journals the rename.
    #[cfg(not(unix))]
    {
        let _ = folder;
        Ok(())
    }
}

/// The SHA-256 of `bytes`, in hex: what backups and evidence files record of the files they vouch for.
#[must_use]
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_file_is_written_whole_and_replaces_the_old_one() {
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path();
        let path = dir.join("data.csv");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, WriteOptions::default(), |out| {
            out.write_all(b"a,b\n")?;
            out.write_all(&vec![b'x'; 3 << 20])
        })
        .unwrap();
        let written = std::fs::read(&path).unwrap();
        assert_eq!(written.len(), 4 + (3 << 20));
        assert!(written.starts_with(b"a,b\n"));
        write_bytes_atomically(&path, b"new", WriteOptions::default()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(names(dir), ["data.csv"]);
        assert!(!registry().iter().any(|p| p.starts_with(dir)));
    }

    #[test]
    fn an_error_while_filling_leaves_the_old_file_and_no_temporary() {
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path();
        let path = dir.join("report.txt");
        std::fs::write(&path, "old").unwrap();
        let error = write_atomically(&path, WriteOptions::default(), |out| {
            out.write_all(b"half")?;
            Err(io::Error::new(ErrorKind::StorageFull, "no space left"))
        })
        .unwrap_err();
        assert_eq!(error.path, path);
        assert!(error.to_string().contains("the disk is full"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir), ["report.txt"]);
        assert!(!registry().iter().any(|p| p.starts_with(dir)));
    }

    #[cfg(unix)]
    #[test]
    fn the_mode_is_applied_exactly() {
        use std::os::unix::fs::PermissionsExt as _;
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let secret = dir.join("password");
        for wanted in [0o644, 0o600, 0o400] {
            write_bytes_atomically(
                &secret,
                b"s3cret",
                WriteOptions::default().with_mode(wanted),
            )
            .unwrap();
            assert_eq!(mode(&secret), wanted, "{wanted:o}");
        }
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "s3cret");
        let plain = dir.join("plain");
        write_bytes_atomically(&plain, b"x", WriteOptions::default()).unwrap();
        std::fs::write(dir.join("reference"), "x").unwrap();
        assert_eq!(
            mode(&plain),
            mode(&dir.join("reference")),
            "as File::create"
        );
    }

    #[test]
    fn stale_temporaries_are_removed_and_fresh_ones_kept() {
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path();
        let old = dir.join(".out.csv.Ab12Cd.tmp");
        let fresh = dir.join(".out.csv.Zz99yY.tmp");
        let another_target = dir.join(".out.csv.gz.Ab12Cd.tmp");
        let unrelated = dir.join(".out.csv.notours.tmp");
        for path in [&old, &fresh, &another_target, &unrelated] {
            std::fs::write(path, "partial").unwrap();
        }
        let long_ago = SystemTime::now() - STALE_AFTER - Duration::from_secs(60);
        for path in [&old, &another_target, &unrelated] {
            std::fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        write_bytes_atomically(&dir.join("out.csv"), b"x", WriteOptions::default()).unwrap();
        assert!(!old.exists(), "stale: removed");
        assert!(fresh.exists(), "maybe a live writer's: kept");
        assert!(another_target.exists(), "another file's");
        assert!(unrelated.exists(), "not a name this writer makes");
        assert_eq!(remove_stale_temporaries(dir, OsStr::new("out.csv")), 0);
    }

    /// Run in a child process (the test binary again): writes half a file, then exits as a batch
    /// command does on Ctrl-C.
    #[test]
    fn exit_child_stopped_while_writing() {
        let Some(path) = std::env::var_os("PROMLAB_FS_STOPPED_TARGET") else {
            return;
        };
        let mut out = AtomicFile::create(Path::new(&path), WriteOptions::default()).unwrap();
        out.write_all(b"half").unwrap();
        out.flush().unwrap();
        exit_removing_temporaries(130);
    }

    #[test]
    fn a_stopped_writer_leaves_no_temporary_and_exits_with_the_signal_status() {
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path();
        let path = dir.join("export.csv");
        std::fs::write(&path, "old").unwrap();
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "fs::tests::exit_child_stopped_while_writing"])
            .env("PROMLAB_FS_STOPPED_TARGET", &path)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(130));
        assert_eq!(names(dir), ["export.csv"], "no temporary left");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    }

    #[test]
    fn a_missing_folder_is_named_with_the_fix() {
        let folder = tempfile::tempdir().unwrap();
        let dir = folder.path();
        let path = dir.join("absent").join("x.parquet");
        let error = write_bytes_atomically(&path, b"x", WriteOptions::default()).unwrap_err();
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(
            message.contains("the folder does not exist: create it first"),
            "{message}"
        );
        assert_eq!(error.source.kind(), ErrorKind::NotFound);
    }
}
