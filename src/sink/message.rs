//! A Discord webhook message: what the sink accepts (the fields and limits Discord enforces) and what
//! it keeps.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The colour Alertmanager gives a firing notification (`0x992D22`).
pub const FIRING_COLOR: u32 = 10_038_562;
/// The colour Alertmanager gives a resolved notification (`0x2ECC71`).
pub const RESOLVED_COLOR: u32 = 3_066_993;

/// Discord's limits, in characters.
const CONTENT_MAX: usize = 2000;
const EMBEDS_MAX: usize = 10;
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const USERNAME_MAX: usize = 80;
const COLOR_MAX: u32 = 0xFF_FFFF;

/// The JSON body of `POST /api/webhooks/{id}/{token}`, as Discord reads it (unknown fields ignored).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Payload {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub embeds: Option<Vec<Embed>>,
}

/// One embed: Alertmanager sends one per notification, its title `[FIRING:1] …` or `[RESOLVED] …`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Embed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<u32>,
}

/// What a message says about its alerts, read from the title Alertmanager writes, else the colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Firing,
    Resolved,
    /// Not an Alertmanager notification (a message someone posted by hand).
    Other,
}

impl Status {
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
            Self::Other => "other",
        }
    }

    fn of(embeds: &[Embed]) -> Self {
        let Some(embed) = embeds.first() else {
            return Self::Other;
        };
        let title = embed.title.as_deref().unwrap_or_default();
        if title.starts_with("[FIRING") {
            Self::Firing
        } else if title.starts_with("[RESOLVED") {
            Self::Resolved
        } else {
            match embed.color {
                Some(FIRING_COLOR) => Self::Firing,
                Some(RESOLVED_COLOR) => Self::Resolved,
                _ => Self::Other,
            }
        }
    }
}

/// A message the sink accepted.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    /// Assigned by the sink, increasing.
    pub id: u64,
    /// The `{id}` of the webhook URL it was posted to.
    pub webhook_id: String,
    #[serde(serialize_with = "rfc3339")]
    pub received_at: SystemTime,
    pub status: Status,
    pub username: Option<String>,
    pub content: String,
    pub embeds: Vec<Embed>,
}

fn rfc3339<S: serde::Serializer>(at: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339_millis(*at))
}

/// Why Discord (and so the sink) refuses a message: its JSON error body, `{"message", "code", …}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejection {
    /// The body is not JSON (Discord's code 50109).
    #[error("the request body contains invalid JSON: {0}")]
    InvalidJson(String),
    /// Neither content nor an embed (Discord's code 50006).
    #[error("cannot send an empty message: give it content or at least one embed")]
    Empty,
    /// A field breaks one of Discord's limits (code 50035, with the field's path).
    #[error("invalid form body: {path}: {problem}")]
    InvalidField { path: String, problem: String },
}

impl Rejection {
    /// The body Discord answers with.
    #[must_use]
    pub fn body(&self) -> Value {
        match self {
            Self::InvalidJson(_) => {
                json!({"message": "The request body contains invalid JSON.", "code": 50109})
            }
            Self::Empty => json!({"message": "Cannot send an empty message", "code": 50006}),
            Self::InvalidField { path, problem } => {
                // Discord nests errors by path: {"embeds": {"0": {"title": {"_errors": [...]}}}}.
                let mut errors =
                    json!({"_errors": [{"code": "BASE_TYPE_INVALID", "message": problem}]});
                for key in path.rsplit('.') {
                    let mut parent = Map::new();
                    parent.insert(key.to_owned(), errors);
                    errors = Value::Object(parent);
                }
                json!({"message": "Invalid Form Body", "code": 50035, "errors": errors})
            }
        }
    }
}

fn too_long(path: String, text: Option<&str>, max: usize) -> Result<(), Rejection> {
    match text {
        Some(text) if text.chars().count() > max => Err(Rejection::InvalidField {
            path,
            problem: format!("Must be {max} or fewer in length."),
        }),
        _ => Ok(()),
    }
}

impl Payload {
    /// Parses a body as Discord would.
    pub fn parse(body: &[u8]) -> Result<Self, Rejection> {
        serde_json::from_slice(body).map_err(|error| Rejection::InvalidJson(error.to_string()))
    }

