//! Headless Chromium (Debian's package), as a person's browser would load a page.

use std::path::Path;
use std::process::Command;

use super::{Missing, which};

/// Loads `url`, lets its scripts run for `budget_ms` of virtual time, and returns the DOM.
/// Also saves a screenshot next to the test's temporary files when `screenshot` is given.
pub fn dump_dom(url: &str, budget_ms: u32, screenshot: Option<&Path>) -> Result<String, Missing> {
    let chromium = which("chromium").or_else(|_| which("chromium-browser"))?;
    let profile = super::fs::scratch(&format!(
        "chromium-profile-{}-{}",
        std::process::id(),
        super::free_port()
    ));
    let mut common = vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        format!("--user-data-dir={}", profile.display()),
        format!("--virtual-time-budget={budget_ms}"),
    ];
    if let Some(path) = screenshot {
        let mut args = common.clone();
        args.push("--window-size=900,1100".to_owned());
        args.push(format!("--screenshot={}", path.display()));
        args.push(url.to_owned());
        let status = Command::new(&chromium).args(&args).output();
        assert!(
            status.is_ok_and(|o| o.status.success()),
            "chromium took no screenshot"
        );
    }
    common.push("--dump-dom".to_owned());
    common.push(url.to_owned());
    let output = Command::new(&chromium)
        .args(&common)
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
