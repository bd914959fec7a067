//! `promlab secrets`: the compose stack's one-shot init. It writes what must never be committed, one
//! file per secret, each in the folder (a volume in compose) of the one service that reads it, owned by
//! that service's user and readable by it alone (mode 0o400): Grafana's admin password (random, made
//! once, kept across restarts, printed so the student can log in) and the Discord webhook URL
//! Alertmanager reads (the student's Discord when given, else the local webhook sink). The URL comes
//! from a file, never from the command line or a container's kept environment.

use std::path::{Path, PathBuf};

use rand::distr::Alphanumeric;
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::fs::{FsError, WriteOptions, write_bytes_atomically};
use crate::redact::Secret;

/// The file Grafana reads through `GF_SECURITY_ADMIN_PASSWORD__FILE`.
pub const GRAFANA_PASSWORD_FILE: &str = "grafana_admin_password";
/// The file Alertmanager's `webhook_url_file` names.
pub const DISCORD_WEBHOOK_URL_FILE: &str = "discord_webhook_url";
/// The subfolder of [`SecretsConfig::dir`] for Alertmanager's secrets (its own volume in compose).
pub const ALERTMANAGER_DIR: &str = "alertmanager";
/// The subfolder of [`SecretsConfig::dir`] for Grafana's secrets (its own volume in compose).
pub const GRAFANA_DIR: &str = "grafana";
/// Secret files are readable by their owner, the service that reads them, and by nobody else.
const SECRET_MODE: u32 = 0o400;
const PASSWORD_LENGTH: usize = 24;

/// Everything `promlab secrets` needs, free of any CLI type.
#[derive(Debug, Clone)]
pub struct SecretsConfig {
    /// The folder that receives the secrets: Alertmanager's in its `alertmanager/` subfolder, Grafana's
    /// in `grafana/` (in compose, each subfolder is a volume of its own, mounted into its service only).
    pub dir: PathBuf,
    /// The student's Discord webhook URL, if any.
    pub discord_webhook_url: Option<Secret>,
    /// Where notifications go without Discord: the local webhook sink.
    pub fallback_webhook_url: String,
    /// The uid Alertmanager runs as, which gets the webhook file (none: the file stays the writer's).
    pub alertmanager_uid: Option<u32>,
    /// The uid Grafana runs as, which gets the password file (none: the file stays the writer's).
    pub grafana_uid: Option<u32>,
}

/// Why the secrets could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A secret file or its folder could not be read or written.
    #[error(
        "cannot write {path}: {source} (the secrets service runs as root to hand each file to its reader: is its `user: \"0\"` and its volume there?)"
    )]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A secret file could not be given to the user of the service that reads it.
    #[error(
        "cannot give {path} to uid {uid}: {source}; run `promlab secrets` as root (the compose service has `user: \"0\"` and `cap_add: [CHOWN]`), or drop --alertmanager-uid/--grafana-uid"
    )]
    Chown {
        path: String,
        uid: u32,
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

/// Writes `contents` to `path` atomically (see [`crate::fs`]) with mode 0o400, then gives it to `uid`,
/// the user of the one service that reads it: nobody else can read it, not even the other services.
fn write_secret(path: &Path, contents: &str, uid: Option<u32>) -> Result<(), SecretsError> {
    // The secrets' own message: its likely fix (the service's user and volume) says more than the generic one.
    let options = WriteOptions::default().with_mode(SECRET_MODE);
    write_bytes_atomically(path, contents.as_bytes(), options).map_err(
        |FsError { path, source }| SecretsError::Io {
            path: path.display().to_string(),
            source,
        },
    )?;
    if let Some(uid) = uid {
        // The group stays the writer's (root): with mode 0o400 it grants nothing.
        give_to(path, uid).map_err(|source| SecretsError::Chown {
            path: path.display().to_string(),
            uid,
            source,
        })?;
    }
    Ok(())
}

/// Makes `uid` the file's owner.
#[cfg(unix)]
fn give_to(path: &Path, uid: u32) -> std::io::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), None)
}

/// Owners are given on Linux only: the `secrets` service runs in the stack's (Linux) container.
#[cfg(not(unix))]
fn give_to(_path: &Path, _uid: u32) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "file owners are given on Linux only (run `secrets` in the stack's container)",
    ))
}

/// Creates `dir` (and its parents) if missing.
fn create_dir(dir: &Path) -> Result<(), SecretsError> {
    std::fs::create_dir_all(dir).map_err(|source| SecretsError::Io {
        path: dir.display().to_string(),
        source,
    })
}

