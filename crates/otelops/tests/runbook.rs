//! docs/runbook.md stays true (issue 14, "The runbook"): every `sh` block
//! runs with bash against a live otelcol-parker in the environment the
//! runbook's top describes, and exits as its fence says; the lines of the
//! `text` block after it are in its output; a `no-run` block's `otelops`
//! lines still parse; and every alert's `runbook_url` lands on a heading.

mod common;
#[path = "common/collector/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use clap::Parser;
use support::artifacts::Artifacts;
use support::collector::{self, Collector, Ports};
use support::sink::Sink;

const RUNBOOK: &str = "docs/runbook.md";

/// At most this many blocks may be `no-run`: the ones that need a cluster
/// or a registry. More means the runbook drifts away from what is tested.
const MAX_NO_RUN: usize = 3;

#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    info: Vec<String>,
    body: String,
    /// Lines of the `text` block that follows, if any.
    expect: Vec<String>,
}

impl Block {
    fn has(&self, word: &str) -> bool {
        self.info.iter().any(|w| w == word)
    }

    fn value(&self, key: &str) -> Option<&str> {
        self.info
            .iter()
            .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
    }

    /// The exit codes the fence allows (`exit=0|1`); 0 by default.
    fn exits(&self) -> Vec<i32> {
        self.value("exit").map_or(vec![0], |v| {
            v.split('|')
                .map(|c| {
                    c.parse()
                        .unwrap_or_else(|_| panic!("line {}: bad exit={v}", self.line))
                })
                .collect()
        })
    }
}

/// The ```sh blocks of the markdown, each with the ```text block after it.
fn sh_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut lines = markdown.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let info: Vec<String> = info.split_whitespace().map(str::to_owned).collect();
        let body: Vec<&str> = lines
            .by_ref()
            .map(|(_, l)| l)
            .take_while(|l| !l.starts_with("```"))
            .collect();
        match info.first().map(String::as_str) {
            Some("sh") => blocks.push(Block {
                line: n + 1,
                info: info[1..].to_vec(),
                body: body.join("\n") + "\n",
                expect: Vec::new(),
            }),
            Some("text") => {
                let last = blocks
                    .last_mut()
                    .unwrap_or_else(|| panic!("line {}: a text block before any sh block", n + 1));
                last.expect = body
                    .iter()
                    .filter(|l| !l.trim().is_empty() && l.trim() != "...")
                    .map(|l| l.to_string())
                    .collect();
            }
            _ => {}
        }
    }
    blocks
}

/// GitHub's heading anchors: lower case, punctuation dropped, spaces to
/// hyphens, a repeated heading gets `-1`, `-2`….
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        let Some(title) = line.strip_prefix('#').filter(|_| !in_fence) else {
            continue;
        };
        let slug: String = title
            .trim_start_matches('#')
            .trim()
            .to_lowercase()
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
            .map(|c| if c == ' ' { '-' } else { c })
            .collect();
        let mut unique = slug.clone();
        let mut k = 0;
        while seen.contains(&unique) {
            k += 1;
            unique = format!("{slug}-{k}");
        }
        seen.insert(unique);
    }
    seen
}

