//! `otelops demo`: Parker Flight on one machine, end to end. Starts the
//! embedded OTLP receiver, `parker-fares` and `parker-booking` (child
//! processes, loopback only, telemetry pointed at the receiver), drives a
//! booking flow with exactly one provider failure that the worker retries,
//! then runs the three compliance checks on what arrived.
//!
//! Start at [`Demo::start`], then [`Demo::drive`] (returns a [`DemoReport`]),
//! then [`Demo::stop`]. Layout: [`services`] (child processes), [`relay`]
//! (the one injected fault), [`flow`] (the travellers), [`traces`] (which
//! trace to show), [`render`] (the text report). Invariant: no child
//! outlives the demo, and nothing listens beyond loopback.

pub mod flow;
pub mod relay;
pub mod render;
pub mod services;
pub mod traces;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::check::trace_context::{TraceContextError, TraceContextOptions, run_trace_context};
use crate::check::{Report, export_format, input, semconv};
use crate::http_client::HttpClient;
use crate::receive::{ReceiveError, Receiver, ReceiverConfig, ReceiverHandle, Summary};
use crate::semconv_registry;

use flow::BookingOutcome;
use relay::{InjectedFault, Relay};
use services::{Service, ServiceError, ServiceSpec};
use traces::ShownTrace;

/// How the services export to the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub enum Protocol {
    #[value(name = "http/protobuf")]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    #[value(name = "grpc")]
    #[serde(rename = "grpc")]
    Grpc,
}

/// Everything [`Demo::start`] needs. Port 0 means "pick a free one".
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Where `parker-fares` and `parker-booking` are.
    pub bin_dir: PathBuf,
    /// Service logs and the received telemetry (`telemetry.jsonl`) go here.
    pub work_dir: PathBuf,
    pub grpc_listen: SocketAddr,
    pub http_listen: SocketAddr,
    pub booking_listen: SocketAddr,
    pub fares_listen: SocketAddr,
    pub protocol: Protocol,
    /// Bound on each wait: services ready, bookings final, traces received.
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("refusing to listen on {addr} ({what}): the demo only uses loopback addresses")]
    NotLoopback {
        what: &'static str,
        addr: SocketAddr,
    },
    #[error("cannot prepare the work directory {}: {error}", path.display())]
    WorkDir {
        path: PathBuf,
        error: std::io::Error,
    },
    // Not a #[source]: the receiver's message already ends with its cause,
    // and a report of the chain would print it twice.
    #[error("{0} (move it with --port-base, --grpc-listen or --http-listen)")]
    Receiver(ReceiveError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("cannot start the fault relay on loopback: {0}")]
    Relay(std::io::Error),
    #[error("cannot find a free loopback port for {what}: {error}")]
    Port {
        what: &'static str,
        error: std::io::Error,
    },
    #[error("the booking flow did not complete")]
    Flow(#[from] flow::FlowError),
    #[error(
        "the receiver did not get every booking's traces within {}s \
         ({spans} spans received); see the service logs in {}",
        waited.as_secs(), work_dir.display()
    )]
    Traces {
        waited: Duration,
        spans: u64,
        work_dir: PathBuf,
    },
    #[error("check trace-context against parker-booking's /test could not run")]
    TraceContext(#[source] anyhow::Error),
    // Not a #[source]: the message already carries its cause.
    #[error("reading what the receiver wrote: {0}")]
    Input(input::InputError),
}

/// Where everything listens, for the user to keep exploring.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoints {
    pub booking: String,
    pub fares: String,
    /// What parker-booking calls as its fare provider (passes through to fares).
    pub fares_relay: String,
    pub otlp_grpc: String,
    pub otlp_http: String,
    pub protocol: Protocol,
    pub work_dir: String,
    pub telemetry_jsonl: String,
    /// The web view of what the receiver holds.
    pub ui: String,
}

/// The failure the demo injected, and whose booking it hit.
#[derive(Debug, Clone, Serialize)]
pub struct FaultReport {
    #[serde(flatten)]
    pub fault: InjectedFault,
    pub traveller: String,
    pub booking_status: String,
}

/// What one run found: the bookings, the injected failure, the trace
/// shown, the checks' reports.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub bookings: Vec<BookingOutcome>,
    pub injected_failure: Option<FaultReport>,
    pub trace: ShownTrace,
    pub checks: Vec<Report>,
    pub endpoints: Endpoints,
    pub received: Summary,
}

