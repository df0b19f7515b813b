//! The otelcol-parker container image (deploy/docker/Dockerfile), built and
//! run with the real podman exactly as deploy/docker/README.md says: the
//! image holds only the static collector, the CA bundle and the non-root
//! user; each rendered profile starts in it (read-only, 1 GiB memory limit,
//! host network) and `otelops health --collector 127.0.0.1` passes against it;
//! in production, a service's spans go through it from TLS + token in to
//! TLS + token out.
//!
//! The containers share the host's network, so the profiles listen on the
//! host's loopback on their fixed ports (4317, 4318, 13133, 8888, 55679,
//! 1777): the tests here take turns, check those ports are free first, and
//! no other test uses them (they all pick free ports). Without podman the
//! podman tests print why and pass; `./scripts/test` installs it.

mod common;
#[path = "common/podman.rs"]
mod podman;
#[path = "common/telemetry.rs"]
mod telemetry;

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use common::{closed_port, otelcol_parker, otelops, repo_root};
use otelops::collector_config::model::CollectorConfig;
use otelops::collector_config::profile::{Profile, referenced_env_vars, render};
use otelops::health::CheckKind;
use parker_telemetry::ServiceInfo;
use parker_telemetry::testing::{OtlpSink, SinkTls};
use podman::{Container, Podman};
use telemetry::config_from;

const TAG: &str = "otelcol-parker:0.161.0-parker";
/// The image's user (distroless "nonroot", the Deployment's runAsUser).
const UID: u32 = 65532;
const CONFIG_MOUNT: &str = "/etc/otelcol-parker/config.yaml:ro";

/// Every README `podman run`: the host's loopback is the only network, the
/// root filesystem is read-only, memory_limiter's 80 %/20 % are of 1 GiB.
const RUN_FLAGS: &[&str] = &[
    "--network",
    "host",
    "--read-only",
    "--memory",
    "1g",
    "-e",
    "OTELCOL_BIND=127.0.0.1",
];
/// The production run adds these (paths inside the container).
const PRODUCTION_ENV: &[&str] = &[
    "-e",
    "OTELCOL_TLS_CERT_FILE=/etc/otelcol-parker/tls/tls.crt",
    "-e",
    "OTELCOL_TLS_KEY_FILE=/etc/otelcol-parker/tls/tls.key",
    "-e",
    "OTELCOL_EXPORT_CA_FILE=/etc/otelcol-parker/tls/backend-ca.crt",
    "-e",
    "OTELCOL_QUEUE_DIR=/var/lib/otelcol/queue",
    "-e",
    "OTELCOL_INGEST_TOKEN_FILE=/etc/otelcol-parker/tokens/ingest.token",
];
const HEALTH: &[&str] = &["health", "--collector", "127.0.0.1"];
/// Production's OTLP ports speak TLS and want the ingest token: `otelops
/// health` trusts the receivers' certificate and reads the token from a
/// 0600 file (paths relative to the README's working directory).
const PRODUCTION_HEALTH_FLAGS: &[&str] = &[
    "--cacert",
    "tls/ca.crt",
    "--token-file",
    "tokens/ingest.token",
];

/// The profiles' ports are fixed and shared through the host network: one
/// container at a time.
static FIXED_PORTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A podman with the image built, or `None` (and why, on stderr) when
/// podman is not installed.
fn podman_with_image() -> Option<Podman> {
    let Some(bin) = podman::find() else {
        // Straight to stderr, past the test harness's capture, so the skip shows.
        use std::io::Write;
        let test = std::thread::current().name().unwrap_or("?").to_owned();
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: podman is not installed (PODMAN unset, none on PATH); \
             ./scripts/test installs it (Debian packages podman and runc)"
        );
        return None;
    };
    let podman = Podman::new(bin);
    podman.build_collector_image(TAG);
    Some(podman)
}

