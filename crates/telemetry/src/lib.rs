//! parker-telemetry: one call to set up traces, metrics and logs for a Parker Flight service.
