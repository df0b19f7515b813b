//! The threads that batch, encode and send telemetry run niced below the
//! application's threads (so a request that wakes preempts an export), and
//! no application thread is lowered. Read from the kernel: the nice value
//! of every thread of this process in /proc/self/task.
#![cfg(target_os = "linux")]

mod common;

use parker_telemetry::ServiceInfo;
use parker_telemetry::export::EXPORT_NICE_OFFSET;
use parker_telemetry::testing::OtlpSink;
use std::time::Duration;

/// (thread name as the kernel shows it, nice value) of every thread.
fn threads() -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").expect("read /proc/self/task") {
        let path = task.expect("task entry").path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(path.join("comm")),
            std::fs::read_to_string(path.join("stat")),
        ) else {
            continue; // the thread ended meanwhile
        };
        out.push((comm.trim().to_owned(), nice_of(&stat)));
    }
    out
}

/// Field 19 of a stat line (after the parenthesised name: index 16).
fn nice_of(stat: &str) -> i32 {
    let after = stat.rsplit_once(')').expect("stat has a name").1;
    after
        .split_whitespace()
        .nth(16)
        .and_then(|n| n.parse().ok())
        .expect("stat has a nice field")
}

fn own_nice() -> i32 {
    nice_of(&std::fs::read_to_string("/proc/thread-self/stat").expect("read own stat"))
}

#[tokio::test(flavor = "current_thread")]
async fn export_threads_run_niced_below_the_application() {
    let base = own_nice();
    let expected = (base + EXPORT_NICE_OFFSET).min(19);
    let sink = OtlpSink::start().await;
    let config = common::fast_config("grpc", &sink.grpc_endpoint(), &[]);
    let guard = parker_telemetry::build(ServiceInfo::new("booking", "1.0.0"), &config)
        .expect("build telemetry");
    {
        let _subscriber = tracing::subscriber::set_default(guard.subscriber());
        tracing::info_span!("book flight").in_scope(|| tracing::info!("booked"));
    }
    sink.wait_for_spans(|s| !s.is_empty(), Duration::from_secs(10))
        .await;
    // The span's batch went through the SDK's batch thread and our export
    // runtime; the kernel truncates names to 15 bytes.
    let all = threads();
    for name in ["OpenTelemetry.T", "parker-telemetr"] {
        let found: Vec<_> = all.iter().filter(|(n, _)| n == name).collect();
        assert!(!found.is_empty(), "no {name}* thread among {all:?}");
        for (n, nice) in found {
            assert_eq!(*nice, expected, "{n}: nice {nice}, base {base}");
        }
    }
    // The test's own thread (an application thread that built and used
    // the pipeline) keeps its priority.
    assert_eq!(own_nice(), base);
    drop(guard);
}
