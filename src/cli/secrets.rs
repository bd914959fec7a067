//! `promlab secrets`: where the lab's secrets are written, and from what.
#![allow(clippy::doc_markdown)]

use clap::Args;

use std::path::PathBuf;

use crate::redact::Secret;
use crate::secrets::SecretsConfig;

use super::shared::{FromEnvOnly, read_secret_file, secret};

#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// Folder that receives the secret files: alertmanager/discord_webhook_url and grafana/grafana_admin_password (in compose, each subfolder is its service's own volume).
    #[arg(long, env = "PROMLAB_SECRETS_DIR", default_value = "/var/lib/promlab")]
    pub dir: PathBuf,

    /// A file holding your Discord webhook URL (https://discord.com/api/webhooks/ID/TOKEN), read at start; a missing file: alerts go to the local sink.
    #[arg(
        long,
        env = "PROMLAB_DISCORD_WEBHOOK_URL_FILE",
        value_name = "FILE",
        value_parser = read_webhook_url_file
    )]
    pub discord_webhook_url_file: Option<Secret>,

    /// Your Discord webhook URL: only from PROMLAB_DISCORD_WEBHOOK_URL, and discouraged (a container keeps its environment: docker inspect shows it); as a flag it is refused.
    #[arg(
        long,
        env = "PROMLAB_DISCORD_WEBHOOK_URL",
        hide = true,
        hide_env_values = true,
        value_parser = FromEnvOnly
    )]
    pub discord_webhook_url: Option<Secret>,

    /// Where alerts go without Discord: the local webhook sink.
    #[arg(
        long,
        env = "PROMLAB_FALLBACK_WEBHOOK_URL",
        default_value = "http://webhook-sink:8080/api/webhooks/0/promlab"
    )]
    pub fallback_webhook_url: String,

    /// The uid Alertmanager runs as (65534 in prom/alertmanager): it gets the webhook file, mode 0400 (needs root).
    #[arg(long, env = "PROMLAB_ALERTMANAGER_UID", value_name = "UID")]
    pub alertmanager_uid: Option<u32>,

    /// The uid Grafana runs as (472 in grafana/grafana-oss): it gets the password file, mode 0400 (needs root).
    #[arg(long, env = "PROMLAB_GRAFANA_UID", value_name = "UID")]
    pub grafana_uid: Option<u32>,
}

impl From<SecretsArgs> for SecretsConfig {
    fn from(args: SecretsArgs) -> Self {
        Self {
            dir: args.dir,
            // A missing file reads as empty: the variable, if any, else the sink.
            discord_webhook_url: secret(
                args.discord_webhook_url_file
                    .filter(|secret| !secret.is_empty()),
                args.discord_webhook_url,
            ),
            fallback_webhook_url: args.fallback_webhook_url,
            alertmanager_uid: args.alertmanager_uid,
            grafana_uid: args.grafana_uid,
        }
    }
}

/// The Discord webhook URL file: read as any secret file, but a missing one is no URL (empty), since
/// the compose stack always names the file and a student without Discord never writes it.
pub(super) fn read_webhook_url_file(path: &str) -> Result<Secret, String> {
    if std::fs::exists(path).is_ok_and(|exists| !exists) {
        return Ok(Secret::new(""));
    }
    read_secret_file(path)
}
