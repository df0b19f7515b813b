//! The tracer of the current `tracing` subscriber, for instrumentation that
//! starts OpenTelemetry spans directly instead of through `tracing`.
//!
//! The HTTP server span is made with the OpenTelemetry API rather than as a
//! `tracing` span: through tracing-opentelemetry a span costs ~2 µs (every
//! field visited and copied, extensions locked on each enter and exit),
//! directly ~0.3 µs, and the server span is the one every request pays for.
//! But the tracer must be the one of the subscriber in effect, not a global:
//! `Capture` installs its pipeline per thread so parallel tests do not see
//! each other's spans, and a process may run with no subscriber at all. So
//! [`guard::span_layer`](crate::guard::span_layer) carries its tracer in a
//! [`TracerLayer`] that only answers `downcast_raw`, and
//! [`with_current_tracer`] finds it through the current dispatcher.
//!
//! The span's context is then attached (`opentelemetry::Context::attach`)
//! while the request is handled; tracing-opentelemetry parents contextual
//! `tracing` spans on the current OpenTelemetry context and the logs bridge
//! stamps log records with it, so handler spans and logs join the trace.

use std::any::TypeId;

use opentelemetry_sdk::trace::SdkTracer;
use tracing::Subscriber;
use tracing_subscriber::Layer;

/// A layer that does nothing but hold the tracer of the span layer it sits
/// beside, so [`with_current_tracer`] can find it.
pub struct TracerLayer {
    tracer: SdkTracer,
}

impl TracerLayer {
    pub(crate) fn new(tracer: SdkTracer) -> Self {
        TracerLayer { tracer }
    }
}

impl<S: Subscriber> Layer<S> for TracerLayer {
    // SAFETY: the pointer returned for `TypeId::of::<SdkTracer>()` points to
    // an `SdkTracer` that lives as long as `self`, as `downcast_raw` requires.
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        match id {
            id if id == TypeId::of::<Self>() => Some(self as *const Self as *const ()),
            id if id == TypeId::of::<SdkTracer>() => {
                Some(&self.tracer as *const SdkTracer as *const ())
            }
            _ => None,
        }
    }
}

/// Runs `f` with the tracer of the current subscriber's span layer; `None`
/// when there is none (telemetry disabled, or no subscriber installed).
pub(crate) fn with_current_tracer<R>(f: impl FnOnce(&SdkTracer) -> R) -> Option<R> {
    // `get_default` takes an `FnMut`; it calls it once.
    let mut f = Some(f);
    tracing::dispatcher::get_default(|dispatch| {
        let tracer = dispatch.downcast_ref::<SdkTracer>()?;
        f.take().map(|f| f(tracer))
    })
}
