//! `otelops backup` through the binary, checked with Debian's `gpg`, GNU
//! `tar` and `sha256sum`: a sorted, reproducible archive with a manifest;
//! certificates that `gpg --decrypt` opens (with the guide's parameters),
//! and a file made by the guide's `tar | gpg --symmetric` line restored; a
//! wrong passphrase, a truncated file and a tampered archive each fail
//! clearly and restore nothing; newer files kept without --force.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::{Run, otelops, run_bounded};

const PASSPHRASE: &str = "correct horse battery staple";
const KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";

/// A collector config directory, a certificates directory and a passphrase
/// file in one temporary directory.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("collector/otel-collector.yaml"),
            "receivers: {}\n",
            0o644,
        );
        write(
            &root.join("collector/env/production.env"),
            "OTELCOL_BIND=0.0.0.0\n",
            0o640,
        );
        write(
            &root.join("certs/ca.pem"),
            "-----BEGIN CERTIFICATE-----\nca\n",
            0o644,
        );
        write(
            &root.join("certs/server.pem"),
            "-----BEGIN CERTIFICATE-----\nsrv\n",
            0o644,
        );
        write(&root.join("certs/server.key"), KEY_PEM, 0o600);
        write(&root.join("passphrase"), &format!("{PASSPHRASE}\n"), 0o600);
        write(&root.join("wrong"), "not the passphrase\n", 0o600);
        Setup { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn s(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }

    /// `backup create` into `backups/NAME.tar.gz`; returns the archive path.
    fn create(&self, name: &str) -> PathBuf {
        std::fs::create_dir_all(self.path("backups")).unwrap();
        let out = self.path(&format!("backups/{name}.tar.gz"));
        let run = self.create_with(&out, ["--passphrase-file", &self.s("passphrase")]);
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        assert_no_secret(&run);
        out
    }

    /// `backup create` of the config and certs into `out` with the
    /// passphrase flag and value given.
    fn create_with(&self, out: &Path, passphrase: [&str; 2]) -> Run {
        otelops(&[
            "backup",
            "create",
            "--config",
            &self.s("collector"),
            "--certs",
            &self.s("certs"),
            "--out",
            &out.display().to_string(),
            passphrase[0],
            passphrase[1],
        ])
    }

    fn restore(&self, backup: &Path, to: &str, passphrase: &str, extra: &[&str]) -> Run {
        let mut args = vec![
            "backup".to_owned(),
            "restore".to_owned(),
            backup.display().to_string(),
            "--to".to_owned(),
            self.s(to),
            "--passphrase-file".to_owned(),
            self.s(passphrase),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let run = otelops(&args);
        assert_no_secret(&run);
        run
    }

    /// `gpg` with a home of its own and no agent (nothing outlives the test).
    fn gpg(&self) -> Command {
        let home = self.path("gnupg");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut cmd = Command::new(common::gpg());
        cmd.arg("--homedir").arg(home).args([
            "--batch",
            "--no-autostart",
            "--pinentry-mode",
            "loopback",
        ]);
        cmd
    }
}

/// Written with `mode` and an mtime in the past (June 2025), so an edit
/// made by a test is newer than the backup by whole seconds, as tar keeps them.
fn write(path: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    let file = std::fs::File::open(path).unwrap();
    file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000))
        .unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn assert_no_secret(run: &Run) {
    for secret in [PASSPHRASE, "MIGHAgEAMBMGByqGSM49"] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "a secret was printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
}

