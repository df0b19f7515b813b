//! `http.server.request.duration` recorded through bound histograms.
//!
//! `Histogram::record` finds its data point by hashing every attribute
//! (SipHash over five keys and values) on each call: ~2.3k instructions, a
//! twentieth of what the booking API spends on a whole request. The
//! attribute sets of a server are few — routes × methods × statuses — so
//! each gets a `BoundHistogram` (opentelemetry's bound instruments, which
//! resolve the data point once) the first time it is seen, found again by
//! route and a linear scan of the handful of sets that route has seen.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{BoundHistogram, Histogram};
use opentelemetry_semantic_conventions::attribute as semconv;

/// Bound sets kept at most; past it, measurements take the unbound path
/// (and the SDK's own cardinality limit applies as usual).
const MAX_BOUND_SETS: usize = 1000;

/// The attributes of one measurement, besides the route.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    pub(crate) method: &'static str,
    pub(crate) scheme: &'static str,
    pub(crate) version: Option<&'static str>,
    /// `None`: the service failed without a response (`error.type=_OTHER`).
    pub(crate) status: Option<u16>,
}

impl Shape {
    fn attributes(&self, route: Option<&str>) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(6);
        attributes.push(KeyValue::new(semconv::HTTP_REQUEST_METHOD, self.method));
        attributes.push(KeyValue::new(semconv::URL_SCHEME, self.scheme));
        if let Some(route) = route {
            attributes.push(KeyValue::new(semconv::HTTP_ROUTE, route.to_owned()));
        }
        if let Some(version) = self.version {
            attributes.push(KeyValue::new(semconv::NETWORK_PROTOCOL_VERSION, version));
        }
        attributes.extend(status_attributes(self.status));
        attributes
    }
}

/// `http.response.status_code`, and `error.type` for a 5xx (the code) or
/// for no response at all (`_OTHER`, semconv's fallback): the same on the
/// server span and on the duration histogram.
pub(crate) fn status_attributes(status: Option<u16>) -> impl Iterator<Item = KeyValue> {
    let code =
        status.map(|code| KeyValue::new(semconv::HTTP_RESPONSE_STATUS_CODE, i64::from(code)));
    let error = match status {
        Some(code) if code >= 500 => Some(KeyValue::new(semconv::ERROR_TYPE, code.to_string())),
        Some(_) => None,
        None => Some(KeyValue::new(semconv::ERROR_TYPE, "_OTHER")),
    };
    code.into_iter().chain(error)
}

type Bound = Vec<(Shape, BoundHistogram<f64>)>;

/// The duration histogram and its bound attribute sets, by route (`None`:
/// no route matched).
#[derive(Clone)]
pub(crate) struct ServerDuration {
    histogram: Histogram<f64>,
    bound: Arc<RwLock<Sets>>,
}

#[derive(Default)]
struct Sets {
    by_route: HashMap<String, Bound>,
    unrouted: Bound,
    count: usize,
}

impl Sets {
    fn get(&self, route: Option<&str>) -> Option<&Bound> {
        match route {
            Some(route) => self.by_route.get(route),
            None => Some(&self.unrouted),
        }
    }
}

impl ServerDuration {
    pub(crate) fn new(histogram: Histogram<f64>) -> Self {
        ServerDuration {
            histogram,
            bound: Arc::default(),
        }
    }

    pub(crate) fn record(&self, seconds: f64, route: Option<&str>, shape: Shape) {
        // A poisoned lock only means a panic elsewhere mid-insert; the map
        // itself is still whole.
        let sets = self.bound.read().unwrap_or_else(|e| e.into_inner());
        if let Some((_, bound)) = sets
            .get(route)
            .and_then(|sets| sets.iter().find(|(s, _)| *s == shape))
        {
            bound.record(seconds);
            return;
        }
        let full = sets.count >= MAX_BOUND_SETS;
        drop(sets);
        let attributes = shape.attributes(route);
        if full {
            self.histogram.record(seconds, &attributes);
            return;
        }
        let bound = self.histogram.bind(&attributes);
        bound.record(seconds);
        let mut sets = self.bound.write().unwrap_or_else(|e| e.into_inner());
        let seen = sets
            .get(route)
            .is_some_and(|s| s.iter().any(|(s, _)| *s == shape));
        if !seen && sets.count < MAX_BOUND_SETS {
            sets.count += 1;
            let list = match route {
                Some(route) => sets.by_route.entry(route.to_owned()).or_default(),
                None => &mut sets.unrouted,
            };
            list.push((shape, bound));
        }
    }
}
