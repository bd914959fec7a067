//! Helpers that keep the tests about behaviour: the real binary, an in-process mock, containers,
//! and the one way to skip.

pub mod binary;
pub mod browser;
pub mod containers;
pub mod discord;
pub mod forecaster;
pub mod mock;
pub mod stack;

use std::io::Write as _;
use std::net::TcpListener;

/// Why a test cannot run here.
#[derive(Debug)]
pub struct Missing(pub String);

/// Skips the calling test loudly: on standard error and in `target/promlab-skipped.txt`, which
/// `.ci/run` prints at the end. When `PROMLAB_REQUIRE_TOOLS=1`, a skip is a failure instead.
pub fn skip(test: &str, missing: &Missing) {
    assert!(
        std::env::var("PROMLAB_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "{test} cannot run: {} (PROMLAB_REQUIRE_TOOLS=1 forbids skipping)",
        missing.0
    );
    report_skip(test, &missing.0);
}

/// Reports a part of a test that cannot run on this kind of machine at all (Grafana: no image can be
/// had here, see ENVIRONMENT.md) as SKIPPED, even under `PROMLAB_REQUIRE_TOOLS=1`: requiring it would
/// make CI impossible, and hiding it would make the test look complete. Use only for such facts.
pub fn skip_unavailable(test: &str, reason: &str) {
    report_skip(test, reason);
}

fn report_skip(test: &str, reason: &str) {
    let line = format!("SKIPPED {test}: {reason}");
    eprintln!("{line}");
    let log = concat!(env!("CARGO_TARGET_TMPDIR"), "/../promlab-skipped.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(file, "{line}");
    }
}

/// Runs `$body` with the value of `$need`, or skips the test with the reason it is missing.
#[macro_export]
macro_rules! require {
    ($test:expr, $need:expr) => {
        match $need {
            Ok(value) => value,
            Err(missing) => {
                $crate::support::skip($test, &missing);
                return;
            }
        }
    };
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port on 127.0.0.1")
}

/// Finds `program` on the PATH.
pub fn which(program: &str) -> Result<std::path::PathBuf, Missing> {
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(program))
                .find(|candidate| candidate.is_file())
        })
        .ok_or_else(|| {
            Missing(format!(
                "`{program}` is not on the PATH (.ci/run installs it)"
            ))
        })
}

/// The body of a GET that must succeed.
pub async fn get_text(url: &str) -> String {
    let response = reqwest::get(url).await.expect("the server answers");
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response.text().await.expect("a text body")
}
