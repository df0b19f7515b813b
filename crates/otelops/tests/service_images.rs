//! The parker-booking and parker-fares container images
//! (deploy/docker/{booking,fares}.Dockerfile), built and run with the real
//! podman as deploy/docker/README.md says: FROM scratch with the binary cargo
//! built, the libraries ldd lists and a non-root user. Both containers run
//! as their Deployments do (read-only root, no capabilities, no privilege
//! escalation, the Deployment's memory limit, its `OTEL_*` ConfigMap and
//! `PARKER_*` values; host network on loopback ports instead of the cluster
//! names), booking on the real redis-server with the shipped redis.conf.
//! A flight is booked through booking → fares, the probes the Deployments
//! name answer, `podman stop` (SIGTERM, SIGKILL after the Deployment's
//! terminationGracePeriodSeconds) ends both with exit 0, and both services'
//! spans reach an `otelops receive` that wants the bearer token the
//! containers send in `OTEL_EXPORTER_OTLP_HEADERS`.
//! Without podman the test prints why and passes; `./scripts/test`
//! installs it.

mod common;
#[path = "common/podman.rs"]
mod podman;
#[path = "common/receive.rs"]
mod receive;
#[path = "common/services_deploy.rs"]
mod services_deploy;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/trace_test.rs"]
mod tt;

use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use podman::{Container, Podman};
use serde_json::Value;
use services_deploy::*;
use support::artifacts::Artifacts;
use support::wait_until;

/// The user the images and the Deployments run as (deploy/docker/passwd).
const UID: u32 = 65532;
/// What the receiver wants and the containers send (a test value; the
/// real one comes from the parker-otlp-headers Secret).
const TOKEN: &str = "service-images-test-token-0123456789abcdef";

struct Image {
    service: &'static str,
    tag: &'static str,
    deployment: &'static str,
}

const BOOKING: Image = Image {
    service: "parker-booking",
    tag: "parker-booking:0.1.0",
    deployment: "booking-deployment.yaml",
};
const FARES: Image = Image {
    service: "parker-fares",
    tag: "parker-fares:0.1.0",
    deployment: "fares-deployment.yaml",
};

/// `256Mi` → podman's `256m`.
fn podman_memory(limit: &str) -> String {
    let mib = limit
        .strip_suffix("Mi")
        .unwrap_or_else(|| panic!("memory limit {limit} is not in Mi"));
    format!("{mib}m")
}

/// The env file a container gets: the ConfigMap's `OTEL_*` pointed at the
/// receiver (plain gRPC on loopback instead of the collector's TLS
/// Service), the headers the Secret would hold, and `parker_env`.
fn env_file(
    dir: &std::path::Path,
    image: &Image,
    receiver_grpc: &str,
    parker_env: &[(String, String)],
) -> String {
    let mut lines = Vec::new();
    for (key, value) in otel_settings() {
        match key.as_str() {
            "OTEL_EXPORTER_OTLP_ENDPOINT" => lines.push(format!("{key}={receiver_grpc}")),
            "OTEL_EXPORTER_OTLP_CERTIFICATE" => {}
            _ => lines.push(format!("{key}={value}")),
        }
    }
    lines.push(format!(
        "OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20{TOKEN}"
    ));
    lines.extend(parker_env.iter().map(|(k, v)| format!("{k}={v}")));
    let path = dir.join(format!("{}.env", image.service));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .expect("creating the env file");
    std::io::Write::write_all(&mut file, (lines.join("\n") + "\n").as_bytes()).unwrap();
    path.display().to_string()
}

/// `podman run` as the Deployment runs the pod: read-only root, no
/// capabilities, no new privileges, its memory limit; `extra` flags before
/// the image.
fn start<'p>(podman: &'p Podman, image: &Image, env_file: &str, extra: &[&str]) -> Container<'p> {
    let d = manifest(image.deployment);
    let memory = podman_memory(
        container(&d)["resources"]["limits"]["memory"]
            .as_str()
            .unwrap(),
    );
    podman.start(
        image.service,
        &[
            "--network",
            "host",
            "--read-only",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--memory",
            &memory,
            "--env-file",
            env_file,
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .chain([image.tag])
        .collect::<Vec<_>>(),
    )
}

/// Every probe path the Deployment names answers 200 on `port` (≤ 30 s).
async fn wait_for_probes(image: &Image, port: u16, running: &Container<'_>) {
    let d = manifest(image.deployment);
    let client = reqwest::Client::new();
    for probe in ["livenessProbe", "readinessProbe"] {
        let path = container(&d)[probe]["httpGet"]["path"]
            .as_str()
            .unwrap()
            .to_owned();
        let url = format!("http://127.0.0.1:{port}{path}");
        wait_until(
            &format!("{} {probe} {url}", image.service),
            Duration::from_secs(30),
            || async {
                match client
                    .get(&url)
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => Ok(()),
                    Ok(r) => Err(format!("HTTP {}", r.status())),
                    Err(e) => Err(format!("{e}; logs:\n{}", running.logs())),
                }
            },
        )
        .await;
    }
}

/// The terminationGracePeriodSeconds of the image's Deployment.
fn grace(image: &Image) -> u64 {
    manifest(image.deployment)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds")
}