fn runbook_text() -> String {
    let path = common::repo_root().join(RUNBOOK);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A block's logical lines (`\` continuations joined).
fn logical_lines(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in body.lines() {
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// Everything a block runs in: a collector on free ports with a sink as
/// its downstream, `otelops` and `otelcol-parker` on PATH, and the
/// variables the runbook's Environment table names.
struct Env {
    vars: Vec<(String, String)>,
    _work: tempfile::TempDir,
}

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link)
        .unwrap_or_else(|e| panic!("symlink {}: {e}", link.display()));
}

fn environment(art: &Artifacts, ports: &Ports, config: &Path) -> Env {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let bin = w.join("bin");
    std::fs::create_dir(&bin).unwrap();
    symlink(
        Path::new(env!("CARGO_BIN_EXE_otelops")),
        &bin.join("otelops"),
    );
    symlink(&common::otelcol_parker(), &bin.join("otelcol-parker"));
    let pass = w.join("backup.pass");
    std::fs::write(&pass, "runbook test passphrase, not a secret\n").unwrap();
    std::fs::set_permissions(&pass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let s = |p: &Path| p.display().to_string();
    let stem = config.file_stem().unwrap().to_string_lossy();
    let vars = vec![
        ("PATH", path),
        ("WORK", s(w)),
        ("CONFIG", s(config)),
        ("LOG", s(&art.path(&format!("collector-{stem}-run1.log")))),
        ("HEALTH_URL", ports.health_url()),
        ("METRICS_URL", ports.metrics_url()),
        ("OTLP_GRPC", ports.otlp_grpc_url()),
        ("OTLP_HTTP", ports.otlp_http_url()),
        ("ZPAGES_URL", ports.zpages_url()),
        ("CERTS", s(&w.join("tls"))),
        ("PASSPHRASE_FILE", s(&pass)),
        ("TARGET", "v0.162.0".to_owned()),
    ];
    Env {
        vars: vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        _work: work,
    }
}

fn bash(env: &Env, script: &str) -> common::Run {
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail", "-c", script])
        .current_dir(common::repo_root())
        .envs(env.vars.iter().map(|(k, v)| (k, v)));
    common::run_bounded(&mut cmd, Duration::from_secs(180)).into()
}

/// A `no-run` block: its otelops lines, expanded by bash in the test's
/// environment, must parse; the rest must be valid bash.
fn parse_only(env: &Env, block: &Block) -> Result<(), String> {
    let mut cmd = Command::new("bash");
    cmd.args(["-n", "-c", &block.body]);
    let syntax = common::Run::from(common::run_bounded(&mut cmd, Duration::from_secs(10)));
    if syntax.code != 0 {
        return Err(format!("line {}: {}", block.line, syntax.stderr));
    }
    for line in logical_lines(&block.body) {
        if !line.trim_start().starts_with("otelops ") {
            continue;
        }
        let words = bash(
            env,
            &format!("args() {{ printf '%s\\0' \"$@\"; }}; args {line}"),
        );
        if words.code != 0 {
            return Err(format!("{line}: {}", words.stderr));
        }
        let argv: Vec<&str> = words.stdout.split_terminator('\0').collect();
        otelops::cli::Cli::try_parse_from(&argv)
            .map_err(|e| format!("{RUNBOOK}:{}: `{line}` does not parse:\n{e}", block.line))?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_block_of_the_runbook_runs_against_a_live_collector() {
    let markdown = runbook_text();
    let blocks = sh_blocks(&markdown);
    assert!(blocks.len() >= 20, "only {} sh blocks", blocks.len());

    let art = Artifacts::new("runbook");
    let ports = Ports::free();
    let rendered = collector::render("healthy.yaml", &ports, &[], &art);
    // Export latency is on the page only at `detailed`.
    let text = std::fs::read_to_string(&rendered)
        .unwrap()
        .replace("level: normal", "level: detailed");
    let config = art.save("collector.yaml", &text);
    let _sink = Sink::start(ports.downstream).await;
    let mut collector = Collector::start(config.clone(), ports, &art).await;
    let env = environment(&art, &ports, &config);

    let (mut ran, mut no_run) = (0, 0);
    for block in &blocks {
        if block.has("no-run") {
            parse_only(&env, block).unwrap_or_else(|e| panic!("{e}"));
            no_run += 1;
            continue;
        }
        let run = tokio::task::block_in_place(|| bash(&env, &block.body));
        let out = format!("{}{}", run.stdout, run.stderr);
        art.save(&format!("block-line{}.out", block.line), &out);
        assert!(
            block.exits().contains(&run.code),
            "{RUNBOOK}:{}: exit {} (expected {:?})\n{}\noutput:\n{out}",
            block.line,
            run.code,
            block.exits(),
            block.body
        );
        for want in &block.expect {
            assert!(
                out.contains(want.as_str()),
                "{RUNBOOK}:{}: the output lacks the documented line {want:?}\noutput:\n{out}",
                block.line
            );
        }
        ran += 1;
    }
    art.note(&format!("ran {ran}, parsed {no_run} no-run"));
    assert!(
        no_run <= MAX_NO_RUN,
        "{no_run} no-run blocks (at most {MAX_NO_RUN})"
    );
    collector.stop().await;
}

#[test]
fn every_alert_links_to_a_runbook_section_that_exists() {
    let anchors = anchors(&runbook_text());
    let rules_path = common::repo_root().join("deploy/prometheus/otelcol-parker-rules.yaml");
    let rules =
        otelops::collector_config::document::parse(&std::fs::read_to_string(&rules_path).unwrap())
            .unwrap();
    let mut checked = 0;
    for group in rules.get("groups").unwrap().as_seq().unwrap() {
        for rule in group.get("rules").unwrap().as_seq().unwrap() {
            let alert = rule.get("alert").unwrap().as_str().unwrap();
            let url = rule
                .path(&["annotations", "runbook_url"])
                .and_then(|n| n.as_str())
                .unwrap_or_else(|| panic!("{alert} has no annotations.runbook_url"));
            let anchor = url
                .strip_prefix(&format!("{RUNBOOK}#"))
                .unwrap_or_else(|| panic!("{alert}: {url} is not {RUNBOOK}#section"));
            assert!(
                anchors.contains(anchor),
                "{alert}: #{anchor} is not a heading of {RUNBOOK} ({anchors:?})"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, otelops::dashboards::alerts::ALERTS.len());
}

#[test]
fn the_runbooks_own_links_land_on_its_headings() {
    let markdown = runbook_text();
    let anchors = anchors(&markdown);
    let link = regex::Regex::new(r"\]\(#([^)]+)\)").unwrap();
    for cap in link.captures_iter(&markdown) {
        assert!(anchors.contains(&cap[1]), "#{} is not a heading", &cap[1]);
    }
}

#[test]
fn github_anchors_follow_its_slug_rules() {
    let a = anchors(
        "# Runbook: otelcol\n## Backup and restore\n## A\n## A\n```sh\n# not a heading\n```\n",
    );
    let want: BTreeSet<String> = ["runbook-otelcol", "backup-and-restore", "a", "a-1"]
        .map(str::to_owned)
        .into();
    assert_eq!(a, want);
}

#[test]
fn fences_say_which_blocks_run_and_how_they_may_exit() {
    let blocks = sh_blocks(
        "```sh\na\n```\n```text\nout\n...\n```\n```sh exit=0|1\nb\n```\n```sh no-run\nc\n```\n",
    );
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[0].expect, ["out"]);
    assert_eq!(blocks[0].exits(), [0]);
    assert_eq!(blocks[1].exits(), [0, 1]);
    assert!(blocks[2].has("no-run"));
    assert_eq!(
        logical_lines("otelops a \\\n  --b c\nx\n"),
        ["otelops a   --b c", "x"]
    );
}

#[test]
fn a_no_run_blocks_otelops_lines_must_parse() {
    let work = tempfile::tempdir().unwrap();
    let env = Env {
        vars: vec![("CERTS".to_owned(), "/etc/otelcol/tls".to_owned())],
        _work: work,
    };
    let block = |body: &str| Block {
        line: 1,
        info: vec!["no-run".into()],
        body: body.to_owned(),
        expect: Vec::new(),
    };
    parse_only(
        &env,
        &block("kubectl apply -k deploy/k8s\notelops certs rotate \\\n  --dir \"$CERTS\"\n"),
    )
    .unwrap();
    let err = parse_only(
        &env,
        &block("otelops certs rotate --directory \"$CERTS\"\n"),
    )
    .unwrap_err();
    assert!(err.contains("--directory"), "{err}");
    let err = parse_only(&env, &block("if then fi\n")).unwrap_err();
    assert!(err.contains("syntax"), "{err}");
}
