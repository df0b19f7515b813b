//! `otelops audit security` and `otelops audit production`: every item
//! passes on a complete, good set of inputs (the rendered production
//! profile, the collector's env file with strong tokens and a certificate
//! made here, the repository's k8s manifests, Dockerfile and alert rules, a
//! runbook and a fresh restore-tested backup record), and each fails on one
//! bad input. Once live: the production profile running on the real
//! otelcol-parker with TLS, probed over rustls, its process's uid and
//! environment read through /proc. No token ever appears in the output.

mod common;
#[path = "common/production.rs"]
mod production;
#[path = "common/collector/mod.rs"]
mod support;
#[path = "common/tls.rs"]
mod tls_support;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use production::{ProductionTls, Tokens, path};
use serde_json::Value;
use support::artifacts::Artifacts;
use tls_support::Pki;

const INGEST: &str = "3f9a1c7e5b2d8f406a1e9c3b7d5f2a8e4c6b0d9f1a3e5c7b9d2f4a6c8e0b1d3f";
const EXPORT: &str = "9d0e4b7a2c6f1e8d3b5a7c9e0f2d4b6a8c1e3f5d7b9a0c2e4f6d8b1a3c5e7f9d";

/// Good inputs in a directory of their own; each test spoils one.
struct Fixture {
    pki: Pki,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let pki = Pki::new("audit");
        let dir = tempfile::tempdir().expect("tempdir");
        let fx = Fixture { pki, dir };
        let run = common::otelops(&["config", "render", "--profile", "production"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        fx.write("config.yaml", &run.stdout);
        let server = fx.pki.server("server", false);
        fx.env_file(&format!(
            "OTELCOL_BIND=127.0.0.1\nOTELCOL_INGEST_TOKEN_FILE={}\nOTELCOL_EXPORT_TOKEN={EXPORT}\n\
             OTELCOL_TLS_CERT_FILE={}\nOTELCOL_TLS_KEY_FILE={}\n",
            path(&fx.pki.token_file("ingest.token", INGEST)),
            path(&server.cert_file),
            path(&server.key_file)
        ));
        let repo = common::repo_root();
        std::fs::create_dir(fx.path("k8s")).unwrap();
        // The base manifests (the cert-manager overlay is a folder of its own).
        for entry in std::fs::read_dir(repo.join("deploy/k8s")).unwrap() {
            let p = entry.unwrap().path();
            if p.is_file() {
                std::fs::copy(&p, fx.path("k8s").join(p.file_name().unwrap())).unwrap();
            }
        }
        std::fs::copy(repo.join("deploy/docker/Dockerfile"), fx.path("Dockerfile")).unwrap();
        std::fs::copy(
            repo.join("deploy/prometheus/otelcol-parker-rules.yaml"),
            fx.path("rules.yaml"),
        )
        .unwrap();
        std::fs::copy(
            repo.join("config/.env.otel.template"),
            fx.path(".env.otel.template"),
        )
        .unwrap();
        fx.write(
            "runbook.md",
            "# Runbook\n\nRotate certificates: otelops certs rotate.\n",
        );
        let hours_ago = |h: u64| {
            humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(h * 3600))
        };
        fx.backups(
            &[("create", 2, true), ("verify", 1, true)].map(|(e, h, ok)| {
                format!(
                    r#"{{"event":"{e}","path":"/b/otel.tar.gz","at":"{}","ok":{ok}}}"#,
                    hours_ago(h)
                )
            }),
        );
        fx
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The collector's env file, 0600 as a file of secrets must be.
    fn env_file(&self, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        let p = self.write("collector.env", text);
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    fn backups(&self, lines: &[String]) {
        std::fs::create_dir_all(self.path("backups")).unwrap();
        self.write("backups/otelops-backups.jsonl", &(lines.join("\n") + "\n"));
    }

    /// Replaces `from` (which must occur) in one of the fixture's files.
    fn edit(&self, name: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path(name)).unwrap();
        assert!(text.contains(from), "{from:?} not in {name}");
        self.write(name, &text.replace(from, to));
    }

    fn args(&self, audit: &str, extra: &[String]) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "--output".into(),
            "json".into(),
            "audit".into(),
            audit.into(),
        ];
        for (flag, name) in [
            ("--config", "config.yaml"),
            ("--env-file", "collector.env"),
            ("--env-file", ".env.otel.template"),
            ("--k8s", "k8s"),
            ("--dockerfile", "Dockerfile"),
            ("--rules", "rules.yaml"),
            ("--backup-dir", "backups"),
            ("--runbook", "runbook.md"),
        ] {
            args.push(flag.into());
            args.push(path(&self.path(name)));
        }
        args.extend(extra.iter().cloned());
        args
    }

    fn audit(&self, audit: &str, extra: &[&str]) -> Audit {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        Audit::run(&self.args(audit, &extra))
    }
}

