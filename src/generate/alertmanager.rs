//! `alertmanager/alertmanager.yml`: the route, the Discord receiver (its webhook URL read from a
//! secret file) and the inhibition of symptoms by a down target.

use askama::Template;

use super::{GenerateError, GeneratedFile, LabConfig, rendered};

/// Where the Alertmanager container reads the Discord webhook URL; the compose stack's `secrets`
/// service writes it there.
pub(super) const DISCORD_WEBHOOK_URL_FILE: &str = "/etc/alertmanager/secrets/discord_webhook_url";

#[derive(Template)]
#[template(path = "alertmanager/alertmanager.yml", escape = "none")]
struct AlertmanagerYml<'a> {
    lab: &'a LabConfig,
    webhook_url_file: &'a str,
}

/// `alertmanager/alertmanager.yml`.
pub(super) fn files(lab: &LabConfig) -> Result<Vec<GeneratedFile>, GenerateError> {
    Ok(vec![rendered(
        "alertmanager/alertmanager.yml",
        AlertmanagerYml {
            lab,
            webhook_url_file: DISCORD_WEBHOOK_URL_FILE,
        }
        .render(),
    )?])
}