#[test]
fn image_holds_only_the_static_collector_the_ca_bundle_and_the_non_root_user() {
    let Some(podman) = podman_with_image() else {
        return;
    };
    let config = podman.run(&[
        "image",
        "inspect",
        "--format",
        "{{.Config.User}} {{json .Config.Entrypoint}} {{json .Config.Cmd}}",
        TAG,
    ]);
    assert_eq!(
        config.trim(),
        format!(
            r#"{UID}:{UID} ["/otelcol-parker"] ["--config","/etc/otelcol-parker/config.yaml"]"#
        )
    );

    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("image.tar");
    podman.run(&["create", "--name", "exported", TAG]);
    podman.run(&["export", "--output", tar.to_str().unwrap(), "exported"]);
    let listing = tar_tool(&["-tf", tar.to_str().unwrap()]);
    let mut files: Vec<&str> = listing.lines().filter(|l| !l.ends_with('/')).collect();
    files.sort();
    assert_eq!(
        files,
        [
            "etc/group",
            "etc/passwd",
            "etc/ssl/certs/ca-certificates.crt",
            "otelcol-parker"
        ]
    );
    tar_tool(&[
        "-xf",
        tar.to_str().unwrap(),
        "-C",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        std::fs::read(dir.path().join("otelcol-parker")).unwrap()
            == std::fs::read(otelcol_parker()).unwrap(),
        "the image's /otelcol-parker is not the collector under test"
    );
    assert!(
        std::fs::read(dir.path().join("etc/ssl/certs/ca-certificates.crt")).unwrap()
            == std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap(),
        "the image's CA bundle is not Debian's"
    );
    let passwd = std::fs::read_to_string(dir.path().join("etc/passwd")).unwrap();
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with(&format!("nonroot:x:{UID}:{UID}:"))),
        "{passwd}"
    );

    // No libc, no shell: the binary runs on its own.
    let version = podman.run(&["run", "--rm", "--network", "host", TAG, "--version"]);
    assert_eq!(version.trim(), "otelcol-parker version 0.161.0-parker");
}

fn tar_tool(args: &[&str]) -> String {
    let out = common::run_bounded(
        std::process::Command::new("tar").args(args),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "tar {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The loopback ports `profile` listens on (all fixed in the rendered file).
fn fixed_ports(profile: Profile) -> Vec<u16> {
    let c: CollectorConfig = render(profile);
    let mut endpoints = vec![
        c.receivers.otlp.protocols.grpc.endpoint.clone(),
        c.receivers.otlp.protocols.http.endpoint.clone(),
        c.extensions.health_check.endpoint.clone(),
        c.extensions.zpages.endpoint.clone(),
    ];
    endpoints.extend(c.extensions.pprof.as_ref().map(|p| p.endpoint.clone()));
    let mut ports: Vec<u16> = endpoints
        .iter()
        .map(|e| {
            let port = e.rsplit(':').next().unwrap_or_default();
            port.parse()
                .unwrap_or_else(|_| panic!("{profile}: endpoint {e} has no port"))
        })
        .collect();
    ports.push(
        c.service.telemetry.metrics.readers[0]
            .pull
            .exporter
            .prometheus
            .port,
    );
    ports
}

fn assert_ports_free(profile: Profile) {
    for port in fixed_ports(profile) {
        if let Err(e) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            panic!(
                "127.0.0.1:{port} is taken ({e}): deploy/collector/{profile}.yaml listens there \
                 and the container shares the host's network; stop what holds the port"
            );
        }
    }
}

/// A loopback backend address nothing listens on: the exporter retries
/// quietly there.
fn no_backend() -> String {
    format!("127.0.0.1:{}", closed_port())
}

/// Runs the committed `deploy/collector/<profile>.yaml` in the image with
/// the README's flags, `backend` as OTELCOL_EXPORT_ENDPOINT and `extra`,
/// and waits for health_check to answer.
async fn start_profile<'p>(
    podman: &'p Podman,
    profile: Profile,
    backend: &str,
    extra: &[&str],
) -> Container<'p> {
    assert_ports_free(profile);
    let config = repo_root().join(format!("deploy/collector/{profile}.yaml"));
    let mount = format!("{}:{CONFIG_MOUNT}", config.display());
    let export = format!("OTELCOL_EXPORT_ENDPOINT={backend}");
    let mut args: Vec<&str> = RUN_FLAGS.to_vec();
    args.extend(["-e", &export]);
    args.extend(extra);
    args.extend(["-v", &mount, TAG]);
    let name = format!("otelcol-parker-test-{profile}-{}", std::process::id());
    let container = podman.start(&name, &args);
    wait_healthy(&container, profile).await;
    container
}

async fn wait_healthy(container: &Container<'_>, profile: Profile) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if common::health_check_available(&client, "http://127.0.0.1:13133/").await {
            return;
        }
        if container.state() != "running" {
            panic!(
                "{profile}: the container stopped ({}); its log:\n{}",
                container.state(),
                container.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "{profile}: health_check did not answer within 30 s; the container's log:\n{}",
        container.logs()
    );
}

