//! The event bus behind the server-sent-events streams: every pipeline step, experiment and
//! session change is one [`Event`], tagged with the bot it concerns.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;

/// One event.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    /// Increasing sequence number (resume point for clients).
    pub seq: u64,
    /// Unix time, seconds.
    pub ts: f64,
    /// The bot concerned; `None` for server-wide events.
    pub bot_id: Option<String>,
    /// What happened, e.g. `pipeline.stage`, `experiment.finished`.
    pub kind: String,
    /// Details.
    pub data: Value,
}

/// A cheap-to-clone handle to the bus.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
    recent: Arc<Mutex<VecDeque<Event>>>,
    seq: Arc<AtomicU64>,
    keep: usize,
}

impl EventBus {
    /// A bus that keeps the last `keep` events for late readers.
    pub fn new(keep: usize) -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self {
            tx,
            recent: Arc::new(Mutex::new(VecDeque::new())),
            seq: Arc::new(AtomicU64::new(0)),
            keep,
        }
    }

    /// Publishes an event.
    pub fn publish(&self, bot_id: Option<&str>, kind: &str, data: Value) {
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        // Numbered under the lock so `recent` stays in order.
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let ev = Event {
            seq,
            ts,
            bot_id: bot_id.map(str::to_string),
            kind: kind.to_string(),
            data,
        };
        recent.push_back(ev.clone());
        while recent.len() > self.keep {
            recent.pop_front();
        }
        drop(recent);
        // No subscribers is fine.
        let _ = self.tx.send(ev);
    }

    /// A receiver of every future event.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Kept events after `after` (a sequence number), for `bot` or for everyone (`None`).
    pub fn recent(&self, after: u64, bot: Option<&str>) -> Vec<Event> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent
            .iter()
            .filter(|e| e.seq > after && bot.is_none_or(|b| e.bot_id.as_deref() == Some(b)))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_filters_by_bot_and_sequence() {
        let bus = EventBus::new(3);
        let mut rx = bus.subscribe();
        bus.publish(Some("a"), "x", Value::Null);
        bus.publish(Some("b"), "y", Value::Null);
        bus.publish(None, "z", Value::Null);
        bus.publish(Some("a"), "w", Value::Null);
        let all = bus.recent(0, None);
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3, 4]);
        let a = bus.recent(0, Some("a"));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].kind, "w");
        assert_eq!(rx.try_recv().unwrap().kind, "x");
    }
}
