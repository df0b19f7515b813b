//! `otelops certs` against the real `openssl`: what `init` (ECDSA P-256 or
//! RSA 3072), `issue` and `rotate` write verifies with `openssl verify`; `certs check` agrees with
//! `openssl x509 -checkend` on certificates made by the operations guide's
//! openssl commands; broken chains, foreign keys, open key modes and
//! expired certificates are caught; `--endpoint` reads a live `openssl
//! s_server`'s chain and TLS version.

mod common;
#[path = "common/tls.rs"]
mod tls_support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::Run;

const DAY: u64 = 86_400;

fn certs(args: &[&str]) -> Run {
    let mut all = vec!["certs"];
    all.extend_from_slice(args);
    common::otelops(&all)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Runs openssl; returns its exit code and output.
fn openssl(args: &[&str], dir: &Path) -> (i32, String) {
    let out = common::run_bounded(
        Command::new(common::openssl()).args(args).current_dir(dir),
        Duration::from_secs(60),
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// The run failed as a usage or input error (exit 2) saying `says`.
fn assert_input_error(run: &Run, says: &str) {
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(says), "{}", run.stderr);
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// `otelops certs init --dir <tmp>/tls`, checked to succeed.
fn init(extra: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tls");
    let mut args = vec!["init", "--dir", s(&dir)];
    args.extend_from_slice(extra);
    let run = certs(&args);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    (tmp, dir)
}

fn check_json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["--output", "json", "certs", "check"];
    all.extend_from_slice(args);
    let run = common::otelops(&all);
    (run.code, run.json())
}

#[test]
fn init_writes_the_profile_and_k8s_secret_layout_with_private_keys_and_openssl_verifies_it() {
    let (_tmp, dir) = init(&[]);
    for (file, want) in [
        ("ca.key", 0o600),
        ("tls.key", 0o600),
        ("ca.crt", 0o644),
        ("tls.crt", 0o644),
    ] {
        assert_eq!(mode(&dir.join(file)), want, "{file}");
    }
    let (code, out) = openssl(&["verify", "-CAfile", "ca.crt", "tls.crt"], &dir);
    assert_eq!(code, 0, "{out}");
    let (_, text) = openssl(&["x509", "-in", "tls.crt", "-noout", "-text"], &dir);
    assert!(text.contains("ASN1 OID: prime256v1"), "{text}");
    assert!(
        text.contains("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"),
        "{text}"
    );

    let (code, report) = check_json(&[s(&dir.join("tls.crt")), "--ca", s(&dir.join("ca.crt"))]);
    assert_eq!(code, 0, "{report:#}");
    let r = &report[0];
    assert_eq!(r["status"], "OK");
    assert_eq!(r["chain"], "ok");
    assert_eq!(r["key"]["matches"], "ok");
    assert_eq!(r["key"]["mode"], "0600");
    assert_eq!(r["days_left"], 90, "the guide's 90-day rotation period");
    assert_eq!(r["issuer"], "CN=Parker Flight OTel CA");
    assert_eq!(
        r["sans"],
        serde_json::json!(["DNS:localhost", "IP:127.0.0.1", "IP:::1"])
    );
    let (_, ca) = check_json(&[s(&dir.join("ca.crt"))]);
    assert!(
        (1824..=1826).contains(&ca[0]["days_left"].as_i64().unwrap()),
        "{ca:#}"
    );

    // A second init never overwrites the CA.
    let before = std::fs::read(dir.join("ca.key")).unwrap();
    let again = certs(&["init", "--dir", s(&dir)]);
    assert_input_error(&again, "ca.key already exists");
    assert_eq!(std::fs::read(dir.join("ca.key")).unwrap(), before);
}

#[test]
fn init_makes_rsa_3072_keys_on_request_and_openssl_verifies_them() {
    let (_tmp, dir) = init(&["--key-type", "rsa3072"]);
    let (code, out) = openssl(&["verify", "-CAfile", "ca.crt", "tls.crt"], &dir);
    assert_eq!(code, 0, "{out}");
    for cert in ["ca.crt", "tls.crt"] {
        let (_, text) = openssl(&["x509", "-in", cert, "-noout", "-text"], &dir);
        assert!(text.contains("Public-Key: (3072 bit)"), "{cert}: {text}");
        assert!(text.contains("sha256WithRSAEncryption"), "{cert}: {text}");
    }
    let (code, r) = check_json(&[s(&dir.join("tls.crt")), "--ca", s(&dir.join("ca.crt"))]);
    assert_eq!(code, 0, "{r:#}");
    assert_eq!(r[0]["key"]["matches"], "ok");
}

#[test]
fn init_takes_dns_and_ip_sans_and_rejects_bad_ones() {
    let (_tmp, dir) = init(&["--dns", "otelcol.parker.internal", "--ip", "10.0.0.7"]);
    let (_, r) = check_json(&[s(&dir.join("tls.crt"))]);
    assert_eq!(
        r[0]["sans"],
        serde_json::json!(["DNS:otelcol.parker.internal", "IP:10.0.0.7"])
    );
    let tmp = tempfile::tempdir().unwrap();
    let bad = certs(&["init", "--dir", s(tmp.path()), "--ip", "10.0.0.300"]);
    assert_input_error(&bad, "--ip \"10.0.0.300\" is not an IP address");
    assert!(!tmp.path().join("ca.key").exists());
}

/// The guide's openssl commands: an RSA CA, then a server key, CSR and a
/// certificate it signs for `days`.
fn guide_openssl_pki(dir: &Path, days: &[u32]) {
    let steps: Vec<Vec<String>> = [
        "genrsa -out ca.key 2048",
        "req -new -x509 -days 365 -key ca.key -out ca.crt -subj /CN=OTel-CA",
        "genrsa -out server.key 2048",
        "req -new -key server.key -out server.csr -subj /CN=otel-collector",
    ]
    .iter()
    .map(|l| l.split(' ').map(str::to_owned).collect())
    .collect();
    for step in steps {
        let args: Vec<&str> = step.iter().map(String::as_str).collect();
        let (code, out) = openssl(&args, dir);
        assert_eq!(code, 0, "openssl {step:?}: {out}");
    }
    // -CAcreateserial continues from ca.srl when it exists: start from a
    // 19-byte serial with its high bit set, which DER pads with a 00 byte
    // that `openssl x509 -serial` does not print (1 in 256 random serials;
    // `certs check` once printed it).
    std::fs::write(
        dir.join("ca.srl"),
        "AD8956278473A027FFC5E69B90DE8A0DD54E5A\n",
    )
    .unwrap();
    for d in days {
        let out = format!("server-{d}.crt");
        let days = d.to_string();
        let (code, text) = openssl(
            &[
                "x509",
                "-req",
                "-days",
                &days,
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &out,
            ],
            dir,
        );
        assert_eq!(code, 0, "{text}");
        // Each certificate with its key next to it, as certs check looks for it.
        std::fs::copy(dir.join("server.key"), dir.join(format!("server-{d}.key"))).unwrap();
        std::fs::set_permissions(
            dir.join(format!("server-{d}.key")),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
}

#[test]
fn check_reads_certificates_from_the_guides_openssl_commands_and_agrees_with_checkend() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    guide_openssl_pki(dir, &[60, 20, 5]);
    for (days, status, code) in [(60, "OK", 0), (20, "WARN", 1), (5, "CRIT", 2)] {
        let file = dir.join(format!("server-{days}.crt"));
        let (got, report) = check_json(&[s(&file), "--ca", s(&dir.join("ca.crt"))]);
        let r = &report[0];
        assert_eq!(
            (got, r["status"].as_str().unwrap()),
            (code, status),
            "{r:#}"
        );
        assert_eq!(r["subject"], "CN=otel-collector");
        assert_eq!(r["issuer"], "CN=OTel-CA");
        assert_eq!(r["chain"], "ok", "{r:#}");
        assert_eq!(r["key"]["matches"], "ok", "{r:#}");
        assert_eq!(r["days_left"], days, "{r:#}");
        let (_, serial) = openssl(&["x509", "-in", s(&file), "-noout", "-serial"], dir);
        let hex = r["serial"]
            .as_str()
            .unwrap()
            .replace(':', "")
            .to_uppercase();
        assert_eq!(serial.trim(), format!("serial={hex}"));

        // WARN exactly when openssl says it expires within 30 days, CRIT
        // within 7.
        for (limit, flagged) in [(30, status != "OK"), (7, status == "CRIT")] {
            let secs = (limit * DAY).to_string();
            let (c, _) = openssl(
                &["x509", "-in", s(&file), "-noout", "-checkend", &secs],
                dir,
            );
            assert_eq!(c == 1, flagged, "{days}-day cert, -checkend {limit} days");
        }
    }
}

#[test]
fn check_is_crit_on_a_foreign_ca_a_foreign_key_or_expiry_and_warn_on_an_open_key() {
    let (_tmp, dir) = init(&[]);
    let (_other_tmp, other) = init(&[]);
    let tls = s(&dir.join("tls.crt")).to_owned();

    let (code, r) = check_json(&[&tls, "--ca", s(&other.join("ca.crt"))]);
    assert_eq!(code, 2, "{r:#}");
    assert!(
        r[0]["chain"]
            .as_str()
            .unwrap()
            .contains("no certificate in the CA file signed it"),
        "{r:#}"
    );

    std::fs::set_permissions(dir.join("tls.key"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code, r) = check_json(&[&tls]);
    assert_eq!(code, 1, "{r:#}");
    assert_eq!(r[0]["key"]["mode"], "0640");
    assert!(r[0]["problems"][0].as_str().unwrap().contains("chmod 600"));

    std::fs::copy(other.join("tls.key"), dir.join("tls.key")).unwrap();
    let (code, r) = check_json(&[&tls]);
    assert_eq!(code, 2, "{r:#}");
    assert_eq!(
        r[0]["key"]["matches"],
        "this key does not belong to the certificate"
    );

    // Expired in 2021 (made by rcgen); openssl agrees it has expired.
    let pki = tls_support::Pki::new("old");
    let expired = pki.server("expired", true);
    let (code, r) = check_json(&[s(&expired.cert_file), "--ca", s(&pki.ca_file())]);
    assert_eq!(code, 2, "{r:#}");
    assert!(r[0]["days_left"].as_i64().unwrap() < 0);
    assert!(
        r[0]["problems"][0]
            .as_str()
            .unwrap()
            .starts_with("expired on 2021-01-01")
    );
    let (c, _) = openssl(
        &[
            "x509",
            "-in",
            s(&expired.cert_file),
            "-noout",
            "-checkend",
            "0",
        ],
        pki.dir(),
    );
    assert_eq!(c, 1);

    let missing = certs(&["check", "/nonexistent/tls.crt"]);
    assert_input_error(&missing, "cannot read /nonexistent/tls.crt");
}

#[test]
fn issue_makes_client_and_server_certificates_openssl_accepts_for_their_purpose() {
    let (_tmp, dir) = init(&[]);
    let run = certs(&["issue", "--dir", s(&dir), "--name", "booking", "--client"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(mode(&dir.join("booking.key")), 0o600);
    let (code, out) = openssl(
        &[
            "verify",
            "-CAfile",
            "ca.crt",
            "-purpose",
            "sslclient",
            "booking.crt",
        ],
        &dir,
    );
    assert_eq!(code, 0, "{out}");
    let (code, _) = openssl(
        &[
            "verify",
            "-CAfile",
            "ca.crt",
            "-purpose",
            "sslserver",
            "booking.crt",
        ],
        &dir,
    );
    assert_ne!(code, 0, "a client certificate is not a server certificate");

    let run = certs(&[
        "issue",
        "--dir",
        s(&dir),
        "--name",
        "gateway",
        "--dns",
        "gw.parker",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (code, out) = openssl(
        &[
            "verify",
            "-CAfile",
            "ca.crt",
            "-purpose",
            "sslserver",
            "gateway.crt",
        ],
        &dir,
    );
    assert_eq!(code, 0, "{out}");

    let bad = certs(&["issue", "--dir", s(&dir), "--name", "../evil"]);
    assert_input_error(&bad, "letters, digits");
    let no_ca = tempfile::tempdir().unwrap();
    let run = certs(&["issue", "--dir", s(no_ca.path()), "--name", "x"]);
    assert_input_error(&run, "run `otelops certs init");
}

#[test]
fn rotate_renews_only_when_due_keeps_the_previous_pair_and_the_key_unless_asked() {
    let (_tmp, dir) = init(&[]);
    let old_cert = std::fs::read(dir.join("tls.crt")).unwrap();
    let old_key = std::fs::read(dir.join("tls.key")).unwrap();

    let run = certs(&["rotate", "--dir", s(&dir)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("not due: 90 days left"),
        "{}",
        run.stdout
    );
    assert_eq!(std::fs::read(dir.join("tls.crt")).unwrap(), old_cert);
    assert!(!dir.join("tls.crt.prev").exists());

    let run = common::otelops(&[
        "--output",
        "json",
        "certs",
        "rotate",
        "--dir",
        s(&dir),
        "--before",
        "91d",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let r = run.json();
    assert_eq!(r["outcome"], "rotated");
    assert_ne!(r["old_serial"], r["new_serial"]);
    assert_eq!(std::fs::read(dir.join("tls.crt.prev")).unwrap(), old_cert);
    assert_eq!(std::fs::read(dir.join("tls.key.prev")).unwrap(), old_key);
    assert_eq!(mode(&dir.join("tls.key.prev")), 0o600);
    assert_eq!(std::fs::read(dir.join("tls.key")).unwrap(), old_key);
    let (code, out) = openssl(&["verify", "-CAfile", "ca.crt", "tls.crt"], &dir);
    assert_eq!(code, 0, "{out}");
    let (_, check) = check_json(&[s(&dir.join("tls.crt")), "--ca", s(&dir.join("ca.crt"))]);
    assert_eq!(check[0]["serial"], r["new_serial"]);
    assert_eq!(
        check[0]["sans"],
        serde_json::json!(["DNS:localhost", "IP:127.0.0.1", "IP:::1"])
    );

    let run = certs(&["rotate", "--dir", s(&dir), "--before", "91d", "--new-key"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_ne!(std::fs::read(dir.join("tls.key")).unwrap(), old_key);
    assert_eq!(mode(&dir.join("tls.key")), 0o600);
    let (code, check) = check_json(&[s(&dir.join("tls.crt")), "--ca", s(&dir.join("ca.crt"))]);
    assert_eq!(code, 0, "{check:#}");
    assert_eq!(check[0]["key"]["matches"], "ok");
}

/// `openssl s_server` on a free loopback port with `cert`/`key`, `extra`
/// flags; killed on drop.
struct SServer(Child, u16);

impl SServer {
    fn start(dir: &Path, extra: &[&str]) -> SServer {
        let port = common::free_port();
        let accept = format!("127.0.0.1:{port}");
        let child = Command::new(common::openssl())
            .args([
                "s_server", "-accept", &accept, "-cert", "tls.crt", "-key", "tls.key",
            ])
            .arg("-quiet")
            .args(extra)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "s_server did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SServer(child, port)
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn check_endpoint_shows_the_presented_chain_and_the_negotiated_tls_version() {
    let (_tmp, dir) = init(&[]);
    let ca = s(&dir.join("ca.crt")).to_owned();
    let (_, file) = check_json(&[s(&dir.join("tls.crt"))]);

    for (flag, version) in [("-tls1_2", "TLSv1_2"), ("-tls1_3", "TLSv1_3")] {
        let server = SServer::start(&dir, &[flag]);
        let endpoint = format!("127.0.0.1:{}", server.1);
        let (code, r) = check_json(&["--endpoint", &endpoint, "--ca", &ca]);
        assert_eq!(code, 0, "{r:#}");
        assert_eq!(r["tls_version"], version);
        assert_eq!(r["chain"][0]["serial"], file[0]["serial"]);
        assert_eq!(r["chain"][0]["days_left"], 90);
    }

    // An untrusted server: CRIT, and its chain is still shown.
    let (_other_tmp, other) = init(&[]);
    let server = SServer::start(&dir, &[]);
    let endpoint = format!("127.0.0.1:{}", server.1);
    let (code, r) = check_json(&["--endpoint", &endpoint, "--ca", s(&other.join("ca.crt"))]);
    assert_eq!(code, 2, "{r:#}");
    // Both CAs are named alike, so webpki finds the name and fails the signature.
    assert!(
        r["error"]
            .as_str()
            .unwrap()
            .contains("invalid peer certificate: BadSignature"),
        "{r:#}"
    );
    assert_eq!(r["chain"][0]["serial"], file[0]["serial"]);
}