/// `otelops ARGS…`; every check must PASS with exit 0, but health-v2, which
/// is skipped: otelcol-parker v0.161.0 has no healthcheckv2, and the v1
/// body health_check answers at /status is not taken for one.
fn assert_health_passes(args: &[&str]) {
    let skipped = ["health-v2"];
    let run = otelops(args);
    assert_eq!(
        run.code, 0,
        "otelops {args:?}\n{}\n{}",
        run.stdout, run.stderr
    );
    for check in CheckKind::value_variants().iter().map(|k| k.name()) {
        let line = run
            .stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(check))
            .unwrap_or_else(|| panic!("no line for {check}:\n{}", run.stdout));
        let expected = if skipped.contains(&check) {
            "SKIP"
        } else {
            "PASS"
        };
        assert!(line.starts_with(expected), "{check}: {}", run.stdout);
    }
}

/// The README's development/staging run, then its `otelops health`.
async fn runs_and_passes_every_health_check(profile: Profile) {
    let Some(podman) = podman_with_image() else {
        return;
    };
    let _turn = FIXED_PORTS.lock().await;
    let _collector = start_profile(&podman, profile, &no_backend(), &[]).await;
    assert_health_passes(HEALTH);
}

#[tokio::test]
async fn development_profile_runs_in_the_image_and_passes_every_health_check() {
    runs_and_passes_every_health_check(Profile::Development).await;
}

#[tokio::test]
async fn staging_profile_runs_in_the_image_and_passes_every_health_check() {
    runs_and_passes_every_health_check(Profile::Staging).await;
}

/// The production inputs as README says to lay them out: tls/ (receiver
/// certificate and key, backend CA), tokens/ (the ingest token file the
/// collector watches) and queue/ owned by the image's user, the export token
/// in an env file of mode 0600 (never on a command line).
struct ProductionFiles {
    dir: tempfile::TempDir,
    /// The self-signed certificate (for 127.0.0.1) of the receivers, also
    /// the backend's: the test's backend serves it too.
    cert_pem: String,
    key_pem: String,
}

impl ProductionFiles {
    fn write() -> ProductionFiles {
        let dir = tempfile::tempdir().unwrap();
        let tls = dir.path().join("tls");
        let queue = dir.path().join("queue");
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tls).unwrap();
        std::fs::create_dir(&queue).unwrap();
        std::fs::create_dir(&tokens).unwrap();
        write_private(&tokens.join("ingest.token"), INGEST_TOKEN);
        // The README's way: `otelops certs init --dir tls` (a CA and the
        // receivers' certificate for localhost, 127.0.0.1, ::1). The test's
        // backend serves the same certificate, so its CA is `ca.crt` too.
        let init = otelops(&["certs", "init", "--dir", tls.to_str().unwrap()]);
        assert_eq!(init.code, 0, "{}", init.stderr);
        let read = |name: &str| std::fs::read_to_string(tls.join(name)).unwrap();
        let (cert_pem, key_pem) = (read("tls.crt"), read("tls.key"));
        std::fs::copy(tls.join("ca.crt"), tls.join("backend-ca.crt")).unwrap();
        for path in [
            &tls,
            &tls.join("tls.key"),
            &tls.join("tls.crt"),
            &tls.join("ca.crt"),
            &tls.join("ca.key"),
            &tls.join("backend-ca.crt"),
            &tokens,
            &tokens.join("ingest.token"),
            &queue,
        ] {
            std::os::unix::fs::chown(path, Some(UID), Some(UID)).unwrap_or_else(|e| {
                panic!(
                    "chown {UID} {}: {e} (the test runs as root, as podman here does)",
                    path.display()
                )
            });
        }
        write_private(
            &dir.path().join("secrets.env"),
            &format!("OTELCOL_EXPORT_TOKEN={EXPORT_TOKEN}\n"),
        );
        ProductionFiles {
            dir,
            cert_pem,
            key_pem,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// The README's production run, exporting to `backend`.
    async fn start<'p>(&self, podman: &'p Podman, backend: &str) -> Container<'p> {
        let tls = format!("{}:/etc/otelcol-parker/tls:ro", self.path("tls"));
        let queue = format!("{}:/var/lib/otelcol/queue", self.path("queue"));
        let tokens = format!("{}:/etc/otelcol-parker/tokens:ro", self.path("tokens"));
        let secrets = self.path("secrets.env");
        let mut extra: Vec<&str> = PRODUCTION_ENV.to_vec();
        extra.extend([
            "--env-file",
            &secrets,
            "-v",
            &tls,
            "-v",
            &tokens,
            "-v",
            &queue,
        ]);
        start_profile(podman, Profile::Production, backend, &extra).await
    }
}