/// One run's JSON report and exit code.
struct Audit {
    run: common::Run,
    report: Value,
}

impl Audit {
    fn run(args: &[String]) -> Audit {
        let run = common::otelops(args);
        for token in [INGEST, EXPORT] {
            assert!(
                !run.stdout.contains(token) && !run.stderr.contains(token),
                "a token was printed:\n{}{}",
                run.stdout,
                run.stderr
            );
        }
        let report = run.json();
        Audit { run, report }
    }

    fn item(&self, id: &str) -> (&str, String) {
        let item = self.report["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap_or_else(|| panic!("no item {id} in {}", self.run.stdout));
        (item["status"].as_str().unwrap(), item.to_string())
    }

    /// The item has `status` and its evidence or fix mentions `why`.
    fn assert(&self, id: &str, status: &str, why: &str) {
        let (s, item) = self.item(id);
        assert!(
            s == status && item.contains(why),
            "{id}: want {status} with {why:?}, got {item}"
        );
    }

    fn statuses(&self) -> Vec<(String, String)> {
        self.report["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["id"].as_str().unwrap().to_owned(),
                    i["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

#[test]
fn good_inputs_pass_every_item_that_needs_no_live_collector() {
    let fx = Fixture::new();
    let sec = fx.audit("security", &[]);
    for (id, status) in sec.statuses() {
        let want = if id == "tls-live" || id == "non-root-process" {
            "WARN"
        } else {
            "OK"
        };
        assert_eq!(status, want, "{id}: {}", sec.run.stdout);
    }
    assert_eq!(sec.run.code, 1, "the worst item is WARN (not probed live)");
    sec.assert("tls-live", "WARN", "no --collector given");
    sec.assert("tokens-strong", "OK", "64 characters, strong");
    sec.assert("certificates", "OK", "days left");
    sec.assert("bind-addresses", "OK", "OTELCOL_BIND from");
    let prod = fx.audit("production", &[]);
    assert!(
        prod.statuses().iter().all(|(_, s)| s == "OK"),
        "{}",
        prod.run.stdout
    );
    assert_eq!(prod.run.code, 0);
    prod.assert("alert-rules", "OK", "OtelcolDown");
    prod.assert("backups", "OK", "restore-tested");
}

#[test]
fn tls_fails_without_tls_or_with_min_version_below_1_2() {
    let fx = Fixture::new();
    fx.edit(
        "config.yaml",
        "min_version: '1.2'\n          reload_interval: 30s\n        auth",
        "min_version: '1.1'\n          reload_interval: 30s\n        auth",
    );
    let a = fx.audit("security", &[]);
    a.assert("tls-config", "CRIT", "allows TLS older than 1.2");
    assert_eq!(a.run.code, 2);
    let dev = common::otelops(&["config", "render", "--profile", "development"]);
    fx.write("config.yaml", &dev.stdout);
    let a = fx.audit("security", &[]);
    a.assert("tls-config", "CRIT", "no tls: data is taken in plain text");
    a.assert("tokens-present", "CRIT", "no auth");
}

#[test]
fn wildcard_binds_fail_plaintext_and_bind_items() {
    let fx = Fixture::new();
    fx.edit(
        "config.yaml",
        "endpoint: 127.0.0.1:55679",
        "endpoint: 0.0.0.0:55679",
    );
    let a = fx.audit("security", &[]);
    a.assert(
        "plaintext-endpoints",
        "CRIT",
        "zpages: every interface 0.0.0.0",
    );
    a.assert("bind-addresses", "OK", "127.0.0.1");
    fx.edit(
        "collector.env",
        "OTELCOL_BIND=127.0.0.1",
        "OTELCOL_BIND=0.0.0.0",
    );
    let a = fx.audit("security", &[]);
    a.assert(
        "bind-addresses",
        "CRIT",
        "every interface 0.0.0.0 (OTELCOL_BIND from",
    );
    a.assert(
        "plaintext-endpoints",
        "CRIT",
        "health_check: every interface",
    );
}

#[test]
fn literal_tokens_and_weak_sample_or_reused_tokens_fail() {
    let fx = Fixture::new();
    // The ingest token is in the file the profile's bearertokenauth reads.
    let ingest = fx.pki.dir().join("ingest.token");
    let set_ingest = |token: &str| std::fs::write(&ingest, format!("{token}\n")).unwrap();
    set_ingest("ingest-7c1d2e");
    let a = fx.audit("security", &[]);
    a.assert("tokens-strong", "CRIT", "a known sample or default value");
    set_ingest("k3Yq9");
    fx.audit("security", &[])
        .assert("tokens-strong", "CRIT", "5 characters");
    set_ingest(EXPORT);
    fx.audit("security", &[])
        .assert("tokens-strong", "CRIT", "the same token is used by");
    fx.edit(
        "collector.env",
        &format!("OTELCOL_INGEST_TOKEN_FILE={}\n", path(&ingest)),
        "",
    );
    fx.audit("security", &[])
        .assert("tokens-strong", "WARN", "cannot see the token");
    fx.edit(
        "config.yaml",
        "filename: ${env:OTELCOL_INGEST_TOKEN_FILE}",
        "token: s3cr3t-literal",
    );
    let a = fx.audit("security", &[]);
    a.assert("tokens-present", "CRIT", "a literal token in the config");
    a.assert("literal-secrets", "CRIT", "token: a literal value");
    assert!(!a.run.stdout.contains("s3cr3t-literal"), "{}", a.run.stdout);
}

#[test]
fn certificates_warn_at_30_days_and_fail_at_7_or_expired() {
    let fx = Fixture::new();
    for (days, status, why) in [
        // Days are counted up to notAfter as `certs check` does (rounded
        // up, agreeing with `openssl x509 -checkend`).
        (20, "WARN", "21 days left"),
        (3, "CRIT", "4 days left"),
        (-2, "CRIT", "expired"),
    ] {
        let cert = fx.pki.server_expiring_in(&format!("c{days}"), days);
        let a = fx.audit("security", &["--cert", &path(&cert.cert_file)]);
        a.assert("certificates", status, why);
    }
    fx.write("bad.pem", "not a certificate\n");
    let a = fx.audit("security", &["--cert", &path(&fx.path("bad.pem"))]);
    a.assert("certificates", "CRIT", "no PEM certificate");
}

#[test]
fn literal_secrets_in_templates_manifests_and_open_env_files_fail() {
    let fx = Fixture::new();
    fx.edit(
        ".env.otel.template",
        "# OTEL_EXPORTER_OTLP_HEADERS=\n",
        "OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20abc\n",
    );
    let a = fx.audit("security", &[]);
    a.assert(
        "literal-secrets",
        "CRIT",
        "OTEL_EXPORTER_OTLP_HEADERS: a value in a template",
    );
    let fx = Fixture::new();
    fx.edit(
        "k8s/deployment.yaml",
        "            - name: OTELCOL_EXPORT_TOKEN\n              valueFrom:\n                secretKeyRef:\n                  name: otelcol-parker-tokens\n                  key: export-token\n",
        "            - name: OTELCOL_EXPORT_TOKEN\n              value: abc\n",
    );
    let a = fx.audit("security", &[]);
    a.assert(
        "literal-secrets",
        "CRIT",
        "env OTELCOL_EXPORT_TOKEN is a literal value",
    );
    let fx = Fixture::new();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        fx.path("collector.env"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    fx.audit("security", &[])
        .assert("literal-secrets", "CRIT", "others may read it (mode 0644)");
}

#[test]
fn root_images_and_pods_fail() {
    let fx = Fixture::new();
    fx.edit("Dockerfile", "USER 65532:65532", "USER root");
    fx.audit("security", &[])
        .assert("non-root-image", "CRIT", "USER root is root");
    fx.edit("Dockerfile", "USER root\n", "");
    fx.audit("security", &[])
        .assert("non-root-image", "CRIT", "no USER in the final stage");
    fx.edit(
        "k8s/deployment.yaml",
        "readOnlyRootFilesystem: true",
        "readOnlyRootFilesystem: false",
    );
    fx.edit(
        "k8s/deployment.yaml",
        "allowPrivilegeEscalation: false",
        "allowPrivilegeEscalation: true",
    );
    fx.audit("security", &[]).assert(
        "non-root-k8s",
        "CRIT",
        "readOnlyRootFilesystem is not true, allowPrivilegeEscalation is not false",
    );
}

#[test]
fn network_policy_must_select_the_collector_pods() {
    let fx = Fixture::new();
    fx.edit(
        "k8s/networkpolicy.yaml",
        "app.kubernetes.io/name: otelcol-parker",
        "app.kubernetes.io/name: other",
    );
    let a = fx.audit("security", &[]);
    a.assert(
        "network-policy",
        "CRIT",
        "no NetworkPolicy selects its pods",
    );
    std::fs::remove_file(fx.path("k8s/networkpolicy.yaml")).unwrap();
    fx.audit("security", &[])
        .assert("network-policy", "CRIT", "Deployment otelcol-parker");
}

#[test]
fn production_items_fail_on_missing_limits_monitoring_alerts_logs_backups_and_runbook() {
    let fx = Fixture::new();
    fx.edit(
        "k8s/deployment.yaml",
        "            limits:\n              cpu: \"1\"\n              memory: 1024Mi\n",
        "",
    );
    fx.edit("config.yaml", "  - health_check\n", "");
    fx.write("rules.yaml", "groups: []\n");
    fx.edit(
        "config.yaml",
        "    logs:\n      receivers:\n      - otlp\n      processors:\n      - memory_limiter\n      \
         - attributes/pii\n      - redaction/pii\n      - transform/pii\n      - batch\n      exporters:\n      - otlp\n",
        "",
    );
    std::fs::remove_file(fx.path("runbook.md")).unwrap();
    let a = fx.audit("production", &[]);
    a.assert("resource-limits", "CRIT", "no cpu or memory limit");
    a.assert(
        "monitoring-endpoints",
        "CRIT",
        "no health_check extension in service.extensions",
    );
    a.assert("alert-rules", "CRIT", "no alerting rule");
    a.assert("log-shipping", "CRIT", "no logs pipeline");
    a.assert("runbook", "CRIT", "write the runbook");
    assert_eq!(a.run.code, 2);
}

#[test]
fn backups_fail_when_old_unverified_failed_or_missing() {
    let fx = Fixture::new();
    let at = |days: u64| {
        humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(days * 86_400))
    };
    let line = |e: &str, days: u64, ok: bool| {
        format!(
            r#"{{"event":"{e}","path":"/b/x.tar.gz","at":"{}","ok":{ok}}}"#,
            at(days)
        )
    };
    fx.backups(&[line("create", 9, true), line("verify", 9, true)]);
    fx.audit("production", &[])
        .assert("backups", "CRIT", "days ago, limit 7");
    fx.audit("production", &["--max-backup-age", "10d"])
        .assert("backups", "OK", "restore-tested");
    fx.backups(&[line("create", 1, true)]);
    fx.audit("production", &[])
        .assert("backups", "CRIT", "never verified since it was made");
    fx.backups(&[line("create", 1, true), line("verify", 0, false)]);
    fx.audit("production", &[])
        .assert("backups", "CRIT", "its verify failed");
    std::fs::remove_file(fx.path("backups/otelops-backups.jsonl")).unwrap();
    fx.audit("production", &[])
        .assert("backups", "CRIT", "no backup on record");
}

/// The repository's own deploy/ files as they are today, audited with the
/// defaults from the repository root: what passes and the real findings.
#[test]
fn the_repository_defaults_are_audited_honestly() {
    let run = |audit: &str| {
        let mut cmd = common::otelops_command();
        cmd.current_dir(common::repo_root())
            .args(["--output", "json", "audit", audit, "--backup-dir"])
            .arg(tempfile::tempdir().unwrap().path());
        let run: common::Run = common::run_bounded(&mut cmd, Duration::from_secs(60)).into();
        let report = run.json();
        Audit { run, report }
    };
    let sec = run("security");
    for id in [
        "tls-config",
        "plaintext-endpoints",
        "tokens-present",
        "literal-secrets",
        "non-root-image",
        "non-root-k8s",
        "network-policy",
        "bind-addresses",
    ] {
        sec.assert(id, "OK", "");
    }
    // The tokens and certificates live in the deployment's secrets, which
    // the repository rightly does not hold: judged only with --env-file/--pid.
    sec.assert("tokens-strong", "WARN", "cannot see the token");
    sec.assert("certificates", "WARN", "not set where the audit can see");
    let prod = run("production");
    for id in [
        "resource-limits",
        "monitoring-endpoints",
        "alert-rules",
        "log-shipping",
    ] {
        prod.assert(id, "OK", "");
    }
    prod.assert("backups", "CRIT", "no backup on record");
    if !common::repo_root().join("docs/runbook.md").exists() {
        prod.assert("runbook", "CRIT", "write the runbook");
    }
    assert_eq!(prod.run.code, 2);
}

#[test]
fn an_unreadable_config_is_a_usage_error() {
    let run = common::otelops(&["audit", "security", "--config", "/nonexistent/c.yaml"]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("cannot read collector config /nonexistent/c.yaml"),
        "{}",
        run.stderr
    );
}

fn effective_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:")).unwrap();
    uid.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_production_profile_running_live_passes_the_security_audit() {
    let fx = Fixture::new();
    let art = Artifacts::new("audit_live");
    let server = fx.pki.server("live", false);
    let tokens = Tokens {
        ingest: INGEST,
        export: EXPORT,
    };
    let collector =
        production::start_production(&ProductionTls::from_pki(&fx.pki, &server), &tokens, &art)
            .await;
    let pid = collector.pid().expect("collector pid").to_string();
    let config = path(&collector.config);
    let ca = path(&fx.pki.ca_file());
    let k8s = path(&fx.path("k8s"));
    let base = |ca: &str| -> Vec<String> {
        [
            "--output",
            "json",
            "audit",
            "security",
            "--config",
            &config,
            "--env-file",
            &path(&fx.path(".env.otel.template")),
            "--k8s",
            &k8s,
            "--dockerfile",
            &path(&fx.path("Dockerfile")),
            "--collector",
            "127.0.0.1",
            "--cacert",
            ca,
            "--pid",
            &pid,
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let args = base(&ca);
    let a = tokio::task::spawn_blocking(move || Audit::run(&args))
        .await
        .unwrap();
    let root = effective_uid() == 0;
    for (id, status) in a.statuses() {
        let want = if id == "non-root-process" && root {
            "CRIT"
        } else {
            "OK"
        };
        assert_eq!(status, want, "{id}: {}\n{}", a.run.stdout, collector.log());
    }
    a.assert(
        "tls-live",
        "OK",
        &format!("127.0.0.1:{}", collector.ports.otlp_grpc),
    );
    a.assert("tls-live", "OK", "negotiated TLS 1.");
    a.assert("tokens-strong", "OK", "the environment of process");
    a.assert(
        "certificates",
        "OK",
        "OTELCOL_TLS_CERT_FILE from the environment of process",
    );
    a.assert(
        "non-root-process",
        if root { "CRIT" } else { "OK" },
        &format!("process {pid} (otelcol-parker"),
    );

    // A CA that did not sign the collector's certificate: no handshake.
    let other = Pki::new("untrusted");
    let args = base(&path(&other.ca_file()));
    let a = tokio::task::spawn_blocking(move || Audit::run(&args))
        .await
        .unwrap();
    a.assert("tls-live", "CRIT", "UnknownIssuer");

    // A listener that takes data in plain text fails the probe.
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = plain.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in plain.incoming().flatten() {
            use std::io::Write;
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        }
    });
    let text = std::fs::read_to_string(&collector.config).unwrap().replace(
        &format!(":{}", collector.ports.otlp_http),
        &format!(":{port}"),
    );
    let plain_config = fx.write("plain.yaml", &text);
    let mut args = base(&ca);
    args[5] = path(&plain_config);
    let a = tokio::task::spawn_blocking(move || Audit::run(&args))
        .await
        .unwrap();
    a.assert("tls-live", "CRIT", &format!("127.0.0.1:{port}"));
}

/// A real process running as an unprivileged uid passes the process item:
/// as root the test starts one as uid 65534; otherwise it is the test itself.
#[test]
fn a_process_running_as_an_unprivileged_uid_passes() {
    use std::os::unix::process::CommandExt;
    let fx = Fixture::new();
    let mut child = (effective_uid() == 0).then(|| {
        std::process::Command::new("sleep")
            .arg("30")
            .uid(65534)
            .spawn()
            .expect("sleep as uid 65534")
    });
    let pid = child.as_ref().map_or(std::process::id(), |c| c.id());
    let a = fx.audit("security", &["--pid", &pid.to_string()]);
    if let Some(c) = child.as_mut() {
        let _ = c.kill();
        let _ = c.wait();
    }
    let uid = if child.is_some() {
        65534
    } else {
        effective_uid()
    };
    a.assert("non-root-process", "OK", &format!("runs as uid {uid}"));
}