    /// Checks the payload against Discord's limits and turns it into a kept message.
    pub fn accept(
        self,
        id: u64,
        webhook_id: &str,
        received_at: SystemTime,
    ) -> Result<Message, Rejection> {
        let content = self.content.unwrap_or_default();
        let embeds = self.embeds.unwrap_or_default();
        if content.trim().is_empty() && embeds.is_empty() {
            return Err(Rejection::Empty);
        }
        too_long("content".to_owned(), Some(&content), CONTENT_MAX)?;
        if let Some(username) = &self.username {
            if username.trim().is_empty() {
                return Err(Rejection::InvalidField {
                    path: "username".to_owned(),
                    problem: "Must not be empty.".to_owned(),
                });
            }
            too_long("username".to_owned(), Some(username), USERNAME_MAX)?;
        }
        if embeds.len() > EMBEDS_MAX {
            return Err(Rejection::InvalidField {
                path: "embeds".to_owned(),
                problem: format!("Must be {EMBEDS_MAX} or fewer in length."),
            });
        }
        for (index, embed) in embeds.iter().enumerate() {
            too_long(
                format!("embeds.{index}.title"),
                embed.title.as_deref(),
                TITLE_MAX,
            )?;
            too_long(
                format!("embeds.{index}.description"),
                embed.description.as_deref(),
                DESCRIPTION_MAX,
            )?;
            if embed.color.is_some_and(|color| color > COLOR_MAX) {
                return Err(Rejection::InvalidField {
                    path: format!("embeds.{index}.color"),
                    problem: format!("Int value should be less than or equal to {COLOR_MAX}."),
                });
            }
        }
        Ok(Message {
            id,
            webhook_id: webhook_id.to_owned(),
            received_at,
            status: Status::of(&embeds),
            username: self.username,
            content,
            embeds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Alertmanager 0.25+ sends (seen on this machine).
    const FIRING: &str = r#"{"content":"","embeds":[{"title":"[FIRING:1] ModelHigh warning ","description":"\n\nAlerts Firing:\nLabels:\n - alertname = ModelHigh\n","color":10038562}]}"#;

    fn accept(body: &str) -> Result<Message, Rejection> {
        Payload::parse(body.as_bytes())?.accept(1, "42", SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn alertmanager_messages_are_read_as_firing_or_resolved() {
        let message = accept(FIRING).unwrap();
        assert_eq!(message.status, Status::Firing);
        assert_eq!(message.webhook_id, "42");
        assert_eq!(message.embeds[0].color, Some(FIRING_COLOR));
        let resolved = FIRING
            .replace("[FIRING:1]", "[RESOLVED]")
            .replace("10038562", "3066993");
        assert_eq!(accept(&resolved).unwrap().status, Status::Resolved);
        let by_colour = r#"{"embeds":[{"title":"custom title","color":3066993}]}"#;
        assert_eq!(accept(by_colour).unwrap().status, Status::Resolved);
        assert_eq!(
            accept(r#"{"content":"hello"}"#).unwrap().status,
            Status::Other
        );
    }

    #[test]
    fn what_discord_refuses_is_refused_with_its_codes() {
        let long_title = format!(r#"{{"embeds":[{{"title":"{}"}}]}}"#, "x".repeat(257));
        for (body, code, path) in [
            ("not json", 50109, None),
            ("{}", 50006, None),
            (r#"{"content":"  ","embeds":[]}"#, 50006, None),
            (
                long_title.as_str(),
                50035,
                Some("/errors/embeds/0/title/_errors"),
            ),
            (
                r#"{"embeds":[{"color":16777216}]}"#,
                50035,
                Some("/errors/embeds/0/color/_errors"),
            ),
            (
                r#"{"content":"a","username":""}"#,
                50035,
                Some("/errors/username/_errors"),
            ),
        ] {
            let rejection = accept(body).unwrap_err();
            let answer = rejection.body();
            assert_eq!(answer["code"], code, "{body}: {answer}");
            if let Some(path) = path {
                assert!(answer.pointer(path).is_some(), "{body}: {answer}");
            }
        }
        let content = format!(r#"{{"content":"{}"}}"#, "é".repeat(2000));
        assert!(accept(&content).is_ok(), "2000 characters, not bytes");
    }
}
