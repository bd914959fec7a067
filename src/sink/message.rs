//! A Discord webhook message: what the sink accepts (the fields and limits Discord enforces) and what
//! it keeps.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// The colour Alertmanager gives a firing notification (`0x992D22`).
pub const FIRING_COLOR: u32 = 10_038_562;
/// The colour Alertmanager gives a resolved notification (`0x2ECC71`).
pub const RESOLVED_COLOR: u32 = 3_066_993;

// Discord's limits, in characters (https://discord.com/developers/docs/resources/message#embed-object-embed-limits
// and the execute-webhook parameters). Together they bound an accepted message to about 115 KiB.
const CONTENT_MAX: usize = 2000;
const EMBEDS_MAX: usize = 10;
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FIELDS_MAX: usize = 25;
const FIELD_NAME_MAX: usize = 256;
const FIELD_VALUE_MAX: usize = 1024;
const FOOTER_TEXT_MAX: usize = 2048;
const AUTHOR_NAME_MAX: usize = 256;
/// The sum of every embed's title, description, field names and values, footer text and author name.
const EMBEDS_TOTAL_MAX: usize = 6000;
const USERNAME_MAX: usize = 80;
/// Discord refuses longer URLs (embed, author, footer and avatar URLs) with the same length error.
const URL_MAX: usize = 2048;
const COLOR_MAX: u32 = 0xFF_FFFF;
/// A webhook id is a snowflake, a 64-bit number: at most 20 digits.
const WEBHOOK_ID_MAX: usize = 20;
/// A webhook token is 68 characters today; Discord has not documented a maximum, 128 leaves room.
const WEBHOOK_TOKEN_MAX: usize = 128;

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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<EmbedField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<EmbedFooter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<EmbedAuthor>,
}

/// One `name: value` pair of an embed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct EmbedField {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub inline: bool,
}

/// The small text under an embed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct EmbedFooter {
    #[serde(default)]
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

/// Who an embed is from, shown above its title.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct EmbedAuthor {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
}

impl Embed {
    /// The characters Discord counts against [`EMBEDS_TOTAL_MAX`].
    fn counted_chars(&self) -> usize {
        let chars = |text: Option<&str>| text.map_or(0, |text| text.chars().count());
        chars(self.title.as_deref())
            + chars(self.description.as_deref())
            + self
                .fields
                .iter()
                .map(|field| field.name.chars().count() + field.value.chars().count())
                .sum::<usize>()
            + chars(self.footer.as_ref().map(|footer| footer.text.as_str()))
            + chars(self.author.as_ref().map(|author| author.name.as_str()))
    }

