//! `promlab secrets`: the compose stack's one-shot init. It writes what must never be committed into
//! a volume: Grafana's admin password (random, made once, kept across restarts, printed so the student
//! can log in) and the Discord webhook URL Alertmanager reads (the student's Discord when given, else
//! the local webhook sink).

use std::path::{Path, PathBuf};

use rand::distr::Alphanumeric;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::fs::{FsError, WriteOptions, write_bytes_atomically};

/// The file Grafana reads through `GF_SECURITY_ADMIN_PASSWORD__FILE`.
pub const GRAFANA_PASSWORD_FILE: &str = "grafana_admin_password";
/// The file Alertmanager's `webhook_url_file` names.
pub const DISCORD_WEBHOOK_URL_FILE: &str = "discord_webhook_url";
const PASSWORD_LENGTH: usize = 24;

/// Everything `promlab secrets` needs, free of any CLI type.
#[derive(Debug, Clone)]
pub struct SecretsConfig {
    /// The folder (a volume in compose) that receives the secret files.
    pub dir: PathBuf,
    /// The student's Discord webhook URL, if any.
    pub discord_webhook_url: Option<String>,
    /// Where notifications go without Discord: the local webhook sink.
    pub fallback_webhook_url: String,
}

/// Why the secrets could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A secret file or its folder could not be read or written.
    #[error(
        "cannot write {path}: {source} (is the secrets volume mounted writable for uid 10001?)"
    )]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The Discord webhook URL is not one.
    #[error(
        "the Discord webhook URL is invalid: {problem}; copy it from Discord (Server Settings > Integrations > Webhooks > Copy Webhook URL): it looks like https://discord.com/api/webhooks/ID/TOKEN"
    )]
    InvalidWebhookUrl { problem: String },
}

/// What `run` did, for the log and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub grafana_password: String,
    /// Whether the password was made now (false: kept from an earlier start).
    pub password_created: bool,
    /// Whether notifications go to the student's Discord (false: to the local sink).
    pub discord: bool,
}

/// Checks a webhook URL the way Alertmanager will use it: absolute http(s), a host, no spaces, and the
/// `/api/webhooks/ID/TOKEN` shape Discord (and the sink) answer on.
pub fn check_webhook_url(url: &str) -> Result<(), SecretsError> {
    let invalid = |problem: &str| SecretsError::InvalidWebhookUrl {
        problem: problem.to_owned(),
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| invalid("it must start with https://"))?;
    if url.chars().any(char::is_whitespace) {
        return Err(invalid("it contains spaces or line breaks"));
    }
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() {
        return Err(invalid("it has no host"));
    }
    let parts: Vec<&str> = path.split('/').collect();
    let webhook = parts.windows(4).any(|window| {
        window[0] == "api"
            && window[1] == "webhooks"
            && !window[2].is_empty()
            && !window[3].is_empty()
    });
    let versioned = parts.windows(5).any(|window| {
        window[0] == "api"
            && window[1].starts_with('v')
            && window[2] == "webhooks"
            && !window[3].is_empty()
            && !window[4].is_empty()
    });
    if !(webhook || versioned) {
        return Err(invalid("its path is not /api/webhooks/ID/TOKEN"));
    }
    Ok(())
}

/// The URL with its token hidden, for logs: everything after the webhook's ID goes
/// (`https://discord.com/api/webhooks/123/…`), whatever follows the token (`/slack`, `?wait=true`).
#[must_use]
pub fn redact(url: &str) -> String {
    let Some(at) = url.find("/webhooks/") else {
        return "…".to_owned();
    };
    let id_start = at + "/webhooks/".len();
    let id_end = url[id_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |end| id_start + end);
    format!("{}/…", &url[..id_end])
}

/// Writes `contents` to `path` atomically (see [`crate::fs`]), readable by the other containers' users
/// (Grafana runs as 472, Alertmanager as 65534) but writable by promlab only: mode 0o644.
fn write_secret(path: &Path, contents: &str) -> Result<(), SecretsError> {
    // The secrets' own message: its likely fix (the volume's owner) says more than the generic one.
    let options = WriteOptions::default().with_mode(0o644);
    write_bytes_atomically(path, contents.as_bytes(), options).map_err(
        |FsError { path, source }| SecretsError::Io {
            path: path.display().to_string(),
            source,
        },
    )
}

