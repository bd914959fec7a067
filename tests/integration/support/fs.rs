//! The tests' files: one home for scratch folders, copies and the permissions containers need, so that
//! every test keeps its files in the same place and a newcomer finds the helper instead of writing one.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// An empty folder for one test (or one row of a table test: `faults/<row>`), under the test target
/// folder. Emptied when the test starts, not when it ends, so that a failed test's files are still
/// there to read; the next run clears them.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => panic!("cannot empty the scratch folder {}: {error}", dir.display()),
    }
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
    dir
}

/// Copies the file or folder `from` to `to`, folders recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    let fail = |error: std::io::Error| -> ! {
        panic!(
            "cannot copy {} to {}: {error}",
            from.display(),
            to.display()
        )
    };
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap_or_else(|error| fail(error));
        for entry in std::fs::read_dir(from).unwrap_or_else(|error| fail(error)) {
            let entry = entry.unwrap_or_else(|error| fail(error));
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap_or_else(|error| fail(error));
    }
}

/// Lets the containers' users (Prometheus and promtool run as nobody) read and write everything
/// under `dir`: `chmod -R a+rwX`, folders searchable, files executable only if they were.
pub fn open_to_containers(dir: &Path) {
    let fail = |path: &Path, error: std::io::Error| -> ! {
        panic!("cannot open {} to the containers: {error}", path.display())
    };
    let metadata = std::fs::metadata(dir).unwrap_or_else(|error| fail(dir, error));
    let mode = metadata.permissions().mode();
    let open = if metadata.is_dir() || mode & 0o111 != 0 {
        0o777
    } else {
        0o666
    };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | open))
        .unwrap_or_else(|error| fail(dir, error));
    if metadata.is_dir() {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|error| fail(dir, error)) {
            open_to_containers(&entry.unwrap_or_else(|error| fail(dir, error)).path());
        }
    }
}
