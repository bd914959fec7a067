//! Build script: the git revision promlab was built from, for `promlab --version`, the servers'
//! `promlab_build_info` and their pages. `PROMLAB_REVISION` (the Dockerfile's build argument, where the
//! build context holds no `.git`) wins; else `git rev-parse --short=12 HEAD`; else `unknown`. (No
//! `-dirty` mark: it would have to watch the index, which every `git status` touches, and so rebuild the
//! crate again and again.)

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=PROMLAB_REVISION");
    // A new commit or checkout moves HEAD (or the branch it points at).
    if let Some(git_dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={git_dir}/HEAD");
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={git_dir}/{reference}");
        }
    }
    let revision = std::env::var("PROMLAB_REVISION")
        .ok()
        .filter(|revision| !revision.trim().is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=PROMLAB_REVISION={revision}");
}
