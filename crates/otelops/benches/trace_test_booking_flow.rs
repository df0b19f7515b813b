//! How long the shipped `tests/tracetest/booking-flow.yaml` takes once the
//! services are up: trigger sent → trace complete (default polling profile:
//! 500ms quiet period) → every spec evaluated. The booking system is
//! `otelops demo`'s (embedded receiver, parker-fares, the fault relay,
//! parker-booking on the memory store); spans are read over the receiver's
//! query API, as `otelops test run --receiver` does. Prints figures only.
//!
//!     cargo build --release -p parker-booking -p parker-fares
//!     cargo bench -p otelops --bench trace_test_booking_flow
//!
//! BENCH_RUNS (default 10) sets how many times the definition runs.
//! PARKER_BIN_DIR points at the services if they are not beside otelops.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use otelops::demo::flow::date_in;
use otelops::demo::{Demo, DemoConfig, Protocol};
use otelops::http_client::HttpClient;
use otelops::receive::client::TraceSource;
use otelops::trace_test::capture::{Collector, Polling};
use otelops::trace_test::definition;
use otelops::trace_test::run::Runner;

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let bin_dir = std::env::var_os("PARKER_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_BIN_EXE_otelops"))
                .parent()
                .expect("otelops lives in a directory")
                .to_path_buf()
        });
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let failure = definition::load(&repo.join("tests/tracetest/provider-failure.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let flow = definition::load(&repo.join("tests/tracetest/booking-flow.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let work = tempfile::tempdir().expect("a temporary directory");
    let any = "127.0.0.1:0".parse().expect("loopback");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let demo = Demo::start(DemoConfig {
            bin_dir,
            work_dir: work.path().to_path_buf(),
            grpc_listen: any,
            http_listen: any,
            booking_listen: any,
            fares_listen: any,
            protocol: Protocol::HttpProtobuf,
            timeout: Duration::from_secs(20),
        })
        .await
        .unwrap_or_else(|e| panic!("cannot start the booking system: {e} (build the services first, see the doc comment)"));
        let endpoints = demo.endpoints();
        let runner = Runner {
            http: HttpClient::loopback(Duration::from_secs(10)),
            collector: Collector::Receiver(TraceSource::Receiver {
                base_url: endpoints.otlp_http.clone(),
                client: HttpClient::loopback(Duration::from_secs(10)),
            }),
            polling: Polling {
                retry_delay: Duration::from_millis(500),
                timeout: Duration::from_secs(60),
            },
            env: &|_| None,
        };
        let mut times = Vec::new();
        // The relay fails the first order: let provider-failure take it, so
        // every measured booking-flow run is the clean path.
        for n in 0..=runs {
            let mut vars = BTreeMap::from([
                ("PARKER_BOOKING_URL".to_owned(), endpoints.booking.clone()),
                ("DEPARTURE_FROM".to_owned(), date_in(30)),
                ("DEPARTURE_TO".to_owned(), date_in(36)),
                ("BOOKING_KEY".to_owned(), format!("bench-{n}-{}", std::process::id())),
            ]);
            let definition = if n == 0 { &failure } else { &flow };
            let result = runner
                .run(definition, &mut vars)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", definition.name));
            assert!(result.passed, "{}", otelops::trace_test::report::render_text(&result));
            if n == 0 {
                println!("provider-failure.yaml (warm-up): {:.0} ms, {} spans", result.duration_ms, result.spans);
            } else {
                times.push(result.duration_ms);
            }
        }
        times.sort_by(f64::total_cmp);
        println!(
            "booking-flow.yaml, {} runs after the services are up: median {:.0} ms, min {:.0} ms, max {:.0} ms (quiet period 500 ms)",
            times.len(),
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        );
        demo.stop().await;
    });
}