fn tool(cmd: &mut Command) -> std::process::Output {
    let out = run_bounded(cmd, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Nothing was restored: `to` is absent or empty.
fn assert_nothing_restored(to: &Path) {
    let count = std::fs::read_dir(to).map_or(0, |d| d.count());
    assert_eq!(count, 0, "{} is not empty", to.display());
}

fn certs_file(archive: &Path) -> PathBuf {
    let name = archive.file_name().unwrap().to_str().unwrap();
    archive.with_file_name(name.replace(".tar.gz", ".certs.tar.gpg"))
}

#[test]
fn create_writes_a_sorted_archive_whose_manifest_sha256sum_accepts() {
    let setup = Setup::new();
    let archive = setup.create("otel");
    let certs = certs_file(&archive);
    assert_eq!(mode(&archive), 0o600);
    assert_eq!(mode(&certs), 0o600);

    let listing = tool(Command::new("tar").arg("-tzf").arg(&archive));
    assert_eq!(
        String::from_utf8(listing.stdout).unwrap(),
        "MANIFEST.sha256\ncollector/env/production.env\ncollector/otel-collector.yaml\n"
    );
    let extracted = setup.path("extracted");
    std::fs::create_dir(&extracted).unwrap();
    tool(
        Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&extracted),
    );
    let check = tool(
        Command::new("sha256sum")
            .args(["-c", "MANIFEST.sha256"])
            .current_dir(&extracted),
    );
    assert_eq!(
        String::from_utf8(check.stdout).unwrap(),
        "collector/env/production.env: OK\ncollector/otel-collector.yaml: OK\n"
    );
    // The keys are only in the encrypted file, and not readable there.
    let encrypted = std::fs::read(&certs).unwrap();
    assert!(!encrypted.windows(20).any(|w| w == b"MIGHAgEAMBMGByqGSM49"));
}

#[test]
fn the_same_files_give_the_same_archive_bytes() {
    let setup = Setup::new();
    let first = setup.create("one");
    let second = setup.create("two");
    assert_eq!(
        std::fs::read(first).unwrap(),
        std::fs::read(second).unwrap()
    );
}

#[test]
fn gpg_opens_our_certificates_file_made_with_the_guides_parameters() {
    let setup = Setup::new();
    let certs = certs_file(&setup.create("otel"));

    let packets = tool(
        setup
            .gpg()
            .arg("--passphrase-file")
            .arg(setup.path("passphrase"))
            .arg("--list-packets")
            .arg(&certs),
    );
    let packets = String::from_utf8_lossy(&packets.stdout).into_owned();
    // --cipher-algo AES256 (9), --s2k-mode 3, --s2k-digest-algo SHA512 (10),
    // --s2k-count 65536, --compress-algo 1 (ZIP), an MDC-protected packet.
    for expected in [
        "symkey enc packet: version 4, cipher 9, aead 0,s2k 3, hash 10",
        "count 65536 (96)",
        "mdc_method: 2",
        "compressed packet: algo=1",
    ] {
        assert!(
            packets.contains(expected),
            "{expected:?} not in:\n{packets}"
        );
    }

    let tar = setup.path("certs.tar");
    tool(
        setup
            .gpg()
            .arg("--passphrase-file")
            .arg(setup.path("passphrase"))
            .arg("--output")
            .arg(&tar)
            .arg("--decrypt")
            .arg(&certs),
    );
    let out = setup.path("from-gpg");
    std::fs::create_dir(&out).unwrap();
    tool(
        Command::new("tar")
            .arg("-xpf")
            .arg(&tar)
            .arg("-C")
            .arg(&out),
    );
    assert_eq!(
        std::fs::read_to_string(out.join("certs/server.key")).unwrap(),
        KEY_PEM
    );
    assert_eq!(mode(&out.join("certs/server.key")), 0o600);
    tool(
        Command::new("sha256sum")
            .args(["-c", "MANIFEST.sha256"])
            .current_dir(&out),
    );
}

#[test]
fn a_file_made_by_the_guides_tar_and_gpg_line_is_restored_with_its_modes() {
    let setup = Setup::new();
    let gpg_file = setup.path("certs.tar.gpg");
    // The guide's line, with the tar it needs first (gpg cannot encrypt a
    // directory): tar -c certs | gpg --symmetric … -o certs.tar.gpg
    let tar = setup.path("certs.tar");
    tool(
        Command::new("tar")
            .arg("-cf")
            .arg(&tar)
            .arg("certs")
            .current_dir(setup.dir.path()),
    );
    tool(
        setup
            .gpg()
            .args([
                "--symmetric",
                "--cipher-algo",
                "AES256",
                "--compress-algo",
                "1",
                "--s2k-mode",
                "3",
                "--s2k-digest-algo",
                "SHA512",
                "--s2k-count",
                "65536",
                "--passphrase-file",
            ])
            .arg(setup.path("passphrase"))
            .arg("--output")
            .arg(&gpg_file)
            .arg(&tar),
    );

    // gpg's SKESK carries no session key to check: a wrong passphrase shows
    // as data failing its MDC, and nothing is written.
    let run = setup.restore(&gpg_file, "restored", "wrong", &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("cannot decrypt: wrong passphrase, or the file was changed or truncated"),
        "{}",
        run.stderr
    );
    assert_nothing_restored(&setup.path("restored"));

    let run = setup.restore(&gpg_file, "restored", "passphrase", &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let to = setup.path("restored/certs");
    assert_eq!(
        std::fs::read_to_string(to.join("server.key")).unwrap(),
        KEY_PEM
    );
    assert_eq!(mode(&to.join("server.key")), 0o600);
    assert_eq!(mode(&to.join("ca.pem")), 0o644);
    // A private file's new directory is private too.
    assert_eq!(mode(&to), 0o700);
    let added: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("added"))
        .collect();
    assert_eq!(added.len(), 3, "{}", run.stdout);
    assert!(run.stdout.contains(&format!(
        "added           0600  {}",
        to.join("server.key").display()
    )));
}

#[test]
fn verify_passes_on_a_fresh_backup_and_both_runs_are_on_record() {
    let setup = Setup::new();
    let archive = setup.create("otel");
    let run = otelops(&[
        "backup",
        "verify",
        &archive.display().to_string(),
        "--passphrase-env",
        "OTELOPS_TEST_BACKUP_PASS",
    ]);
    // The variable is unset in this process: a usage error naming it.
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("environment variable OTELOPS_TEST_BACKUP_PASS is not set")
    );

    let mut cmd = common::otelops_command();
    cmd.args(["--output", "json", "backup", "verify"])
        .arg(&archive)
        .args(["--passphrase-env", "OTELOPS_TEST_BACKUP_PASS"])
        .env("OTELOPS_TEST_BACKUP_PASS", PASSPHRASE);
    let run: Run = run_bounded(&mut cmd, Duration::from_secs(60)).into();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_no_secret(&run);
    let report = run.json();
    assert_eq!(report["config_files"], 2);
    assert_eq!(report["certs_files"], 3);
    assert_eq!(report["restored_files"], 5);

    let records = records(&setup);
    let events: Vec<(&str, bool)> = records
        .iter()
        .map(|r| (r["event"].as_str().unwrap(), r["ok"].as_bool().unwrap()))
        .collect();
    // The failed run above stopped at reading the passphrase: no verify ran.
    assert_eq!(events, [("create", true), ("verify", true)]);
    for r in &records {
        assert_eq!(
            r["path"],
            archive.canonicalize().unwrap().display().to_string()
        );
        let at = humantime::parse_rfc3339(r["at"].as_str().unwrap()).unwrap();
        assert!(at <= SystemTime::now());
        assert!(r["at"].as_str().unwrap().ends_with('Z'));
    }
}