impl DemoReport {
    /// Every booking final, exactly one failure injected, and its booking
    /// retried into `booked`.
    pub fn flow_completed(&self) -> bool {
        self.bookings.iter().all(BookingOutcome::is_final)
            && self
                .injected_failure
                .as_ref()
                .is_some_and(|f| f.booking_status == "booked")
    }

    pub fn violations(&self) -> usize {
        self.checks.iter().map(|r| r.violations).sum()
    }

    /// What `--once` exits 0 on.
    pub fn passed(&self) -> bool {
        self.flow_completed() && self.violations() == 0
    }
}

/// A running demo. Dropping it kills the services; [`Demo::stop`] stops
/// them gracefully and returns the receiver's summary.
#[derive(Debug)]
pub struct Demo {
    receiver: ReceiverHandle,
    relay: Relay,
    booking: Service,
    fares: Service,
    config: DemoConfig,
    jsonl: PathBuf,
    http: HttpClient,
}

impl Demo {
    /// Starts the receiver, fares, the relay and booking, each ready before
    /// the next. Must run on the thread that outlives the demo (see
    /// [`Service::spawn`]).
    pub async fn start(config: DemoConfig) -> Result<Demo, DemoError> {
        for (what, addr) in [
            ("OTLP/gRPC", config.grpc_listen),
            ("OTLP/HTTP", config.http_listen),
            ("parker-booking", config.booking_listen),
            ("parker-fares", config.fares_listen),
        ] {
            if !addr.ip().is_loopback() {
                return Err(DemoError::NotLoopback { what, addr });
            }
        }
        // Both binaries are checked before anything starts, so a missing
        // one is the only thing the user reads.
        let fares_bin = services::locate(&config.bin_dir, "parker-fares")?;
        let booking_bin = services::locate(&config.bin_dir, "parker-booking")?;
        let jsonl = fresh_jsonl(&config.work_dir)?;
        let receiver = Receiver::start(ReceiverConfig {
            jsonl: Some(jsonl.clone()),
            ui: true,
            ..ReceiverConfig::new(config.grpc_listen, config.http_listen)
        })
        .await
        .map_err(DemoError::Receiver)?;
        let endpoint = match config.protocol {
            Protocol::Grpc => format!("http://{}", receiver.grpc_addr()),
            Protocol::HttpProtobuf => format!("http://{}", receiver.http_addr()),
        };
        let telemetry_env = telemetry_env(&endpoint, config.protocol);
        let http = HttpClient::loopback(Duration::from_secs(10));

        let fares_listen = concrete(config.fares_listen, "parker-fares")?;
        let mut fares = Service::spawn(ServiceSpec {
            name: "parker-fares",
            binary: fares_bin,
            listen: fares_listen,
            env: telemetry_env.clone(),
            dir: config.work_dir.clone(),
        })?;
        fares.ready(&http).await?;
        let relay = Relay::start(SocketAddr::new(fares_listen.ip(), 0), fares_listen)
            .await
            .map_err(DemoError::Relay)?;
        let mut booking = Service::spawn(ServiceSpec {
            name: "parker-booking",
            binary: booking_bin,
            listen: concrete(config.booking_listen, "parker-booking")?,
            env: booking_env(telemetry_env, relay.listen),
            dir: config.work_dir.clone(),
        })?;
        booking.ready(&http).await?;
        Ok(Demo {
            receiver,
            relay,
            booking,
            fares,
            config,
            jsonl,
            http,
        })
    }

    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            booking: self.booking.url(),
            fares: self.fares.url(),
            fares_relay: format!("http://{}", self.relay.listen),
            otlp_grpc: self.receiver.grpc_addr().to_string(),
            otlp_http: format!("http://{}", self.receiver.http_addr()),
            protocol: self.config.protocol,
            work_dir: self.config.work_dir.display().to_string(),
            telemetry_jsonl: self.jsonl.display().to_string(),
            ui: crate::ui::url(self.receiver.http_addr()),
        }
    }

    /// The flow, then the traces, then the checks.
    pub async fn drive(&self) -> Result<DemoReport, DemoError> {
        let bookings = flow::run(
            &self.http,
            self.booking.listen,
            &flow::TRIPS,
            self.config.timeout,
        )
        .await?;
        let injected_failure = self.relay.injected().map(|fault| {
            let booking = bookings.iter().find(|b| b.id == fault.order_key);
            FaultReport {
                traveller: booking.map(|b| b.traveller.clone()).unwrap_or_default(),
                booking_status: booking.map(|b| b.status.clone()).unwrap_or_default(),
                fault,
            }
        });
        // Before the traces are awaited: its requests are telemetry too,
        // and the wait below lets their spans arrive before the file checks.
        let trace_context = self.trace_context().await?;
        let ids: Vec<String> = bookings.iter().map(|b| b.id.clone()).collect();
        let store = self.receiver.store();
        let faulted = injected_failure
            .as_ref()
            .map(|f| f.fault.order_key.as_str());
        let trace = traces::wait_and_pick(store, &ids, faulted, self.config.timeout)
            .await
            .ok_or_else(|| DemoError::Traces {
                waited: self.config.timeout,
                spans: store.accepted_spans(),
                work_dir: self.config.work_dir.clone(),
            })?;
        let mut checks = self.file_checks()?;
        checks.push(trace_context);
        Ok(DemoReport {
            bookings,
            injected_failure,
            trace,
            checks,
            endpoints: self.endpoints(),
            received: store.summary(),
        })
    }

    /// trace-context: the W3C test-service protocol against booking's `/test`.
    async fn trace_context(&self) -> Result<Report, DemoError> {
        let target = crate::http_client::Url::parse(&format!("{}/test", self.booking.url()))
            .map_err(|e| DemoError::TraceContext(e.into()))?;
        run_trace_context(&target, &TraceContextOptions::default())
            .await
            .map(|r| r.report())
            .map_err(|e: TraceContextError| DemoError::TraceContext(e.into()))
    }

    /// export-format and semantic-conventions on the OTLP/JSON copy of every
    /// request the receiver accepted.
    fn file_checks(&self) -> Result<Vec<Report>, DemoError> {
        let documents = input::load(&self.jsonl).map_err(DemoError::Input)?;
        Ok(vec![
            Report::new("export-format", 1, export_format::check(&documents)),
            Report::new(
                "semantic-conventions",
                1,
                semconv::check(semconv_registry::embedded(), &documents),
            ),
        ])
    }

    /// Booking first (it drains its worker and flushes), then fares, then
    /// the receiver, whose summary counts everything they sent.
    pub async fn stop(self) -> Summary {
        let grace = Duration::from_secs(5);
        self.booking.stop(grace).await;
        self.fares.stop(grace).await;
        self.receiver.shutdown().await
    }
}