const INGEST_TOKEN: &str = "test-ingest-token";
const EXPORT_TOKEN: &str = "test-export-token";

fn write_private(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[tokio::test]
async fn production_profile_runs_in_the_image_with_tls_tokens_queue_and_memory_limit() {
    let Some(podman) = podman_with_image() else {
        return;
    };
    let files = ProductionFiles::write();
    let _turn = FIXED_PORTS.lock().await;
    let collector = files.start(&podman, &no_backend()).await;
    let flags: Vec<String> = PRODUCTION_HEALTH_FLAGS
        .iter()
        .map(|f| match *f {
            "tls/ca.crt" | "tokens/ingest.token" => files.path(f),
            flag => flag.to_owned(),
        })
        .collect();
    let mut health: Vec<&str> = HEALTH.to_vec();
    health.extend(flags.iter().map(String::as_str));
    assert_health_passes(&health);

    // The receivers serve TLS with the mounted certificate: Go answers a
    // plain-text request with 400 "Client sent an HTTP request to an HTTPS server".
    let reply = reqwest::Client::new()
        .post("http://127.0.0.1:4318/v1/traces")
        .header("content-type", "application/json")
        .body("{}")
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("the TLS port answers plain HTTP with an error page");
    assert_eq!(reply.status(), 400);
    assert!(reply.text().await.unwrap().contains("HTTPS"));

    // The persistent queue lives in the mounted directory, written by the
    // non-root user through the read-only root filesystem.
    let queue_files: Vec<_> = std::fs::read_dir(files.path("queue"))
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    let names: Vec<String> = queue_files
        .iter()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with("exporter_otlp")),
        "{names:?}"
    );
    for entry in &queue_files {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(entry.metadata().unwrap().uid(), UID, "{:?}", entry.path());
    }

    // memory_limiter sizes itself from the container's limit (--memory 1g).
    let logs = collector.logs();
    assert!(
        logs.contains(r#""total_memory_mib": 1024"#),
        "memory_limiter did not see the 1 GiB limit:\n{logs}"
    );
    assert!(collector.top(&["user"]).contains("nonroot"));

    // `otelops token rotate` on the host reaches the running container through
    // the mounted directory (a single-file bind mount would keep the old
    // file), and the new file keeps the owner the non-root collector reads as.
    let token_file = files.path("tokens/ingest.token");
    let old_copy = files.dir.path().join("old.token");
    write_private(&old_copy, INGEST_TOKEN);
    let rotate = otelops(&["token", "rotate", "--file", &token_file]);
    assert_eq!(rotate.code, 0, "{}", rotate.stderr);
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&token_file).unwrap().uid(), UID);
    }
    let old_flags = [
        "--cacert",
        &flags[1],
        "--token-file",
        old_copy.to_str().unwrap(),
    ];
    let old_health: Vec<&str> = HEALTH.iter().copied().chain(old_flags).collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (new, old) = (otelops(&health), otelops(&old_health));
        if new.code == 0 && old.code == 1 && old.stdout.contains("HTTP 401") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after rotation: new token exit {} / old token exit {}:\n{}\n{}\n{}",
            new.code,
            old.code,
            new.stdout,
            old.stdout,
            collector.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// End to end through the image: a service's spans go in over TLS with