fn records(setup: &Setup) -> Vec<serde_json::Value> {
    std::fs::read_to_string(setup.path("backups/otelops-backups.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_wrong_passphrase_fails_clearly_restores_nothing_and_is_on_record() {
    let setup = Setup::new();
    let archive = setup.create("otel");
    let run = setup.restore(&archive, "restored", "wrong", &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("cannot decrypt: wrong passphrase"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("otel.certs.tar.gpg"), "{}", run.stderr);
    assert_nothing_restored(&setup.path("restored"));

    let run = otelops(&[
        "backup",
        "verify",
        &archive.display().to_string(),
        "--passphrase-file",
        &setup.s("wrong"),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("wrong passphrase"), "{}", run.stderr);
    let last = records(&setup).pop().unwrap();
    assert_eq!(
        (last["event"].as_str(), last["ok"].as_bool()),
        (Some("verify"), Some(false))
    );
}

fn truncate(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    std::fs::write(path, &bytes[..bytes.len() / 2]).unwrap();
}

#[test]
fn a_truncated_certificates_file_or_archive_fails_clearly_and_restores_nothing() {
    let setup = Setup::new();
    let archive = setup.create("otel");
    truncate(&certs_file(&archive));
    let run = setup.restore(&archive, "restored", "passphrase", &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.stderr.contains("otel.certs.tar.gpg"), "{}", run.stderr);
    assert!(run.stderr.contains("truncated"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing restored"), "{}", run.stderr);
    assert_nothing_restored(&setup.path("restored"));

    let archive = setup.create("second");
    truncate(&archive);
    let run = setup.restore(&archive, "restored", "passphrase", &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("second.tar.gz: damaged or truncated (gzip"),
        "{}",
        run.stderr
    );
    assert_nothing_restored(&setup.path("restored"));
}

#[test]
fn a_tampered_archive_or_certificates_file_fails_clearly_and_restores_nothing() {
    let setup = Setup::new();
    let archive = setup.create("otel");
    // A config file changed inside an otherwise well-formed archive (GNU tar
    // and gzip rebuild it), the manifest left as it was.
    let work = setup.path("tamper");
    std::fs::create_dir(&work).unwrap();
    tool(
        Command::new("tar")
            .arg("-xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&work),
    );
    std::fs::write(
        work.join("collector/otel-collector.yaml"),
        "receivers: {evil: {}}\n",
    )
    .unwrap();
    tool(
        Command::new("tar")
            .arg("-czf")
            .arg(&archive)
            .args(["MANIFEST.sha256", "collector"])
            .current_dir(&work),
    );
    let run = setup.restore(&archive, "restored", "passphrase", &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("collector/otel-collector.yaml: SHA-256")
            && run.stderr.contains("does not match the manifest"),
        "{}",
        run.stderr
    );
    assert_nothing_restored(&setup.path("restored"));

    // A file left out of the archive, and the certificates file gone.
    tool(
        Command::new("tar")
            .arg("-czf")
            .arg(&archive)
            .args(["MANIFEST.sha256", "collector/otel-collector.yaml"])
            .current_dir(&work),
    );
    let run = setup.restore(&archive, "restored", "passphrase", &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "collector/env/production.env is in the manifest but not in the backup; nothing restored"
        ),
        "{}",
        run.stderr
    );
    let third = setup.create("third");
    std::fs::remove_file(certs_file(&third)).unwrap();
    let run = otelops(&[
        "backup",
        "verify",
        &third.display().to_string(),
        "--passphrase-file",
        &setup.s("passphrase"),
    ]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("third.certs.tar.gpg: No such file"),
        "{}",
        run.stderr
    );
    assert_nothing_restored(&setup.path("restored"));

    // One byte of the encrypted certificates flipped: the MDC catches it.
    let archive = setup.create("second");
    let certs = certs_file(&archive);
    let mut bytes = std::fs::read(&certs).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&certs, bytes).unwrap();
    let run = setup.restore(&archive, "restored", "passphrase", &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains("second.certs.tar.gpg"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("nothing restored"), "{}", run.stderr);
    assert_nothing_restored(&setup.path("restored"));
}

#[test]
fn restore_lists_changes_and_keeps_a_newer_file_unless_forced() {
    let setup = Setup::new();
    let archive = setup.create("otel");
    let run = setup.restore(&archive, "restored", "passphrase", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let config = setup.path("restored/collector/otel-collector.yaml");
    let env = setup.path("restored/collector/env/production.env");
    assert_eq!(mode(&env), 0o640);

    // Edited after the backup (newer), and one put back to an older state.
    std::fs::write(&config, "receivers: {edited: {}}\n").unwrap();
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    std::fs::write(&env, "OTELCOL_BIND=127.0.0.1\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&env)
        .unwrap()
        .set_modified(old)
        .unwrap();

    let run = setup.restore(&archive, "restored", "passphrase", &[]);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("are newer than the backup's: collector/otel-collector.yaml;")
            && run.stderr.contains("--force"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "receivers: {edited: {}}\n"
    );
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "OTELCOL_BIND=127.0.0.1\n"
    );

    let mut cmd = common::otelops_command();
    cmd.args(["--output", "json", "backup", "restore"])
        .arg(&archive)
        .arg("--to")
        .arg(setup.path("restored"))
        .arg("--passphrase-file")
        .arg(setup.path("passphrase"))
        .arg("--force");
    let run: Run = run_bounded(&mut cmd, Duration::from_secs(60)).into();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let kinds: Vec<(String, String)> = run
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let path = c["path"].as_str().unwrap();
            let rel = path.strip_prefix(&setup.s("restored/")).unwrap().to_owned();
            (rel, c["kind"].as_str().unwrap().to_owned())
        })
        .collect();
    let kind = |rel: &str| {
        kinds
            .iter()
            .find(|(p, _)| p == rel)
            .map(|(_, k)| k.as_str())
    };
    assert_eq!(
        kind("collector/otel-collector.yaml"),
        Some("replaced-newer")
    );
    assert_eq!(kind("collector/env/production.env"), Some("changed"));
    assert_eq!(kind("certs/server.key"), Some("unchanged"));
    assert_eq!(kinds.len(), 5);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "receivers: {}\n");
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        "OTELCOL_BIND=0.0.0.0\n"
    );
    assert_eq!(mode(&env), 0o640);
}

#[test]
fn the_passphrase_is_never_a_flag_value_and_bad_out_names_are_refused() {
    let setup = Setup::new();
    let run = setup.create_with(&setup.path("b.tar.gz"), ["--passphrase", PASSPHRASE]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unexpected argument '--passphrase'"),
        "{}",
        run.stderr
    );

    let run = setup.create_with(
        &setup.path("b.zip"),
        ["--passphrase-file", &setup.s("passphrase")],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("b.zip: a backup's name must end in .tar.gz"),
        "{}",
        run.stderr
    );
    assert!(!setup.path("b.zip").exists());
}
