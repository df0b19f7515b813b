//! `otelops token` through the binary on real files: `gen` gives what
//! `openssl rand -hex 32` gives, into a 0600 file; `rotate --env-file` edits
//! only the token in .env.otel (parker-telemetry then reads the new
//! `authorization` header); bad input names the file and line and writes
//! nothing. The live rotation on otelcol-parker is in health_production.rs.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use common::otelops;
use parker_telemetry::config::{TelemetryConfig, load_env_file};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn is_hex_token(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn openssl_rand_hex_32() -> String {
    let out = Command::new("openssl")
        .args(["rand", "-hex", "32"])
        .output()
        .expect("openssl (Debian package openssl) on PATH");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn gen_writes_what_openssl_rand_hex_32_gives_into_a_0600_file_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ingest.token");
    let run = otelops(&["token", "gen", "--out", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = std::fs::read_to_string(&file).unwrap();
    let openssl = openssl_rand_hex_32();
    assert!(
        is_hex_token(&openssl),
        "openssl gave {} chars",
        openssl.len()
    );
    assert!(
        is_hex_token(token.trim_end()),
        "not 64 lowercase hex characters"
    );
    assert_eq!(token.len(), openssl.len() + 1, "one token and a newline");
    assert_eq!(mode(&file), 0o600);
    assert!(
        !run.stdout.contains(token.trim_end()),
        "the token was printed"
    );

    let again = otelops(&["token", "gen", "--out", file.to_str().unwrap()]);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists") && again.stderr.contains("token rotate"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), token);
}

#[test]
fn gen_prints_only_when_asked() {
    let run = otelops(&["token", "gen", "--stdout"]);
    assert_eq!(run.code, 0);
    assert!(is_hex_token(run.stdout.trim_end()), "{:?}", run.stdout);
    let other = otelops(&["token", "gen", "--stdout"]);
    assert_ne!(run.stdout, other.stdout);

    let neither = otelops(&["token", "gen"]);
    assert_eq!(neither.code, 2);
    assert!(neither.stderr.contains("--out") && neither.stderr.contains("--stdout"));
}

#[test]
fn rotate_with_overlap_keeps_an_openssl_made_token_second() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ingest.token");
    let old = openssl_rand_hex_32();
    std::fs::write(&file, format!("{old}\n")).unwrap();
    let run = otelops(&[
        "token",
        "rotate",
        "--overlap",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(is_hex_token(lines[0]) && lines[0] != old);
    assert_eq!(lines[1], old);
    assert_eq!(mode(&file), 0o600);
    assert!(!run.stdout.contains(&old) && !run.stdout.contains(lines[0]));
}

/// `otelops token rotate --env-file ENV --var VAR EXTRA…`.
fn rotate_env(env: &Path, var: &str, extra: &[&str]) -> common::Run {
    let mut args = vec![
        "token",
        "rotate",
        "--env-file",
        env.to_str().unwrap(),
        "--var",
        var,
    ];
    args.extend(extra);
    otelops(&args)
}

const ENV_OTEL: &str = "\
# parker-booking telemetry
OTEL_SERVICE_NAME=parker-booking
OTEL_EXPORTER_OTLP_ENDPOINT=https://127.0.0.1:4318
# headers: never printed
OTEL_EXPORTER_OTLP_HEADERS=x-team=ops,authorization=Bearer%20old-token-1 # rotated by otelops
# OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20commented-out

RUST_LOG=info
";

#[test]
fn rotate_env_file_replaces_only_the_authorization_value_and_parker_telemetry_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env.otel");
    let collector = dir.path().join("ingest.token");
    std::fs::write(&env, ENV_OTEL).unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o644)).unwrap();
    let gen_run = otelops(&["token", "gen", "--out", collector.to_str().unwrap()]);
    assert_eq!(gen_run.code, 0, "{}", gen_run.stderr);
    let token = std::fs::read_to_string(&collector)
        .unwrap()
        .trim_end()
        .to_owned();

    let run = rotate_env(
        &env,
        "OTEL_EXPORTER_OTLP_HEADERS",
        &["--token-from", collector.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("OTEL_EXPORTER_OTLP_HEADERS on line 5: token replaced"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(&token) && !run.stderr.contains(&token));

    let text = std::fs::read_to_string(&env).unwrap();
    let want = ENV_OTEL.replace("Bearer%20old-token-1", &format!("Bearer%20{token}"));
    assert_eq!(text, want, "only the authorization value may change");
    assert_eq!(mode(&env), 0o600);

    let vars = load_env_file(&env).unwrap();
    let config = TelemetryConfig::from_source(&vars).unwrap();
    let headers = &config.traces.otlp.headers;
    assert_eq!(
        headers.get("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert_eq!(headers.get("x-team"), Some("ops"));
}

#[test]
fn a_malformed_env_file_is_named_by_line_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join("secrets.env");
    let text = "OTELCOL_EXPORT_TOKEN=abc\nthis is not an assignment\n";
    std::fs::write(&env, text).unwrap();
    let run = rotate_env(&env, "OTELCOL_EXPORT_TOKEN", &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains(&format!("{}:2: expected KEY=VALUE", env.display())),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&env).unwrap(), text);
}

#[test]
fn rotating_a_missing_token_file_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("absent.token");
    let run = otelops(&["token", "rotate", "--file", file.to_str().unwrap()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(&format!(
            "{}: no such token file; make one with `otelops token gen --out",
            file.display()
        )),
        "{}",
        run.stderr
    );
    assert!(!file.exists());
}
