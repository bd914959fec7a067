//! Helpers that keep the tests about behaviour: the real binary, an in-process mock, containers, the
//! live lab (`lab_stack`), and the one home of each small piece a test needs: scratch folders and
//! copies (`fs`), waiting (`eventually`), float tolerance (`close`), and the one way to skip.

pub mod binary;
pub mod browser;
pub mod close;
pub mod containers;
pub mod discord;
pub mod eventually;
pub mod forecaster;
pub mod fs;
pub mod lab_stack;
pub mod mock;
pub mod node_cpu;
pub mod sink;

use std::io::Write as _;
use std::net::TcpListener;

/// A file or folder under `tests/fixtures/`: the test data the repository carries, with its licence and
/// source (each folder's README), so that a clone anywhere runs the whole suite.
pub fn fixture(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(relative)
}

/// A process a test started (a load generator, a server), killed and reaped when the test ends,
/// however it ends: a failed assertion never leaves it running.
#[derive(Debug)]
pub struct Process(pub std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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

/// Reports a part of a test that needs Grafana, whose image no registry here serves and no Debian
/// package can stand in for, as SKIPPED even under `PROMLAB_REQUIRE_TOOLS=1`, so that CI can run here.
/// Where the image can be had (GitHub's runners), `PROMLAB_REQUIRE_GRAFANA=1` makes it a failure.
pub fn skip_grafana(test: &str, reason: &str) {
    skip_unless_required(test, reason, "PROMLAB_REQUIRE_GRAFANA");
}

/// Reports a test whose tool this machine cannot reasonably have (Grafana's image: no registry; dist:
/// 35 minutes to compile, no binary reachable) as SKIPPED even under `PROMLAB_REQUIRE_TOOLS=1`; where it
/// can be had (GitHub's runners), `variable=1` makes the skip a failure.
pub fn skip_unless_required(test: &str, reason: &str, variable: &str) {
    assert!(
        std::env::var(variable).as_deref() != Ok("1"),
        "{test} cannot run: {reason} ({variable}=1 forbids skipping)"
    );
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

/// A port on 127.0.0.1 for a server a test starts (often in a host-network container, which binds it
/// later). Handed out once per test process, and taken from below the kernel's ephemeral range, which
/// is where every `bind(0)` and every outgoing connection gets its port: so neither another test's
/// server nor a client's socket can take it between now and the bind. A port something else on the
/// machine holds is passed over.
pub fn free_port() -> u16 {
    static NEXT: std::sync::Mutex<Option<u16>> = std::sync::Mutex::new(None);
    let (low, high) = reserved_range();
    let mut next = NEXT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Each test process starts at its own place in the range, so two suites on one machine rarely meet.
    let span = high - low;
    let offset = u16::try_from(std::process::id() % u32::from(span)).expect("below span, a u16");
    let mut port = next.unwrap_or(low + offset);
    for _ in 0..span {
        let candidate = port;
        port = if port + 1 >= high { low } else { port + 1 };
        if TcpListener::bind(("127.0.0.1", candidate)).is_ok() {
            *next = Some(port);
            return candidate;
        }
    }
    panic!("no free port on 127.0.0.1 between {low} and {high}");
}

/// The 10,000 ports just below the kernel's ephemeral range (`net.ipv4.ip_local_port_range`).
fn reserved_range() -> (u16, u16) {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let high = ephemeral_low.max(11_024);
    (high - 10_000, high)
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