/// Writes the secrets; the password is kept when one exists.
pub fn run(config: &SecretsConfig) -> Result<Written, SecretsError> {
    let discord = config
        .discord_webhook_url
        .as_ref()
        .map(|url| url.expose().trim())
        .filter(|url| !url.is_empty());
    if let Some(url) = discord {
        check_webhook_url(url)?;
    }
    let grafana_dir = config.dir.join(GRAFANA_DIR);
    let alertmanager_dir = config.dir.join(ALERTMANAGER_DIR);
    create_dir(&grafana_dir)?;
    create_dir(&alertmanager_dir)?;

    let password_path = grafana_dir.join(GRAFANA_PASSWORD_FILE);
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
        StdRng::from_os_rng()
            .sample_iter(Alphanumeric)
            .take(PASSWORD_LENGTH)
            .map(char::from)
            .collect()
    };
    // Written on every start, kept or new: an earlier version's mode or owner is set right.
    write_secret(&password_path, &grafana_password, config.grafana_uid)?;

    let url = discord.unwrap_or(&config.fallback_webhook_url);
    write_secret(
        &alertmanager_dir.join(DISCORD_WEBHOOK_URL_FILE),
        url,
        config.alertmanager_uid,
    )?;
    if discord.is_some() {
        tracing::info!(url = %redact(url), "alerts go to your Discord webhook");
    } else {
        tracing::info!(%url, "no Discord webhook URL (write yours into secrets/discord_webhook_url at the repository's root, then `up -d` again): alerts go to the local webhook sink (http://127.0.0.1:8080)");
    }
    Ok(Written {
        grafana_password,
        password_created,
        discord: discord.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

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
            discord_webhook_url: discord.map(Secret::new),
            fallback_webhook_url: "http://webhook-sink:8080/api/webhooks/0/promlab".to_owned(),
            alertmanager_uid: None,
            grafana_uid: None,
        }
    }

    #[test]
    fn the_password_is_made_once_and_the_webhook_follows_the_setting() {
        let dir = scratch("once");
        let webhook = dir.join(ALERTMANAGER_DIR).join(DISCORD_WEBHOOK_URL_FILE);
        let password = dir.join(GRAFANA_DIR).join(GRAFANA_PASSWORD_FILE);
        let first = run(&config(&dir, None)).unwrap();
        assert!(first.password_created && !first.discord);
        assert_eq!(first.grafana_password.len(), PASSWORD_LENGTH);
        assert!(
            first
                .grafana_password
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        );
        let read = |path: &Path| std::fs::read_to_string(path).unwrap();
        assert_eq!(
            read(&webhook),
            "http://webhook-sink:8080/api/webhooks/0/promlab"
        );

        let discord = "https://discord.com/api/webhooks/123/abc";
        let second = run(&config(&dir, Some(discord))).unwrap();
        assert_eq!(
            second.grafana_password, first.grafana_password,
            "kept across starts"
        );
        assert!(!second.password_created && second.discord);
        assert_eq!(read(&webhook), discord);
        assert_eq!(read(&password), first.grafana_password);

        // Unset again (or empty: no file): back to the sink.
        run(&config(&dir, Some(""))).unwrap();
        assert!(read(&webhook).starts_with("http://webhook-sink"));
        for (folder, file) in [
            (ALERTMANAGER_DIR, DISCORD_WEBHOOK_URL_FILE),
            (GRAFANA_DIR, GRAFANA_PASSWORD_FILE),
        ] {
            let left: Vec<_> = std::fs::read_dir(dir.join(folder))
                .unwrap()
                .map(|entry| entry.unwrap().file_name())
                .collect();
            assert_eq!(
                left,
                [file],
                "one secret per folder, no temporary file left"
            );
        }
        for path in [&webhook, &password] {
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o400, "{}: its owner's only", path.display());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn each_secret_is_given_to_the_user_of_its_reader() {
        let dir = scratch("owner");
        std::fs::create_dir_all(&dir).unwrap();
        // Our own uid: a chown anyone may do, so the test needs no root.
        let uid = std::fs::metadata(&dir).unwrap().uid();
        let mut owned = config(&dir, None);
        owned.alertmanager_uid = Some(uid);
        owned.grafana_uid = Some(uid);
        run(&owned).unwrap();
        for path in [
            dir.join(ALERTMANAGER_DIR).join(DISCORD_WEBHOOK_URL_FILE),
            dir.join(GRAFANA_DIR).join(GRAFANA_PASSWORD_FILE),
        ] {
            assert_eq!(std::fs::metadata(&path).unwrap().uid(), uid);
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
