//! Files written through the container belong to the person who owns the repository, not to root or to
//! the image's uid 10001.
//!
//! `docker compose run --rm promlab …` (the compose file's `tools` profile) starts promlab as root with
//! `PROMLAB_RUN_AS_OWNER_OF=/lab`, the mounted repository. Before anything else, promlab then replaces
//! itself (exec, same pid, same arguments) with itself running as that folder's owner and group, so that
//! `generate`, `export`, `backup` and the grader's reports are the student's files on the host. Compose
//! cannot pass the caller's uid by itself (`$UID` is a shell variable, not an exported one), and asking
//! every student to type `--user "$(id -u):$(id -g)"` fails on Windows' shells: the folder's owner is the
//! one answer that needs no typing on Linux, and on Docker Desktop (macOS, Windows), where a bind mount
//! shows as root's and the host maps every write to the user anyway, promlab stays as it started.
//!
//! Nothing happens when the variable is absent, when promlab is not root (a `--user` was given), or when
//! the folder is root's.

use std::path::PathBuf;

/// The variable naming the folder whose owner promlab runs as.
pub const VARIABLE: &str = "PROMLAB_RUN_AS_OWNER_OF";

#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    #[error(
        "{VARIABLE}={}: cannot read the folder's owner: {source}; mount the repository there (volumes: - ..:/lab) or unset {VARIABLE}",
        path.display()
    )]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot find promlab's own executable to run it as uid {uid}: {source}")]
    Executable { uid: u32, source: std::io::Error },
    #[error(
        "cannot become uid {uid}, gid {gid} (the owner of {}): {source}; the container needs the SETUID and SETGID capabilities (cap_add in compose/compose.yaml), or run it with --user UID:GID",
        path.display()
    )]
    Exec {
        uid: u32,
        gid: u32,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Who a process should run as, given who it is and who owns the folder: `None` to stay.
#[cfg(unix)]
fn switch_to(current_uid: u32, owner: (u32, u32)) -> Option<(u32, u32)> {
    (current_uid == 0 && owner.0 != 0).then_some(owner)
}

/// The owner (uid, gid) of `path`.
#[cfg(unix)]
fn owner_of(path: &std::path::Path) -> Result<(u32, u32), OwnerError> {
    use std::os::unix::fs::MetadataExt as _;
    let metadata = std::fs::metadata(path).map_err(|source| OwnerError::Folder {
        path: path.to_owned(),
        source,
    })?;
    Ok((metadata.uid(), metadata.gid()))
}

/// Runs promlab again as the owner of `$PROMLAB_RUN_AS_OWNER_OF` when it is set and promlab is root;
/// returns only when there is nothing to do (or with the reason it could not).
///
/// # Errors
/// The folder cannot be read, or the exec as its owner fails.
#[cfg(unix)]
pub fn run_as_owner_if_asked() -> Result<(), OwnerError> {
    use std::os::unix::fs::MetadataExt as _;
    use std::os::unix::process::CommandExt as _;
    let Some(folder) = std::env::var_os(VARIABLE).filter(|folder| !folder.is_empty()) else {
        return Ok(());
    };
    let folder = PathBuf::from(folder);
    // The effective uid without libc: /proc/self belongs to it.
    let current_uid = std::fs::metadata("/proc/self").map_or(u32::MAX, |me| me.uid());
    let Some((uid, gid)) = switch_to(current_uid, owner_of(&folder)?) else {
        return Ok(());
    };
    let executable =
        std::env::current_exe().map_err(|source| OwnerError::Executable { uid, source })?;
    let arguments: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    // exec returns only on failure. std drops the supplementary groups (setgroups) before setuid.
    let source = std::process::Command::new(executable)
        .args(arguments)
        .env_remove(VARIABLE)
        .uid(uid)
        .gid(gid)
        .exec();
    Err(OwnerError::Exec {
        uid,
        gid,
        path: folder,
        source,
    })
}

/// Elsewhere (Windows) promlab runs in no container of the stack: there is no one to become.
///
/// # Errors
/// Never.
#[cfg(not(unix))]
pub fn run_as_owner_if_asked() -> Result<(), OwnerError> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn root_becomes_the_folders_owner_and_nobody_else_switches() {
        assert_eq!(switch_to(0, (1000, 1001)), Some((1000, 1001)));
        // A root-owned folder (Docker Desktop's bind mounts): stay root.
        assert_eq!(switch_to(0, (0, 0)), None);
        // Already a user (--user given): stay.
        assert_eq!(switch_to(1000, (1000, 1000)), None);
        assert_eq!(switch_to(10001, (1000, 1000)), None);
    }

    #[test]
    fn a_missing_folder_is_named_with_the_fix() {
        let error = owner_of(Path::new("/nonexistent/promlab-lab")).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("/nonexistent/promlab-lab"), "{text}");
        assert!(text.contains("mount the repository"), "{text}");
    }
}
