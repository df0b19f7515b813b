//! What a `tracing` event becomes as an OpenTelemetry log record: the code
//! location in `code.file.path`/`code.line.number` (not in the event name,
//! which only an explicitly named event has) and the time it was emitted.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::logs::AnyValue;
use parker_telemetry::ServiceInfo;
use parker_telemetry::testing::{Capture, OtlpSink};

const WAIT: Duration = Duration::from_secs(10);

fn unix_nanos(t: SystemTime) -> u64 {
    let nanos = t.duration_since(UNIX_EPOCH).expect("after 1970").as_nanos();
    u64::try_from(nanos).expect("fits until 2554")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_records_carry_location_attributes_and_time_not_an_event_name() {
    let sink = OtlpSink::start().await;
    let config = common::fast_config("grpc", &sink.grpc_endpoint(), &[]);
    let guard =
        parker_telemetry::build(ServiceInfo::new("fares", "1.0.0"), &config).expect("build");
    let before = SystemTime::now();
    let line = {
        let _subscriber = tracing::subscriber::set_default(guard.subscriber());
        let line = line!() + 1;
        tracing::info!(offers = 3, "offers searched");
        tracing::info!(name: "booking.done", "booking done");
        line
    };
    let after = SystemTime::now();

    let logs = sink.wait_for_logs(|l| l.len() >= 2, WAIT).await;
    let plain = logs
        .iter()
        .find(|r| r.body == "offers searched")
        .expect("the plain event's record");
    assert_eq!(plain.event_name, "", "{plain:?}");
    assert_eq!(plain.attributes["code.file.path"], file!());
    assert_eq!(plain.attributes["code.line.number"], line.to_string());
    assert_eq!(plain.attributes["offers"], "3");
    assert!(
        (unix_nanos(before)..=unix_nanos(after)).contains(&plain.time_unix_nano),
        "time {} not between {before:?} and {after:?}",
        plain.time_unix_nano
    );
    assert_eq!(plain.observed_time_unix_nano, plain.time_unix_nano);

    // A named event keeps its name: that is what event names are for.
    let named = logs
        .iter()
        .find(|r| r.body == "booking done")
        .expect("the named event's record");
    assert_eq!(named.event_name, "booking.done");
    assert!(named.time_unix_nano >= plain.time_unix_nano, "{named:?}");

    let shutdown = tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .expect("join");
    assert!(shutdown.is_ok(), "{shutdown:?}");
}

/// `Capture` builds its records the same way, with the line number an
/// integer as the semantic conventions type it.
#[test]
fn captured_records_have_an_integer_line_number_and_no_event_name() {
    let capture = Capture::install();
    let line = line!() + 1;
    tracing::warn!("fare provider slow");
    let logs = capture.logs();
    let record = &logs.first().expect("one record").record;
    assert_eq!(record.event_name(), None);
    assert!(record.timestamp().is_some());
    let attribute = |key: &str| {
        record
            .attributes_iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        attribute("code.line.number"),
        Some(AnyValue::Int(i64::from(line)))
    );
    assert_eq!(
        attribute("code.file.path"),
        Some(AnyValue::String(file!().into()))
    );
}
