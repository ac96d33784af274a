//! Activity events (uploads, deletions, fetches, evictions, repository changes), published on the
//! `TtlCache` pub/sub channel so a subscriber on any replica sees events from all of them.
use futures::StreamExt;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::ports::{Clock, PortError, TtlCache};

const CHANNEL: &str = "events";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// `upload`, `delete`, `fetch`, `evict`, `flush`, `repository_created`, `repository_deleted`,
    /// `repository_replaced`; `gc` and `gc_dry_run` once per garbage collection run (with an
    /// empty repository: a run covers the whole instance).
    pub kind: String,
    pub repository: String,
    pub path: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
    /// `gc`: blobs and stray objects deleted (or, in a dry run, that would be).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobs_deleted: Option<u64>,
    /// `gc`: bytes they held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_freed: Option<u64>,
}

pub struct EventBus {
    cache: Arc<dyn TtlCache>,
    clock: Arc<dyn Clock>,
}

impl EventBus {
    pub fn new(cache: Arc<dyn TtlCache>, clock: Arc<dyn Clock>) -> Self {
        Self { cache, clock }
    }

    /// Best effort: an event that cannot be published is logged, never fails the operation.
    pub async fn publish(&self, kind: &str, repository: &str, path: Option<&str>) {
        let event = Event {
            kind: kind.to_string(),
            repository: repository.to_string(),
            path: path.map(str::to_string),
            at: self.clock.now(),
            blobs_deleted: None,
            bytes_freed: None,
        };
        self.send(&event).await;
    }

    /// The end of a garbage collection run.
    pub async fn publish_gc(&self, report: &crate::app::gc::GcReport) {
        let event = Event {
            kind: if report.dry_run { "gc_dry_run" } else { "gc" }.to_string(),
            repository: String::new(),
            path: None,
            at: self.clock.now(),
            blobs_deleted: Some(report.blobs_deleted + report.stray_objects_deleted),
            bytes_freed: Some(report.bytes_freed),
        };
        self.send(&event).await;
    }

    async fn send(&self, event: &Event) {
        match serde_json::to_string(event) {
            Ok(json) => {
                if let Err(e) = self.cache.publish(CHANNEL, &json).await {
                    tracing::warn!(error = %e, kind = event.kind, "event not published");
                }
            }
            Err(e) => tracing::warn!(error = %e, "event not serialisable"),
        }
    }

    /// Events from now on, from every replica; malformed messages are skipped.
    pub async fn subscribe(&self) -> Result<BoxStream<'static, Event>, PortError> {
        let messages = self.cache.subscribe(CHANNEL).await?;
        Ok(messages
            .filter_map(|m| async move { serde_json::from_str::<Event>(&m).ok() })
            .boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::clock::MockClock;
    use crate::ports::ttl_cache::MockTtlCache;

    #[tokio::test]
    async fn publishes_json_and_decodes_what_it_receives() {
        let mut cache = MockTtlCache::new();
        cache
            .expect_publish()
            .withf(|channel, msg| {
                channel == CHANNEL && msg.contains(r#""kind":"upload""#) && msg.contains(r#""path":"a.txt""#)
            })
            .times(1)
            .returning(|_, _| Ok(()));
        let good = serde_json::to_string(&Event {
            kind: "delete".into(),
            repository: "r".into(),
            path: None,
            at: chrono::Utc::now(),
            blobs_deleted: None,
            bytes_freed: None,
        })
        .unwrap();
        cache
            .expect_subscribe()
            .returning(move |_| Ok(futures::stream::iter(vec!["not json".to_string(), good.clone()]).boxed()));
        let mut clock = MockClock::new();
        clock.expect_now().returning(chrono::Utc::now);
        let bus = EventBus::new(Arc::new(cache), Arc::new(clock));
        bus.publish("upload", "r", Some("a.txt")).await;
        let received: Vec<Event> = bus.subscribe().await.unwrap().collect().await;
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].kind, "delete");
    }
}
