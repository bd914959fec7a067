//! The `no_secret` check: a committed Discord webhook URL lets anyone post to the class's channel, a
//! committed Grafana password opens the dashboards. Every text file of the repository is scanned;
//! what is found is printed redacted.

use std::path::Path;

use super::Outcome;

/// Folders never scanned: version control, build output, dependencies.
const SKIPPED_DIRS: [&str; 5] = [".git", "target", "node_modules", ".venv", "__pycache__"];
/// Larger files are data, not configuration.
const MAX_BYTES: u64 = 1 << 20;

/// One secret found: where, and what (redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Leak {
    pub file: String,
    pub line: usize,
    pub what: String,
}

/// Scans the repository and judges it.
#[must_use]
pub(super) fn scan(repo: &Path) -> Outcome {
    let mut leaks = Vec::new();
    walk(repo, repo, &mut leaks);
    if leaks.is_empty() {
        return Outcome::Pass("no webhook URL or password in the repository".to_owned());
    }
    leaks.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Outcome::Fail(
        leaks
            .iter()
            .map(|leak| format!("{}:{}: {}", leak.file, leak.line, leak.what))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

fn walk(repo: &Path, dir: &Path, leaks: &mut Vec<Leak>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            let name = entry.file_name();
            if !SKIPPED_DIRS.iter().any(|skipped| name == *skipped) {
                walk(repo, &path, leaks);
            }
        } else if kind.is_file() && entry.metadata().is_ok_and(|meta| meta.len() <= MAX_BYTES) {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if bytes.contains(&0) {
                continue;
            }
            let relative = path
                .strip_prefix(repo)
                .unwrap_or(&path)
                .display()
                .to_string();
            let text = String::from_utf8_lossy(&bytes);
            for (number, line) in text.lines().enumerate() {
                for what in line_leaks(line) {
                    leaks.push(Leak {
                        file: relative.clone(),
                        line: number + 1,
                        what,
                    });
                }
            }
        }
    }
}

/// The secrets on one line, redacted.
fn line_leaks(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = line.to_ascii_lowercase();
    for host in ["discord.com/api/", "discordapp.com/api/"] {
        let mut from = 0;
        while let Some(at) = lower[from..].find(host).map(|at| from + at) {
            from = at + host.len();
            if let Some(url) = webhook_at(line, at, from) {
                found.push(format!(
                    "a Discord webhook URL ({})",
                    crate::secrets::redact(&url)
                ));
            }
        }
    }
    if let Some(value) = assigned(line, "GF_SECURITY_ADMIN_PASSWORD") {
        found.push(format!(
            "GF_SECURITY_ADMIN_PASSWORD set to a password ({})",
            hide(&value)
        ));
    }
    let trimmed = line.trim_start();
    if let Some(value) = trimmed
        .starts_with("admin_password")
        .then(|| assigned(trimmed, "admin_password"))
        .flatten()
    {
        found.push(format!(
            "admin_password set to a password ({})",
            hide(&value)
        ));
    }
    found
}

/// The webhook URL whose `/api/` part ends at `after`, when a real ID (digits) and token follow:
/// `…/api/webhooks/ID/TOKEN` or `…/api/v10/webhooks/ID/TOKEN`. Placeholders (`ID/TOKEN`) are not leaks.
fn webhook_at(line: &str, host_at: usize, after: usize) -> Option<String> {
    let mut rest = &line[after..];
    if let Some(versioned) = rest.strip_prefix('v') {
        let digits = versioned.find('/')?;
        rest = &versioned[digits + 1..];
    }
    let rest = rest.strip_prefix("webhooks/")?;
    let id_len = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let token = rest[id_len..].strip_prefix('/')?;
    let token_len = token
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(token.len());
    if id_len < 5 || token_len < 10 {
        return None;
    }
    let start = line[..host_at]
        .rfind("https://")
        .or_else(|| line[..host_at].rfind("http://"))
        .unwrap_or(host_at);
    let end = line.len() - token.len() + token_len;
    Some(line[start..end].to_owned())
}

/// The value assigned to `key` on the line (`KEY=value`, `KEY: value`, `key = value`), unless it is
/// empty or a reference to somewhere else (`${VAR}`, `$__file{…}`). `KEY__FILE` is not `KEY`.
fn assigned(line: &str, key: &str) -> Option<String> {
    let at = line.find(key)?;
    let rest = line[at + key.len()..].trim_start();
    let rest = rest.strip_prefix(['=', ':'])?;
    let value = rest.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    let value = value.split(" #").next().unwrap_or(value).trim();
    if value.is_empty() || value.starts_with('$') {
        return None;
    }
    Some(value.to_owned())
}

fn hide(value: &str) -> String {
    let first: String = value.chars().take(1).collect();
    format!("{first}…, {} characters", value.chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_found_and_redacted() {
        let leaks = line_leaks(
            "url: https://discord.com/api/webhooks/123456789012345678/abcdefghijklmnopqrstuvwx_-yz",
        );
        assert_eq!(
            leaks,
            ["a Discord webhook URL (https://discord.com/api/webhooks/123456789012345678/…)"]
        );
        assert!(!leaks[0].contains("abcdefghij"));
        let versioned =
            line_leaks("\"https://discordapp.com/api/v10/webhooks/123456789/tokentokentoken\"");
        assert_eq!(versioned.len(), 1, "{versioned:?}");
    }

    #[test]
    fn placeholders_and_references_are_not_leaks() {
        for line in [
            "DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/ID/TOKEN docker compose up",
            "GF_SECURITY_ADMIN_PASSWORD__FILE: /run/secrets/promlab/grafana_admin_password",
            "GF_SECURITY_ADMIN_PASSWORD: ${GRAFANA_PASSWORD}",
            "GF_SECURITY_ADMIN_PASSWORD=",
            "webhook_url_file: /etc/alertmanager/secrets/discord_webhook_url",
        ] {
            assert!(
                line_leaks(line).is_empty(),
                "{line}: {:?}",
                line_leaks(line)
            );
        }
    }

    #[test]
    fn grafana_passwords_are_found_and_hidden() {
        assert_eq!(
            line_leaks("      GF_SECURITY_ADMIN_PASSWORD: hunter2"),
            ["GF_SECURITY_ADMIN_PASSWORD set to a password (h…, 7 characters)"]
        );
        assert_eq!(line_leaks("- GF_SECURITY_ADMIN_PASSWORD=admin").len(), 1);
        assert_eq!(
            line_leaks("admin_password = s3cret"),
            ["admin_password set to a password (s…, 6 characters)"]
        );
    }
}
