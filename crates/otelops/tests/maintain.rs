//! `otelops maintain daily|weekly|monthly` and `otelops version` against the
//! real otelcol-parker: a healthy collector is OK; its own error lines after
//! a downstream outage are CRIT naming the exporter and the message, and the
//! second run with --history says what changed; weekly reads a history made
//! by `monitor watch --history` and tests a backup made by `backup create`,
//! and its HTML report is looked at in headless Chromium; monthly judges
//! certificates from the test PKI, a token file, a runbook and a target
//! release.

#[path = "common/browser.rs"]
mod browser;
mod common;
#[path = "common/receive.rs"]
mod receive_support;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/telemetry.rs"]
mod telemetry;
#[path = "common/tls.rs"]
mod tls;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::artifacts::Artifacts;
use support::collector::{self, Collector, Ports};
use support::{otelops, sender};

const TAG: u8 = 0x6d;

/// The repository files the security audit reads (the test runs elsewhere).
fn audit_flags() -> Vec<String> {
    let root = common::repo_root();
    [
        ("--env-file", "config/.env.otel.template"),
        ("--k8s", "deploy/k8s"),
        ("--dockerfile", "deploy/docker/Dockerfile"),
        ("--rules", "deploy/prometheus/otelcol-parker-rules.yaml"),
    ]
    .into_iter()
    .flat_map(|(k, v)| [k.to_string(), s(&root.join(v))])
    .collect()
}

/// The collector's endpoint flags for `ports`.
fn target_flags(ports: &Ports) -> Vec<String> {
    [
        ("--collector", "127.0.0.1".to_string()),
        ("--health-url", ports.health_url()),
        ("--metrics-url", ports.metrics_url()),
        ("--otlp-grpc", ports.otlp_grpc_url()),
        ("--otlp-http", ports.otlp_http_url()),
        ("--zpages-url", ports.zpages_url()),
    ]
    .into_iter()
    .flat_map(|(k, v)| [k.to_string(), v])
    .collect()
}

/// `maintain SCHEDULE` at the collector on `ports`, then `extra`.
fn maintain_args(schedule: &str, ports: &Ports, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["maintain".to_string(), schedule.to_string()];
    args.extend(target_flags(ports));
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

async fn maintain(art: &Artifacts, label: &str, args: &[String]) -> support::otelops::Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    otelops::run(art, label, &args).await
}

/// `otelops ARGS` fails as a usage error (exit 2) whose message has `needle`.
async fn assert_usage_error(art: &Artifacts, label: &str, args: &[&str], needle: &str) {
    let run = otelops::run(art, label, args).await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(needle), "{needle:?} in: {}", run.stderr);
}