async fn receiver_json(receiver: &receive::Running, path: &str) -> Value {
    let url = receiver.http_url(path);
    let reply = reqwest::Client::new()
        .get(&url)
        .bearer_auth(TOKEN)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(reply.status().is_success(), "GET {url}: {}", reply.status());
    reply.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn service_images_book_a_flight_and_stop_within_the_grace_period() {
    let Some(bin) = podman::find() else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED service_images: podman is not installed (PODMAN unset, none on PATH); \
             ./scripts/test installs it (Debian packages podman and runc)"
        );
        return;
    };
    let art = Artifacts::new("service-images");
    let podman = Podman::new(bin);
    for image in [&BOOKING, &FARES] {
        podman.build_service_image(
            image.service,
            &common::parker_service(image.service),
            image.tag,
        );
        let config = podman.run(&[
            "image",
            "inspect",
            "--format",
            "{{.Config.User}} {{json .Config.Entrypoint}}",
            image.tag,
        ]);
        assert_eq!(
            config.trim(),
            format!(r#"{UID}:{UID} ["/{}"]"#, image.service)
        );
    }

    let receiver = receive::Running::start_with_env(
        &["--token-env", "SERVICE_IMAGES_TOKEN"],
        &[("SERVICE_IMAGES_TOKEN", TOKEN)],
    );
    let grpc = receiver.grpc_url();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("redis-data");
    std::fs::create_dir(&data).unwrap();
    let shipped = shipped_redis(dir.path());
    let redis = tt::Redis::start_with_conf(&shipped.conf, &data, &art);

    let fares_port = common::free_port();
    let fares_env = env_file(
        dir.path(),
        &FARES,
        &grpc,
        &[("PARKER_LISTEN".into(), format!("127.0.0.1:{fares_port}"))],
    );
    let fares = start(&podman, &FARES, &fares_env, &[]);
    wait_for_probes(&FARES, fares_port, &fares).await;

    // The Deployment's PARKER_* values, the cluster names swapped for loopback.
    let booking_port = common::free_port();
    let d = manifest(BOOKING.deployment);
    let mut parker_env: Vec<(String, String)> = container(&d)["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            Some((
                e["name"].as_str()?.to_owned(),
                e["value"].as_str()?.to_owned(),
            ))
        })
        .filter(|(k, _)| k.starts_with("PARKER_"))
        .collect();
    for (key, value) in &mut parker_env {
        *value = match key.as_str() {
            "PARKER_LISTEN" => format!("127.0.0.1:{booking_port}"),
            "PARKER_FARES_URL" => format!("http://127.0.0.1:{fares_port}"),
            "PARKER_REDIS_URL" => redis.url(),
            _ => continue,
        };
    }
    let booking_env = env_file(dir.path(), &BOOKING, &grpc, &parker_env);
    // Redis's password where the Deployment's Secret volume puts it, readable
    // by the container's user only.
    let in_container = env_value(&d, "PARKER_REDIS_PASSWORD_FILE");
    std::os::unix::fs::chown(&shipped.password_file, Some(UID), Some(UID)).unwrap();
    std::fs::set_permissions(
        &shipped.password_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o400),
    )
    .unwrap();
    let secret = format!("{}:{in_container}:ro", shipped.password_file.display());
    let booking = start(&podman, &BOOKING, &booking_env, &["--volume", &secret]);
    wait_for_probes(&BOOKING, booking_port, &booking).await;
    for running in [&booking, &fares] {
        let top = running.top(&["user"]);
        assert_eq!(top.lines().nth(1).map(str::trim), Some("nonroot"), "{top}");
    }

    let trace_id = format!(
        "{:032x}",
        std::process::id() as u128 * 7919 + 0x5e41_0000_0000
    );
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let booked = support::services::book_at(
        &format!("http://127.0.0.1:{booking_port}"),
        &traceparent,
        &art,
    )
    .await;
    art.note(&format!("booking {} booked in the containers", booked.id));

    for (image, running) in [(&BOOKING, &booking), (&FARES, &fares)] {
        let grace = grace(image);
        let started = Instant::now();
        let code = running.stop(grace);
        art.note(&format!(
            "{} stopped by SIGTERM in {:?} (grace {grace} s), exit {code}",
            image.service,
            started.elapsed()
        ));
        assert_eq!(
            code,
            0,
            "{} did not exit cleanly; logs:\n{}",
            image.service,
            running.logs()
        );
    }

    // The containers flushed on the way out: booking's request trace and
    // the worker's trace with fares' server spans are at the receiver.
    let trace = receiver_json(&receiver, &format!("/otelops/v1/traces/{trace_id}")).await;
    let spans = trace["spans"].as_array().expect("spans");
    assert!(
        spans.iter().any(|s| s["service"] == "parker-booking"
            && s["name"] == "POST /v1/bookings"
            && s["kind"] == "server"),
        "{trace}"
    );
    let list = receiver_json(&receiver, "/otelops/v1/traces").await;
    let worker = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["root_name"] == "process booking")
        .unwrap_or_else(|| panic!("no worker trace in {list}"));
    let worker = receiver_json(
        &receiver,
        &format!(
            "/otelops/v1/traces/{}",
            worker["trace_id"].as_str().unwrap()
        ),
    )
    .await;
    assert!(
        worker["spans"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["service"] == "parker-fares" && s["kind"] == "server"),
        "{worker}"
    );
}