/// the ingest token, and the collector sends what it samples to the backend
/// over TLS (verified against the mounted CA) with the export token.
// Several threads: the backend keeps serving while the test blocks on podman.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_image_takes_spans_with_tls_and_token_and_exports_them_with_tls_and_token() {
    let Some(podman) = podman_with_image() else {
        return;
    };
    let files = ProductionFiles::write();
    let backend = OtlpSink::start_tls(SinkTls {
        cert_pem: files.cert_pem.clone(),
        key_pem: files.key_pem.clone(),
        client_ca_pem: None,
    })
    .await;
    let backend_addr = backend
        .grpc_endpoint()
        .trim_start_matches("https://")
        .to_owned();
    let _turn = FIXED_PORTS.lock().await;
    let _collector = files.start(&podman, &backend_addr).await;

    // A service's own pipeline (parker-telemetry), trusting the receivers'
    // certificate and sending the ingest token.
    const SENT: usize = 200;
    let telemetry = config_from(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://127.0.0.1:4317"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", &files.path("tls/ca.crt")),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            &format!("authorization=Bearer%20{INGEST_TOKEN}"),
        ),
        ("OTEL_TRACES_SAMPLER", "always_on"),
        ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "none"),
    ]);
    let guard = parker_telemetry::build(ServiceInfo::new("parker-booking", "0.1.0"), &telemetry)
        .expect("pipeline");
    tracing::subscriber::with_default(guard.subscriber(), || {
        // One trace each: the profile keeps 10 % of traces.
        for n in 0..SENT {
            tracing::info_span!("container.image.probe", probe.n = n).in_scope(|| {});
        }
    });
    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .expect("the pipeline flushes and shuts down");

    // batch timeout is 5 s in production.
    let spans = backend
        .wait_for_spans(|s| !s.is_empty(), Duration::from_secs(30))
        .await;
    assert!(spans.iter().all(|s| s.name == "container.image.probe"));
    // 10 % of 200 traces: none or all kept has odds below 1e-9.
    assert!(spans.len() < SENT, "sampled {} of {SENT}", spans.len());
    let authorization: Vec<_> = backend
        .attempts()
        .iter()
        .map(|a| a.headers.get("authorization").cloned())
        .collect();
    let expected = format!("Bearer {EXPORT_TOKEN}");
    assert!(
        authorization
            .iter()
            .all(|h| h.as_ref().is_some_and(|v| v == expected.as_str())),
        "every export carries the export token ({} exports)",
        authorization.len()
    );
}

#[test]
fn image_context_refuses_a_dynamically_linked_collector() {
    let dir = tempfile::tempdir().unwrap();
    // This test binary links glibc dynamically; the image has no libc.
    let dynamic = std::env::current_exe().unwrap();
    let out = common::run_bounded(
        std::process::Command::new(repo_root().join("scripts/collector-image-context"))
            .arg(dir.path())
            .env("OTELCOL_PARKER", &dynamic),
        Duration::from_secs(60),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{} is dynamically linked", dynamic.display()))
            && stderr.contains("CGO_ENABLED=0"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("otelcol-parker").exists(),
        "nothing is copied"
    );
}

/// README text with line continuations joined and runs of blanks collapsed.
fn readme_commands() -> String {
    let readme = std::fs::read_to_string(repo_root().join("deploy/docker/README.md")).unwrap();
    readme
        .replace("\\\n", " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn readme_documents_the_commands_these_tests_run() {
    let readme = readme_commands();
    for needed in [
        "scripts/collector-image-context target/collector-image".to_owned(),
        "CONTAINERS_CONF=\"$PWD/deploy/docker/podman/containers.conf\"".to_owned(),
        format!("podman build -t {TAG} \"$ctx\""),
        format!(
            "podman run -d --rm --name otelcol-parker {}",
            RUN_FLAGS.join(" ")
        ),
        PRODUCTION_ENV.join(" "),
        "--env-file secrets.env".to_owned(),
        "\"$PWD/tls:/etc/otelcol-parker/tls:ro\"".to_owned(),
        "\"$PWD/queue:/var/lib/otelcol/queue\"".to_owned(),
        format!(
            "{}.yaml:{CONFIG_MOUNT}\" {TAG}",
            "deploy/collector/production"
        ),
        format!("{}.yaml:{CONFIG_MOUNT}\" {TAG}", "deploy/collector/staging"),
        format!("otelops {}", HEALTH.join(" ")),
        format!(
            "otelops {} {}",
            HEALTH.join(" "),
            PRODUCTION_HEALTH_FLAGS.join(" ")
        ),
    ] {
        assert!(
            readme.contains(&needed),
            "deploy/docker/README.md lacks `{needed}`"
        );
    }
    // Every variable production reads is set; tokens only through the env file.
    for var in referenced_env_vars(Profile::Production) {
        assert!(
            readme.contains(var),
            "the README's production run lacks {var}"
        );
        if var.ends_with("TOKEN") {
            assert!(
                !readme.contains(&format!("-e {var}=")),
                "{var} on a command line"
            );
        }
    }
}