fn json(run: &support::otelops::Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", run.stdout, run.stderr))
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

fn evidence(check: &Value) -> String {
    check["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `otelops version` against the test's collector and the repository's
/// builder manifest, with `extra` flags.
async fn run_version(
    art: &Artifacts,
    label: &str,
    ports: &Ports,
    extra: &[&str],
) -> support::otelops::Run {
    let manifest = s(&common::repo_root().join("deploy/collector/builder-config.yaml"));
    let mut args = vec!["version", "--metrics-url"];
    let metrics = ports.metrics_url();
    args.extend([metrics.as_str(), "--manifest", &manifest]);
    args.extend_from_slice(extra);
    otelops::run(art, label, &args).await
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_is_ok_when_healthy_then_names_the_errors_and_what_changed() {
    let art = Artifacts::new("maintain_daily");
    let ports = Ports::free();
    let mut sink = support::sink::Sink::start(ports.downstream).await;
    let config = collector::render("maintain.yaml", &ports, &[], &art);
    let col = Collector::start(config.clone(), ports, &art).await;
    let sent = sender::http_many(&ports.otlp_http_url(), TAG, 2, 5).await;
    assert_eq!(sent.accepted.len(), 10, "{:?}", sent.statuses);
    sink.wait_unique(10, Duration::from_secs(20)).await;

    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("maintain-history.jsonl");
    let args = maintain_args(
        "daily",
        &ports,
        &[
            "--config",
            &s(&config),
            "--window",
            "1s",
            "--history",
            &s(&history),
        ],
    );

    let mut first = args.clone();
    first.extend(["--output".into(), "json".into()]);
    let run = maintain(&art, "daily-healthy", &first).await;
    let report = json(&run);
    assert_eq!(run.code, 0, "{:#}\n{}", report, run.stderr);
    assert_eq!(report["status"], "OK");
    for id in ["daily.health", "daily.queue", "daily.export"] {
        assert_eq!(check(&report, id)["status"], "OK", "{id}: {report:#}");
    }
    assert_eq!(check(&report, "daily.logs")["status"], "SKIPPED");
    assert!(
        evidence(check(&report, "daily.export")).contains("accepts TCP connections"),
        "the exporter endpoint was probed: {report:#}"
    );
    assert_eq!(report["changes"][0], "first recorded run of this schedule");

    // Downstream gone: retries give up after 1 s and the exporter logs
    // "Exporting failed. Dropping data." at error level.
    sink.down().await;
    let sent = sender::http_many(&ports.otlp_http_url(), TAG, 2, 5).await;
    assert_eq!(sent.accepted.len(), 10, "{:?}", sent.statuses);
    let log = support::wait_until("the exporter's error line", Duration::from_secs(30), || {
        let log = col.log();
        async move {
            if log
                .lines()
                .any(|l| l.contains("\terror\t") && l.contains("otlp_grpc"))
            {
                Ok(log)
            } else {
                Err(format!("{} log lines so far", log.lines().count()))
            }
        }
    })
    .await;
    let log_file = dir.path().join("otelcol.log");
    std::fs::write(&log_file, &log).unwrap();

    let mut second = args.clone();
    second.extend(["--log".into(), s(&log_file)]);
    let run = maintain(&art, "daily-errors", &second).await;
    assert_eq!(
        run.code, 2,
        "worst is CRIT:\n{}\n{}",
        run.stdout, run.stderr
    );
    let out = &run.stdout;
    assert!(out.contains("CRIT     Review error logs"), "{out}");
    let error_line = out
        .lines()
        .find(|l| l.contains("error exporter/otlp_grpc: Exporting failed"))
        .unwrap_or_else(|| panic!("the error kind is named with its component:\n{out}"));
    assert!(error_line.contains("× error"), "{error_line}");
    assert!(out.contains("CRIT     Verify export connectivity"), "{out}");
    assert!(
        out.contains("exporters.otlp_grpc: cannot connect to 127.0.0.1"),
        "{out}"
    );
    // What changed since the healthy run.
    let changes = out
        .split("Changes since the last run:")
        .nth(1)
        .unwrap_or_else(|| panic!("no changes section:\n{out}"));
    assert!(changes.contains("daily.logs: SKIPPED → CRIT"), "{changes}");
    assert!(
        changes.contains("daily.logs: new: error exporter/otlp_grpc: Exporting failed"),
        "{changes}"
    );
    assert!(changes.contains("daily.export: OK → CRIT"), "{changes}");
    assert_eq!(
        std::fs::read_to_string(&history).unwrap().lines().count(),
        2,
        "one history line per run"
    );

    // The same log on stdin (`--log -`, as from journalctl).
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_otelops"))
        .args(["maintain", "daily", "--window", "0s", "--log", "-"])
        .args(target_flags(&ports))
        .stdin(std::fs::File::open(&log_file).unwrap())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("otelops finished")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("error exporter/otlp_grpc: Exporting failed"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_exported_to_otelops_receive_and_the_services_sdks_are_read_from_its_copy_and_api() {
    let art = Artifacts::new("maintain_received");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("received.jsonl");
    let receiver = receive_support::Running::start(&["--jsonl", &s(&copy)]);
    let ports = Ports::free();
    let logs_url = receiver.http_url("/v1/logs");
    let config = collector::render(
        "maintain-logs-otlp.yaml",
        &ports,
        &[("RECEIVE_LOGS_URL", logs_url.as_str())],
        &art,
    );
    // No downstream: the exporter's retries give up and it logs an error,
    // which the collector exports to the receiver with its other logs.
    let _col = Collector::start(config, ports, &art).await;
    let sent = sender::http_many(&ports.otlp_http_url(), TAG, 1, 5).await;
    assert_eq!(sent.accepted.len(), 5, "{:?}", sent.statuses);

    // 200 older traces without an SDK (what `version --receiver URL` reads
    // at most), so the service's trace below is found only among the newest.
    let older = sender::http_many(&format!("http://{}", receiver.http), TAG, 200, 1).await;
    assert_eq!(older.accepted.len(), 200, "{:?}", older.statuses);

    // A service's spans (parker-telemetry's SDK pipeline) into the same receiver.
    let guard = parker_telemetry::build(
        parker_telemetry::ServiceInfo::new("parker-booking", "0.1.0"),
        &telemetry::traces_only("http/protobuf", &format!("http://{}", receiver.http)),
    )
    .expect("telemetry pipeline");
    tracing::subscriber::with_default(guard.subscriber(), || {
        tracing::info_span!("maintain_sdk_probe").in_scope(|| {});
    });
    guard.shutdown().expect("telemetry shutdown");

    let copy_path = copy.clone();
    support::wait_until(
        "the exported error log and the spans",
        Duration::from_secs(30),
        || {
            let text = std::fs::read_to_string(&copy_path).unwrap_or_default();
            async move {
                let error = text.contains("Exporting failed. Dropping data.");
                let spans =
                    text.contains("resourceSpans") && text.contains("telemetry.sdk.version");
                if error && spans {
                    Ok(())
                } else {
                    Err(format!("error log: {error}, spans: {spans}"))
                }
            }
        },
    )
    .await;

    let args = maintain_args(
        "daily",
        &ports,
        &["--window", "0s", "--logs-from", &s(&copy)],
    );
    let run = maintain(&art, "daily-logs-from", &args).await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("× error exporter/otlp_grpc: Exporting failed. Dropping data. (error: no more retries left"),
        "component from the record's scope, error from exception.message:\n{}",
        run.stdout
    );

    let releases = dir.path().join("releases.txt");
    std::fs::write(&releases, "# known releases\nv0.150.0\nv0.161.0\n").unwrap();
    let run = run_version(
        &art,
        "version-receiver",
        &ports,
        &["--receiver", &s(&copy), "--releases", &s(&releases)],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let sdk = run
        .stdout
        .lines()
        .find(|l| l.starts_with("sdk:") && l.contains("parker-booking"))
        .unwrap_or_else(|| panic!("the service's SDK:\n{}", run.stdout));
    assert!(sdk.contains("opentelemetry rust 0."), "{sdk}");
    assert!(
        run.stdout.contains("target:   v0.161.0 is not newer"),
        "the newest of the list is the target:\n{}",
        run.stdout
    );
    // The same SDK from the running receiver's query API.
    let api = format!("http://{}", receiver.http);
    let run = run_version(&art, "version-receiver-api", &ports, &["--receiver", &api]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.lines().any(|l| l == sdk),
        "{sdk} from {api}:\n{}",
        run.stdout
    );
    receiver.stop();
}

/// A backup of `config` (and a certs dir) made by `otelops backup create`.
async fn make_backup(art: &Artifacts, root: &Path, config: &Path) -> (PathBuf, PathBuf) {
    let conf_dir = root.join("collector");
    let certs_dir = root.join("certs");
    let backups = root.join("backups");
    for d in [&conf_dir, &certs_dir, &backups] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::copy(config, conf_dir.join("config.yaml")).unwrap();
    let pki = tls::Pki::new("maintain-backup");
    let cert = pki.server("server", false);
    std::fs::copy(&cert.cert_file, certs_dir.join("server.crt")).unwrap();
    let pass = root.join("passphrase");
    std::fs::write(&pass, "correct horse battery staple maintain\n").unwrap();
    let out = backups.join("otel-weekly.tar.gz");
    let run = otelops::run(
        art,
        "backup-create",
        &[
            "backup",
            "create",
            "--config",
            &s(&conf_dir),
            "--certs",
            &s(&certs_dir),
            "--out",
            &s(&out),
            "--passphrase-file",
            &s(&pass),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    (backups, pass)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weekly_reads_the_monitor_history_tests_the_backup_and_its_html_report_renders() {
    let art = Artifacts::new("maintain");
    let ports = Ports::free();
    let _sink = support::sink::Sink::start(ports.downstream).await;
    let config = collector::render("maintain.yaml", &ports, &[], &art);
    let _col = Collector::start(config.clone(), ports, &art).await;
    let dir = tempfile::tempdir().unwrap();

    // Traffic while `monitor watch` records its rounds.
    let base = ports.otlp_http_url();
    let traffic = tokio::spawn(async move {
        for _ in 0..60 {
            sender::http_many(&base, TAG, 1, 5).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let monitor_history = dir.path().join("monitor.redb");
    let run = otelops::run(
        &art,
        "monitor-watch",
        &[
            "monitor",
            "watch",
            "--metrics-url",
            &ports.metrics_url(),
            "--interval",
            "700ms",
            "--count",
            "6",
            "--no-tui",
            "--container-memory-mib",
            "512",
            "--history",
            &s(&monitor_history),
        ],
    )
    .await;
    assert!(
        [0, 1, 2].contains(&run.code),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    traffic.await.unwrap();

    let (backups, pass) = make_backup(&art, dir.path(), &config).await;
    let html = art.path("report.html");
    let mut args = maintain_args(
        "weekly",
        &ports,
        &[
            "--config",
            &s(&config),
            "--window",
            "1s",
            "--monitor-history",
            &s(&monitor_history),
            "--backup-dir",
            &s(&backups),
            "--passphrase-file",
            &s(&pass),
            "--html",
            &s(&html),
            "--output",
            "json",
        ],
    );
    args.extend(audit_flags());
    let run = maintain(&art, "weekly", &args).await;
    let report = json(&run);
    let backup = check(&report, "weekly.backup");
    assert_eq!(backup["status"], "OK", "{report:#}");
    assert!(
        evidence(backup).contains("otel-weekly.tar.gz: verified"),
        "{backup:#}"
    );
    let trends = check(&report, "weekly.trends");
    assert!(evidence(trends).contains("6 monitor rounds"), "{trends:#}");
    for id in ["weekly.tune", "weekly.security", "weekly.trends"] {
        let st = check(&report, id)["status"].as_str().unwrap();
        assert!(["OK", "WARN", "CRIT"].contains(&st), "{id} ran: {report:#}");
    }
    let worst = report["status"].as_str().unwrap();
    assert_eq!(
        run.code,
        match worst {
            "OK" => 0,
            "WARN" => 1,
            "CRIT" => 2,
            _ => 3,
        },
        "exit code by the worst check"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("correct horse"), "no secret in the page");
    assert!(
        !run.stdout.contains("correct horse"),
        "no secret in the output"
    );

    // A wrong passphrase fails the backup test.
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not it\n").unwrap();
    let bad: Vec<String> = [
        "maintain",
        "weekly",
        "--metrics-url",
        &ports.metrics_url(),
        "--window",
        "0s",
        "--backup-dir",
        &s(&backups),
        "--passphrase-file",
        &s(&wrong),
        "--output",
        "json",
    ]
    .map(String::from)
    .to_vec();
    let run = maintain(&art, "weekly-wrong-passphrase", &bad).await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(check(&json(&run), "weekly.backup")["status"], "CRIT");

    // The page as a person sees it.
    let url = url::Url::from_file_path(&html).unwrap().to_string();
    let shot = art.path("report.png");
    let (plots, links, errors) = tokio::task::spawn_blocking(move || {
        let chrome = browser::Browser::launch();
        let page = chrome.open(&url);
        page.set_viewport(1280, 1600);
        page.wait_for("#findings", Duration::from_secs(10));
        let plots = page.eval(
            "Array.from(document.querySelectorAll('figure.plot')).map(f => ({
                title: f.dataset.title,
                points: f.querySelectorAll('circle.point').length,
                lines: f.querySelectorAll('polyline.series').length }))",
        );
        let links = page.eval(
            "Array.from(document.querySelectorAll('[src],[href],script')).map(e => e.getAttribute('src') || e.getAttribute('href') || 'script')",
        );
        page.screenshot(&shot);
        (plots, links, page.console_errors())
    })
    .await
    .unwrap();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    assert_eq!(
        links,
        serde_json::json!(["data:,"]),
        "no script, no external asset"
    );
    let plots = plots.as_array().unwrap();
    let titles: Vec<&str> = plots.iter().map(|p| p["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        [
            "Queue utilisation",
            "Refused",
            "Send failed",
            "Memory vs limit",
            "Throughput"
        ]
    );
    for p in plots {
        assert!(
            p["points"].as_u64().unwrap() > 0 && p["lines"].as_u64().unwrap() > 0,
            "every plot has data points: {p}"
        );
    }
    assert!(art.path("report.png").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_rotation_runbook_and_version_against_the_live_collector() {
    let art = Artifacts::new("maintain_monthly");
    let ports = Ports::free();
    let _sink = support::sink::Sink::start(ports.downstream).await;
    let config = collector::render("maintain.yaml", &ports, &[], &art);
    let _col = Collector::start(config.clone(), ports, &art).await;
    let manifest = common::repo_root().join("deploy/collector/builder-config.yaml");
    let pinned = std::fs::read_to_string(&manifest)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("  version: ").map(str::to_owned))
        .expect("dist.version in the manifest");

    let pki = tls::Pki::new("maintain");
    let near = pki.server_expiring_in("near", 5);
    let far = pki.server_expiring_in("far", 200);
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("ingest.tokens");
    let run = otelops::run(&art, "token-gen", &["token", "gen", "--out", &s(&tokens)]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = std::fs::read_to_string(&tokens).unwrap();
    // Last rotated 100 days ago.
    std::fs::File::options()
        .write(true)
        .open(&tokens)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(100 * 86_400))
        .unwrap();

    let runbook = common::fixture("maintain/runbook.md");
    let base: Vec<String> = [
        "maintain",
        "monthly",
        "--metrics-url",
        &ports.metrics_url(),
        "--manifest",
        &s(&manifest),
        "--config",
        &s(&config),
        "--cert",
        &s(&near.cert_file),
        "--cert",
        &s(&far.cert_file),
        "--ingest-token-file",
        &s(&tokens),
        "--target",
        "v0.999.0",
        "--output",
        "json",
    ]
    .map(String::from)
    .to_vec();
    let mut args = base.clone();
    args.extend(audit_flags());
    args.extend(["--runbook".into(), s(&runbook)]);
    let run = maintain(&art, "monthly", &args).await;
    assert_eq!(
        run.code, 2,
        "near-expiry cert is CRIT:\n{}\n{}",
        run.stdout, run.stderr
    );
    assert!(
        !run.stdout.contains(token.trim()),
        "the token is never printed"
    );
    let report = json(&run);

    let rotation = check(&report, "monthly.rotation");
    assert_eq!(rotation["status"], "CRIT", "{rotation:#}");
    let ev = evidence(rotation);
    assert!(ev.contains("near.crt") && ev.contains("days left"), "{ev}");
    assert!(ev.contains("last rotated 100 days ago"), "{ev}");
    let actions = rotation["action"].to_string();
    assert!(actions.contains("otelops certs rotate"), "{actions}");
    assert!(actions.contains("otelops token rotate --file"), "{actions}");
    assert!(
        !actions.contains("far.crt"),
        "the far cert is not due: {actions}"
    );

    let version = check(&report, "monthly.version");
    assert_eq!(version["status"], "WARN", "{version:#}");
    let ev = evidence(version);
    assert!(
        ev.contains(&format!("running: otelcol-parker {pinned}")),
        "{ev}"
    );
    assert!(ev.contains("v0.999.0 is newer"), "{ev}");

    let docs = check(&report, "monthly.docs");
    assert_eq!(docs["status"], "WARN", "{docs:#}");
    let ev = evidence(docs);
    assert!(ev.contains("3 of 4 otelops command lines parse"), "{ev}");
    assert!(
        ev.contains("runbook.md:19:") && ev.contains("--no-such-flag"),
        "{ev}"
    );

    let audit = check(&report, "monthly.audit");
    assert!(
        evidence(audit).contains("otelops audit security:"),
        "{audit:#}"
    );

    // A missing runbook is a WARN that says so.
    let mut args = base.clone();
    args.extend(["--runbook".into(), s(&dir.path().join("no-runbook.md"))]);
    let run = maintain(&art, "monthly-no-runbook", &args).await;
    let docs = json(&run);
    let docs = check(&docs, "monthly.docs");
    assert_eq!(docs["status"], "WARN");
    assert!(evidence(docs).contains("No such file"), "{docs:#}");

    // `otelops version` on the same collector.
    let run = run_version(&art, "version-newer", &ports, &["--target", "v0.999.0"]).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let out = &run.stdout;
    assert!(
        out.contains(&format!("running:  otelcol-parker {pinned}")),
        "{out}"
    );
    assert!(out.contains(&format!("pinned:   {pinned}")), "{out}");
    assert!(out.contains("v0.999.0 is newer"), "{out}");
    let staging = out
        .find("parker-observability-staging")
        .expect("staging step");
    let health = out.find("otelops health").expect("health step");
    let traces = out.find("otelops test run").expect("trace test step");
    let rolling = out.find("rollout status").expect("rolling update step");
    assert!(
        staging < health && health < traces && traces < rolling,
        "{out}"
    );

    let current = format!("v{}", pinned.split('-').next().unwrap());
    let run = run_version(&art, "version-current", &ports, &["--target", &current]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("is not newer: up to date"),
        "{}",
        run.stdout
    );

    assert_usage_error(
        &art,
        "version-bad-target",
        &["version", "--target", "latest"],
        "\"latest\" is not a release number",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_connectivity_probes_each_exporter_endpoint_over_tls_and_only_loopback() {
    let art = Artifacts::new("maintain_probe");
    let pki = tls::Pki::new("maintain-probe");
    let good =
        parker_telemetry::testing::OtlpSink::start_tls(pki.server("good", false).sink_tls(None))
            .await;
    let expired =
        parker_telemetry::testing::OtlpSink::start_tls(pki.server("expired", true).sink_tls(None))
            .await;
    let hostport = |url: String| url.trim_start_matches("https://").to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("collector.yaml");
    std::fs::write(
        &config,
        format!(
            "exporters:\n  otlp_grpc/good:\n    endpoint: {}\n  otlp_grpc/expired:\n    endpoint: {}\n  otlp_http/remote:\n    endpoint: https://backend.example.com:4318\n  debug: {{}}\n",
            hostport(good.grpc_endpoint()),
            hostport(expired.grpc_endpoint())
        ),
    )
    .unwrap();
    let closed = format!("http://127.0.0.1:{}", common::closed_port());
    let args: Vec<String> = [
        "maintain",
        "daily",
        "--config",
        &s(&config),
        "--cacert",
        &s(&pki.ca_file()),
        "--metrics-url",
        &format!("{closed}/metrics"),
        "--health-url",
        &closed,
        "--window",
        "0s",
        "--timeout",
        "2s",
        "--output",
        "json",
    ]
    .map(String::from)
    .to_vec();
    let run = maintain(&art, "daily-probe", &args).await;
    let report = json(&run);
    let export = check(&report, "daily.export");
    let ev = evidence(export);
    assert_eq!(export["status"], "CRIT", "{export:#}");
    assert!(
        ev.contains(&format!(
            "exporters.otlp_grpc/good: TLS handshake with {}",
            hostport(good.grpc_endpoint())
        )),
        "{ev}"
    );
    let expired_line = ev
        .lines()
        .find(|l| l.starts_with("exporters.otlp_grpc/expired: TLS with"))
        .unwrap_or_else(|| panic!("{ev}"));
    assert!(expired_line.contains("expired"), "{expired_line}");
    assert!(
        ev.contains("exporters.otlp_http/remote: backend.example.com:4318 not probed"),
        "only loopback without --allow-remote: {ev}"
    );
    assert!(!ev.contains("debug"), "no endpoint, nothing to probe: {ev}");
    // The metrics page does not answer: queue utilisation could not be judged.
    assert_eq!(check(&report, "daily.queue")["status"], "UNKNOWN");
    assert_eq!(run.code, 2, "worst is CRIT");
}

#[tokio::test]
async fn a_check_that_could_not_run_is_unknown_and_bad_input_is_a_usage_error() {
    let art = Artifacts::new("maintain_unknown");
    let closed = format!("http://127.0.0.1:{}/metrics", common::closed_port());
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-history.redb");
    let run = otelops::run(
        &art,
        "weekly-unknown",
        &[
            "maintain",
            "weekly",
            "--metrics-url",
            &closed,
            "--monitor-history",
            &s(&missing),
        ],
    )
    .await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("UNKNOWN  Analyze performance trends"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("no such monitor history"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("SKIPPED  Test backup restoration"),
        "{}",
        run.stdout
    );
    assert!(!missing.exists(), "a missing history is not created");

    let backups = s(dir.path());
    assert_usage_error(
        &art,
        "weekly-no-passphrase-var",
        &[
            "maintain",
            "weekly",
            "--backup-dir",
            &backups,
            "--passphrase-env",
            "OTELOPS_MAINTAIN_TEST_UNSET_VAR",
        ],
        "OTELOPS_MAINTAIN_TEST_UNSET_VAR",
    )
    .await;

    // The receiver's query API serves no log records: a URL is refused.
    assert_usage_error(
        &art,
        "daily-logs-from-url",
        &["maintain", "daily", "--logs-from", "http://127.0.0.1:4318"],
        "--logs-from http://127.0.0.1:4318: otelops receive keeps only counts",
    )
    .await;
}
