//! Waiting on a running system: the one poll-until, so that every wait in the suite is bounded, checks
//! at the same pace and, when it gives up, says what it waited for and what it saw last.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

/// How often a condition is checked again: quick next to a scrape or an evaluation interval (1 s in
/// the tests), slow enough not to load the machine.
pub const EVERY: Duration = Duration::from_millis(250);

/// Fetches with `fetch` until `done` accepts the value, and returns that value. Fails the test after
/// `limit`, naming `what` it waited for and showing the last value fetched.
pub async fn eventually<T: Debug, F: Future<Output = T>>(
    what: &str,
    limit: Duration,
    mut fetch: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let value = fetch().await;
        if done(&value) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {limit:?}; last seen: {value:#?}"
        );
        tokio::time::sleep(EVERY).await;
    }
}

/// Calls `attempt` until it returns something, for at most `limit`; `None` when it never did, for a
/// test that reports (or skips) instead of failing there.
pub async fn within<T>(limit: Duration, mut attempt: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = attempt().await {
            return Some(value);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// The body of a GET to `url`, or the reason there is none (for [`eventually`]'s message).
pub async fn body(url: String) -> Result<String, String> {
    let response = reqwest::get(&url)
        .await
        .map_err(|error| error.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|error| error.to_string())?;
    if status.is_success() {
        Ok(text)
    } else {
        Err(format!("{status}: {text}"))
    }
}

/// GETs `url` until it answers with a body `done` accepts, and returns that body; fails the test
/// after `limit`, naming `what` it waited for and showing the last answer.
pub async fn eventually_body(
    what: &str,
    limit: Duration,
    url: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let accepted = eventually(
        what,
        limit,
        || body(url.to_owned()),
        |answer| answer.as_deref().is_ok_and(&done),
    )
    .await;
    accepted.unwrap_or_else(|error| unreachable!("an accepted answer, not {error}"))
}