/// A work directory that exists, and the path of its (emptied) copy of
/// the received telemetry.
fn fresh_jsonl(work_dir: &std::path::Path) -> Result<PathBuf, DemoError> {
    let err = |error| DemoError::WorkDir {
        path: work_dir.to_path_buf(),
        error,
    };
    std::fs::create_dir_all(work_dir).map_err(err)?;
    let jsonl = work_dir.join("telemetry.jsonl");
    match std::fs::remove_file(&jsonl) {
        Ok(()) => Ok(jsonl),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(jsonl),
        Err(e) => Err(err(e)),
    }
}

/// Booking's variables: telemetry, fares through the relay, the W3C test
/// endpoint on, and quick expiry of a trip with no offer in its window (in
/// seconds instead of the production half hour).
fn booking_env(mut env: Vec<(String, String)>, relay: SocketAddr) -> Vec<(String, String)> {
    env.extend(
        [
            ("PARKER_FARES_URL", format!("http://{relay}")),
            ("PARKER_ENABLE_TEST_ENDPOINT", "true".to_owned()),
            ("PARKER_RECHECK_MS", "500".to_owned()),
            ("PARKER_MAX_SEARCHES", "3".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    env
}

/// The variables that point a service's telemetry at the receiver, with
/// short batch delays so a demo does not wait five seconds per export.
fn telemetry_env(endpoint: &str, protocol: Protocol) -> Vec<(String, String)> {
    let protocol = match protocol {
        Protocol::Grpc => "grpc",
        Protocol::HttpProtobuf => "http/protobuf",
    };
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "100"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "2000"),
        ("PARKER_ENVIRONMENT", "development"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A child is told a concrete port: port 0 becomes a free one.
fn concrete(addr: SocketAddr, what: &'static str) -> Result<SocketAddr, DemoError> {
    if addr.port() != 0 {
        return Ok(addr);
    }
    services::free_port(addr.ip()).map_err(|error| DemoError::Port { what, error })
}
