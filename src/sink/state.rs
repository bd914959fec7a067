//! The messages the sink received: the newest `keep` within a byte budget, newest first, and counts
//! since start.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use super::message::{Message, Payload, Rejection, Status};

/// The most bytes the kept messages may hold together: the oldest are forgotten first beyond it, as
/// beyond `keep`. 8 MiB holds thousands of Alertmanager notifications (about 1 KiB each) and at least
/// 70 messages at Discord's largest (about 115 KiB), and keeps the sink small whatever is posted.
pub const KEEP_BYTES: usize = 8 * 1024 * 1024;

/// Shared by the handlers; cheap to clone.
#[derive(Debug, Clone)]
pub struct SinkState {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug)]
struct Inner {
    keep: usize,
    keep_bytes: usize,
    /// Newest first.
    messages: VecDeque<Message>,
    /// The [`Message::size`] of the kept messages together.
    bytes: usize,
    next_id: u64,
    accepted: [u64; 3],
    rejected: u64,
}

impl SinkState {
    /// Keeps the newest `keep` messages (at least one) within [`KEEP_BYTES`].
    #[must_use]
    pub fn new(keep: usize) -> Self {
        Self::with_byte_budget(keep, KEEP_BYTES)
    }

    /// Keeps the newest `keep` messages (at least one) while they hold at most `keep_bytes` together
    /// (the newest is kept whatever its size).
    #[must_use]
    pub fn with_byte_budget(keep: usize, keep_bytes: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                keep: keep.max(1),
                keep_bytes,
                messages: VecDeque::new(),
                bytes: 0,
                next_id: 1,
                accepted: [0; 3],
                rejected: 0,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the queue half-updated: every update is one push.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Checks and keeps a posted message, or counts its rejection.
    pub fn receive(
        &self,
        webhook_id: &str,
        payload: Result<Payload, Rejection>,
    ) -> Result<Message, Rejection> {
        let mut inner = self.lock();
        let id = inner.next_id;
        let message = payload.and_then(|payload| payload.accept(id, webhook_id, SystemTime::now()));
        match &message {
            Ok(message) => {
                inner.next_id += 1;
                inner.accepted[status_index(message.status)] += 1;
                inner.bytes += message.size();
                inner.messages.push_front(message.clone());
                while inner.messages.len() > 1
                    && (inner.messages.len() > inner.keep || inner.bytes > inner.keep_bytes)
                {
                    if let Some(oldest) = inner.messages.pop_back() {
                        inner.bytes -= oldest.size();
                    }
                }
            }
            Err(_) => inner.rejected += 1,
        }
        message
    }

    /// The kept messages, newest first.
    #[must_use]
    pub fn messages(&self) -> Vec<Message> {
        self.lock().messages.iter().cloned().collect()
    }

    /// Messages accepted per status since start, and rejected ones.
    #[must_use]
    pub fn counts(&self) -> ([(Status, u64); 3], u64) {
        let inner = self.lock();
        let statuses = [Status::Firing, Status::Resolved, Status::Other];
        (
            statuses.map(|status| (status, inner.accepted[status_index(status)])),
            inner.rejected,
        )
    }

    /// Forgets every kept message (the counts stay: they are counters); returns how many it forgot.
    #[must_use = "the number of messages cleared"]
    pub fn clear(&self) -> usize {
        let mut inner = self.lock();
        let cleared = inner.messages.len();
        inner.messages.clear();
        inner.bytes = 0;
        cleared
    }
}

fn status_index(status: Status) -> usize {
    match status {
        Status::Firing => 0,
        Status::Resolved => 1,
        Status::Other => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(state: &SinkState, content: &str) -> Result<Message, Rejection> {
        state.receive("1", Payload::parse(content.as_bytes()))
    }

    #[test]
    fn keeps_the_newest_messages_first_and_counts_everything() {
        let state = SinkState::new(2);
        for text in ["one", "two", "three"] {
            post(&state, &format!(r#"{{"content":"{text}"}}"#)).unwrap();
        }
        post(&state, "{}").unwrap_err();
        let kept: Vec<_> = state
            .messages()
            .into_iter()
            .map(|m| (m.id, m.content))
            .collect();
        assert_eq!(kept, [(3, "three".to_owned()), (2, "two".to_owned())]);
        let (accepted, rejected) = state.counts();
        assert_eq!(accepted[2], (Status::Other, 3));
        assert_eq!(rejected, 1);
        assert_eq!(state.clear(), 2);
        assert!(state.messages().is_empty());
        assert_eq!(state.counts().0[2].1, 3);
    }

    #[test]
    fn the_oldest_messages_go_first_beyond_the_byte_budget() {
        let big = |n: u32| format!(r#"{{"content":"{n}{}"}}"#, "x".repeat(1500));
        let one = post(&SinkState::new(1), &big(0)).unwrap().size();
        let state = SinkState::with_byte_budget(100, 3 * one);
        for n in 1..=5 {
            post(&state, &big(n)).unwrap();
        }
        let kept: Vec<_> = state.messages().into_iter().map(|m| m.id).collect();
        assert_eq!(kept, [5, 4, 3]);
        let lone = SinkState::with_byte_budget(100, 10);
        post(&lone, &big(1)).unwrap();
        assert_eq!(
            lone.messages().len(),
            1,
            "the newest is kept whatever its size"
        );
    }
}
