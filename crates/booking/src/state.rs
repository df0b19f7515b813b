//! What request handlers share.

use std::sync::Arc;

use parker_telemetry::http::TracedClient;
use tokio::sync::Notify;

use crate::metrics::Metrics;

pub struct AppState<S> {
    pub store: S,
    pub metrics: Metrics,
    /// Wakes the local worker after a create, so a new booking does not
    /// wait for the next poll.
    pub wake: Arc<Notify>,
    /// Present when `POST /test` is enabled.
    pub test_client: Option<TracedClient>,
}

impl<S: Clone> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            wake: self.wake.clone(),
            test_client: self.test_client.clone(),
        }
    }
}