/// Writes the secrets; the password is kept when one exists.
pub fn run(config: &SecretsConfig) -> Result<Written, SecretsError> {
    let discord = config
        .discord_webhook_url
        .as_deref()
        .map(str::trim)
        .filter(|url| !url.is_empty());
    if let Some(url) = discord {
        check_webhook_url(url)?;
    }
    std::fs::create_dir_all(&config.dir).map_err(|source| SecretsError::Io {
        path: config.dir.display().to_string(),
        source,
    })?;

    let password_path = config.dir.join(GRAFANA_PASSWORD_FILE);
    let existing = match std::fs::read_to_string(&password_path) {
        Ok(text) => Some(text.trim().to_owned()).filter(|text| !text.is_empty()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(SecretsError::Io {
                path: password_path.display().to_string(),
                source,
            });
        }
    };
    let password_created = existing.is_none();
    let grafana_password = if let Some(password) = existing {
        password
    } else {
        let password: String = StdRng::from_os_rng()
            .sample_iter(Alphanumeric)
            .take(PASSWORD_LENGTH)
            .map(char::from)
            .collect();
        write_secret(&password_path, &password)?;
        password
    };

    let url = discord.unwrap_or(&config.fallback_webhook_url);
    write_secret(&config.dir.join(DISCORD_WEBHOOK_URL_FILE), url)?;
    if discord.is_some() {
        tracing::info!(url = %redact(url), "alerts go to your Discord webhook");
    } else {
        tracing::info!(%url, "no DISCORD_WEBHOOK_URL: alerts go to the local webhook sink (http://127.0.0.1:8080)");
    }
    Ok(Written {
        grafana_password,
        password_created,
        discord: discord.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("promlab-secrets-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn config(dir: &Path, discord: Option<&str>) -> SecretsConfig {
        SecretsConfig {
            dir: dir.to_owned(),
            discord_webhook_url: discord.map(str::to_owned),
            fallback_webhook_url: "http://webhook-sink:8080/api/webhooks/0/promlab".to_owned(),
        }
    }

    #[test]
    fn the_password_is_made_once_and_the_webhook_follows_the_setting() {
        let dir = scratch("once");
        let first = run(&config(&dir, None)).unwrap();
        assert!(first.password_created && !first.discord);
        assert_eq!(first.grafana_password.len(), PASSWORD_LENGTH);
        assert!(
            first
                .grafana_password
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
        let read = |name| std::fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(
            read(DISCORD_WEBHOOK_URL_FILE),
            "http://webhook-sink:8080/api/webhooks/0/promlab"
        );

        let discord = "https://discord.com/api/webhooks/123/abc";
        let second = run(&config(&dir, Some(discord))).unwrap();
        assert_eq!(
            second.grafana_password, first.grafana_password,
            "kept across starts"
        );
        assert!(!second.password_created && second.discord);
        assert_eq!(read(DISCORD_WEBHOOK_URL_FILE), discord);
        assert_eq!(read(GRAFANA_PASSWORD_FILE), first.grafana_password);

        // Unset again (or empty, as compose passes `${DISCORD_WEBHOOK_URL:-}`): back to the sink.
        run(&config(&dir, Some(""))).unwrap();
        assert!(read(DISCORD_WEBHOOK_URL_FILE).starts_with("http://webhook-sink"));
        let mut left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [DISCORD_WEBHOOK_URL_FILE, GRAFANA_PASSWORD_FILE],
            "no temporary file left"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.join(GRAFANA_PASSWORD_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644, "readable by Grafana's user");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bad_discord_url_is_refused_before_anything_is_written() {
        let dir = scratch("bad");
        for (url, problem) in [
            ("discord.com/api/webhooks/1/a", "must start with https://"),
            (
                "https://discord.com/channels/1/2",
                "not /api/webhooks/ID/TOKEN",
            ),
            ("https:///api/webhooks/1/a", "no host"),
            ("https://discord.com/api/webhooks/1/a b", "spaces"),
        ] {
            let error = run(&config(&dir, Some(url))).unwrap_err().to_string();
            assert!(error.contains(problem), "{url}: {error}");
            assert!(error.contains("Copy Webhook URL"), "{error}");
        }
        assert!(!dir.exists(), "nothing written");
        assert!(check_webhook_url("https://discord.com/api/v10/webhooks/1/a").is_ok());
    }

    #[test]
    fn logs_never_show_the_token() {
        for url in [
            "https://discord.com/api/webhooks/123/secret",
            "https://discord.com/api/webhooks/123/secret/",
            "https://discord.com/api/webhooks/123/secret/slack",
            "https://discord.com/api/v10/webhooks/123/secret?wait=true",
        ] {
            let shown = redact(url);
            assert!(!shown.contains("secret"), "{url}: {shown}");
            assert!(shown.ends_with("/webhooks/123/…"), "{url}: {shown}");
        }
        assert_eq!(redact("https://example.com/hook/secret"), "…");
    }
}
