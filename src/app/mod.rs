//! Use cases, one per file. They hold `Arc<dyn Port>` and never name an adapter.