    /// The bytes its text takes in memory.
    fn text_bytes(&self) -> usize {
        let bytes = |text: Option<&String>| text.map_or(0, String::len);
        bytes(self.title.as_ref())
            + bytes(self.description.as_ref())
            + bytes(self.url.as_ref())
            + self
                .fields
                .iter()
                .map(|field| {
                    std::mem::size_of::<EmbedField>() + field.name.len() + field.value.len()
                })
                .sum::<usize>()
            + self.footer.as_ref().map_or(0, |footer| {
                footer.text.len() + bytes(footer.icon_url.as_ref())
            })
            + self.author.as_ref().map_or(0, |author| {
                author.name.len() + bytes(author.url.as_ref()) + bytes(author.icon_url.as_ref())
            })
    }
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

impl Message {
    /// About the bytes it holds in memory: its text plus its fixed parts. What the sink's byte budget
    /// counts.
    #[must_use]
    pub fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.webhook_id.len()
            + self.username.as_ref().map_or(0, String::len)
            + self.content.len()
            + self
                .embeds
                .iter()
                .map(|embed| std::mem::size_of::<Embed>() + embed.text_bytes())
                .sum::<usize>()
    }
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

fn too_many(path: String, count: usize, max: usize) -> Result<(), Rejection> {
    if count > max {
        Err(Rejection::InvalidField {
            path,
            problem: format!("Must be {max} or fewer in length."),
        })
    } else {
        Ok(())
    }
}

/// Checks a webhook URL's id and token lengths (their content is never looked at: any id is a webhook
/// here). Refused before the body is read, so a long path costs nothing to keep.
pub fn check_webhook(id: &str, token: &str) -> Result<(), Rejection> {
    too_long("webhook_id".to_owned(), Some(id), WEBHOOK_ID_MAX)?;
    too_long("webhook_token".to_owned(), Some(token), WEBHOOK_TOKEN_MAX)
}

fn check_embed(index: usize, embed: &Embed) -> Result<(), Rejection> {
    let path = |field: &str| format!("embeds.{index}.{field}");
    too_long(path("title"), embed.title.as_deref(), TITLE_MAX)?;
    too_long(
        path("description"),
        embed.description.as_deref(),
        DESCRIPTION_MAX,
    )?;
    too_long(path("url"), embed.url.as_deref(), URL_MAX)?;
    if embed.color.is_some_and(|color| color > COLOR_MAX) {
        return Err(Rejection::InvalidField {
            path: path("color"),
            problem: format!("Int value should be less than or equal to {COLOR_MAX}."),
        });
    }
    too_many(path("fields"), embed.fields.len(), FIELDS_MAX)?;
    for (number, field) in embed.fields.iter().enumerate() {
        too_long(
            path(&format!("fields.{number}.name")),
            Some(&field.name),
            FIELD_NAME_MAX,
        )?;
        too_long(
            path(&format!("fields.{number}.value")),
            Some(&field.value),
            FIELD_VALUE_MAX,
        )?;
    }
    if let Some(footer) = &embed.footer {
        too_long(path("footer.text"), Some(&footer.text), FOOTER_TEXT_MAX)?;
        too_long(path("footer.icon_url"), footer.icon_url.as_deref(), URL_MAX)?;
    }
    if let Some(author) = &embed.author {
        too_long(path("author.name"), Some(&author.name), AUTHOR_NAME_MAX)?;
        too_long(path("author.url"), author.url.as_deref(), URL_MAX)?;
        too_long(path("author.icon_url"), author.icon_url.as_deref(), URL_MAX)?;
    }
    Ok(())
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
        too_long("avatar_url".to_owned(), self.avatar_url.as_deref(), URL_MAX)?;
        too_many("embeds".to_owned(), embeds.len(), EMBEDS_MAX)?;
        for (index, embed) in embeds.iter().enumerate() {
            check_embed(index, embed)?;
        }
        let total: usize = embeds.iter().map(Embed::counted_chars).sum();
        if total > EMBEDS_TOTAL_MAX {
            return Err(Rejection::InvalidField {
                path: "embeds".to_owned(),
                problem: format!("Embed size exceeds maximum size of {EMBEDS_TOTAL_MAX}"),
            });
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

    #[test]
    fn every_field_discord_limits_is_limited() {
        let long = |n: usize| "x".repeat(n);
        let embed = |json: Value| json!({"embeds": [json]}).to_string();
        let fields: Vec<Value> = (0..26)
            .map(|_| json!({"name": "n", "value": "v"}))
            .collect();
        for (body, path) in [
            (
                json!({"content": long(2001)}).to_string(),
                "/errors/content/_errors",
            ),
            (
                json!({"embeds": vec![json!({"title": "t"}); 11]}).to_string(),
                "/errors/embeds/_errors",
            ),
            (
                embed(json!({"url": long(2049)})),
                "/errors/embeds/0/url/_errors",
            ),
            (
                embed(json!({"fields": fields})),
                "/errors/embeds/0/fields/_errors",
            ),
            (
                embed(json!({"fields": [{"name": long(257), "value": "v"}]})),
                "/errors/embeds/0/fields/0/name/_errors",
            ),
            (
                embed(json!({"fields": [{"name": "n", "value": long(1025)}]})),
                "/errors/embeds/0/fields/0/value/_errors",
            ),
            (
                embed(json!({"footer": {"text": long(2049)}})),
                "/errors/embeds/0/footer/text/_errors",
            ),
            (
                embed(json!({"footer": {"text": "f", "icon_url": long(2049)}})),
                "/errors/embeds/0/footer/icon_url/_errors",
            ),
            (
                embed(json!({"author": {"name": long(257)}})),
                "/errors/embeds/0/author/name/_errors",
            ),
            (
                embed(json!({"author": {"name": "a", "url": long(2049)}})),
                "/errors/embeds/0/author/url/_errors",
            ),
            (
                json!({"embeds": [{"description": long(4096)}, {"description": long(1905)}]})
                    .to_string(),
                "/errors/embeds/_errors",
            ),
            (
                json!({"content": "a", "avatar_url": long(2049)}).to_string(),
                "/errors/avatar_url/_errors",
            ),
        ] {
            let answer = accept(&body).unwrap_err().body();
            assert_eq!(answer["code"], 50035, "{path}: {answer}");
            assert!(answer.pointer(path).is_some(), "{path}: {answer}");
        }
        let at_the_limits = json!({"content": long(2000), "embeds": [{
            "title": long(256), "description": long(4096), "url": long(2048),
            "fields": [{"name": long(256), "value": long(1024)}],
            "footer": {"text": long(300)}, "author": {"name": long(68)},
        }]});
        let message = accept(&at_the_limits.to_string()).unwrap();
        assert!(message.size() > 2000 + 6000 + 2048, "{}", message.size());
        assert!(check_webhook(&long(20), &long(128)).is_ok());
        for (id, token, path) in [
            (long(21), long(68), "/errors/webhook_id/_errors"),
            (long(19), long(129), "/errors/webhook_token/_errors"),
        ] {
            let answer = check_webhook(&id, &token).unwrap_err().body();
            assert!(answer.pointer(path).is_some(), "{path}: {answer}");
        }
    }
}
