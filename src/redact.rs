//! Keeping secrets out of what promlab prints: a URL's user info (`user:pass@`) hidden before a URL goes
//! into a log line, an error or a `Debug`, and [`Secret`], a password or token whose `Debug` shows
//! nothing. Every client and config that holds one goes through here, so there is one place to check.

use std::fmt;

/// What stands in for a hidden value.
const HIDDEN: &str = "***";

/// `text` with a URL's user info replaced by `***`: `http://u:p@host:9090/x` becomes
/// `http://***@host:9090/x`. Text without user info (or not a URL at all) comes back as it was.
#[must_use]
pub fn url(text: &str) -> String {
    let start = text.find("://").map_or(0, |scheme| scheme + 3);
    let rest = &text[start..];
    // The authority ends where the path, the query or the fragment begins.
    let authority = rest.find(['/', '?', '#']).map_or(rest, |end| &rest[..end]);
    match authority.rfind('@') {
        Some(at) => format!("{}{HIDDEN}{}", &text[..start], &text[start + at..]),
        None => text.to_owned(),
    }
}

/// `error` with the user info of the URL it carries hidden: reqwest prints that URL in its message.
#[must_use]
pub fn reqwest_error(mut error: reqwest::Error) -> reqwest::Error {
    if let Some(url) = error.url_mut()
        && (!url.username().is_empty() || url.password().is_some())
    {
        // Both only fail for URLs that cannot have user info (`data:`), which never had any.
        let _ = url.set_username(HIDDEN);
        let _ = url.set_password(None);
    }
    error
}

/// A password or token: its `Debug` prints `Secret(***)`, it has no `Display`, and its value is read
/// only where it is sent ([`Secret::expose`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    #[must_use]
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the request that sends it.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value itself, for a type outside this crate's control that wants a `String`.
    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }

    /// Whether the value is empty (an empty variable, `PROMLAB_GRAFANA_PASSWORD=`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({HIDDEN})")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn user_info_is_hidden_and_the_rest_kept() {
        for (given, shown) in [
            ("http://u:p@host:9090", "http://***@host:9090"),
            (
                "https://u:p@host:9090/x?y=a@b",
                "https://***@host:9090/x?y=a@b",
            ),
            ("http://user@host/", "http://***@host/"),
            ("http://u:p@ss@host", "http://***@host"),
            ("u:p@host:9090", "***@host:9090"),
            ("http://host:9090/a@b", "http://host:9090/a@b"),
            ("http://host:9090", "http://host:9090"),
            ("", ""),
        ] {
            assert_eq!(url(given), shown, "{given}");
        }
    }

    #[test]
    fn a_secret_never_shows_in_debug() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(***))");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[tokio::test]
    async fn a_reqwest_error_hides_the_user_info_of_its_url() {
        // Port 9 on loopback: nothing listens (discard), the request fails at once.
        let client =
            crate::clients::http_client("http://127.0.0.1:9", Duration::from_secs(1)).unwrap();
        let mut error = client.get("http://127.0.0.1:9/x").send().await.unwrap_err();
        if let Some(url) = error.url_mut() {
            url.set_username("u").unwrap();
            url.set_password(Some("p4ssw0rd")).unwrap();
        }
        let shown = reqwest_error(error).to_string();
        assert!(!shown.contains("p4ssw0rd"), "{shown}");
        assert!(shown.contains("***@127.0.0.1:9"), "{shown}");
    }
}
