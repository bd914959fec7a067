//! The promlab image: it runs the mock, as a non-root user, and stops cleanly when Docker asks. CI runs
//! these on the Dockerfile's runtime stage around the binary it tested (`PROMLAB_PREBUILT`); the cargo
//! stage a student's `docker build .` adds is checked statically, below.

use std::process::Command;
use std::time::Duration;

use testcontainers::core::{ExecCommand, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{GenericImage, ImageExt};

use crate::require;
use crate::support::containers::{PROMLAB_IMAGE, generic_image, image};
use crate::support::free_port;
use crate::support::get_text;

fn promlab_image() -> GenericImage {
    let reference = image(PROMLAB_IMAGE);
    match reference {
        Ok(reference) => generic_image(&reference),
        Err(missing) => panic!("{}", missing.0),
    }
}

#[tokio::test]
async fn the_image_runs_the_mock_as_a_non_root_user_and_stops_on_sigterm() {
    let test = "the_image_runs_the_mock_as_a_non_root_user_and_stops_on_sigterm";
    require!(test, image(PROMLAB_IMAGE).map(|_| ()));
    let port = free_port();
    let container = promlab_image()
        .with_wait_for(WaitFor::message_on_stderr("model mock listening"))
        .with_network("host")
        .with_env_var("PROMLAB_LISTEN", format!("127.0.0.1:{port}"))
        .with_startup_timeout(Duration::from_secs(30))
        .start()
        .await
        .expect("the promlab container starts");

    let metrics = get_text(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert!(metrics.contains("# TYPE model_result gauge"), "{metrics}");

    // The image has no `id` (nor any program but promlab): the host's view of the process.
    let top = Command::new("docker")
        .args(["top", container.id(), "-o", "uid,pid"])
        .output()
        .unwrap();
    let top = String::from_utf8_lossy(&top.stdout);
    let uids: Vec<&str> = top
        .lines()
        .skip(1)
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(uids, ["10001"], "the mock runs as uid 10001: {top}");

    // The image's HEALTHCHECK command, run now rather than after its first 10 s interval.
    let healthcheck = Command::new("docker")
        .args([
            "inspect",
            "-f",
            "{{json .Config.Healthcheck.Test}}",
            container.id(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&healthcheck.stdout).trim(),
        r#"["CMD","promlab","probe"]"#
    );
    let mut probe = container
        .exec(ExecCommand::new(["promlab", "probe"]))
        .await
        .expect("promlab probe runs in the image");
    let said = String::from_utf8(probe.stderr_to_vec().await.unwrap()).unwrap();
    assert_eq!(
        probe.exit_code().await.unwrap(),
        Some(0),
        "probe failed: {said}"
    );

    let container_id = container.id().to_owned();
    container.stop().await.expect("docker stop");
    let exit = Command::new("docker")
        .args(["inspect", "-f", "{{.State.ExitCode}}", &container_id])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&exit.stdout).trim(),
        "0",
        "exit code after docker stop"
    );
    let logs = String::from_utf8(container.stderr_to_vec().await.unwrap()).unwrap();
    assert!(logs.contains("SIGTERM received, shutting down"), "{logs}");
}

/// The top-level paths of every `include_str!`/`include_bytes!` in the Rust files under `folder`.
fn included_paths(folder: &std::path::Path, root: &std::path::Path, found: &mut Vec<String>) {
    let entries = std::fs::read_dir(folder).expect("the sources can be listed");
    for entry in entries {
        let path = entry.expect("a source folder entry").path();
        if path.is_dir() {
            included_paths(&path, root, found);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            let text = std::fs::read_to_string(&path).expect("a source file is readable");
            let folder = path.parent().expect("a source file has a folder");
            for marker in ["include_str!(\"", "include_bytes!(\""] {
                for piece in text.split(marker).skip(1) {
                    let relative = piece.split('"').next().unwrap_or_default();
                    let target = folder.join(relative);
                    let target = target
                        .canonicalize()
                        .unwrap_or_else(|error| panic!("{}: {relative}: {error}", path.display()));
                    let top = target
                        .strip_prefix(root)
                        .ok()
                        .and_then(|inside| inside.components().next())
                        .unwrap_or_else(|| panic!("{} is outside the crate", target.display()));
                    found.push(top.as_os_str().to_string_lossy().into_owned());
                }
            }
        }
    }
}

#[test]
fn the_dockerfiles_cargo_stage_copies_every_file_the_build_reads() {
    // CI builds its image around the tested binary, so this stage is checked here: a file the crate
    // reads at compile time that the stage does not copy breaks `docker build .` (the labs' criteria did).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let stage = dockerfile
        .split("\nFROM ")
        .find(|stage| stage.starts_with("${BUILDER_IMAGE} AS build"))
        .expect("the Dockerfile has a `FROM ${BUILDER_IMAGE} AS build` stage");
    let copied: Vec<&str> = stage
        .lines()
        .filter_map(|line| line.strip_prefix("COPY "))
        .filter(|line| !line.starts_with("--from"))
        .flat_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    // Cargo's inputs, the build script, askama's templates folder, and whatever the sources include.
    let mut needed: Vec<String> = ["Cargo.toml", "Cargo.lock", "build.rs", "src", "templates"]
        .map(str::to_owned)
        .to_vec();
    included_paths(&root.join("src"), &root, &mut needed);
    for path in needed {
        assert!(
            copied.contains(&path.as_str()),
            "the Dockerfile's build stage does not COPY {path} (it copies {copied:?})"
        );
    }
}
