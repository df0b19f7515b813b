//! Help with examples on every command, completions for three shells.

mod common;

use common::otelops;

/// Every visible command and command group, as clap knows them, so a new
/// command is covered without editing this list.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        out.push(path.clone());
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            if sub.get_name() == "help" {
                continue;
            }
            let mut next = path.clone();
            next.push(sub.get_name().to_owned());
            walk(sub, next, out);
        }
    }
    let mut out = Vec::new();
    let mut cli = <otelops::cli::Cli as clap::CommandFactory>::command();
    cli.build();
    walk(&cli, Vec::new(), &mut out);
    out
}

#[test]
fn every_command_help_has_examples_and_exit_codes() {
    let paths = command_paths();
    assert!(paths.len() > 15, "{paths:?}");
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let run = otelops(&args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        for needed in ["Examples:", "Exit codes"] {
            assert!(
                run.stdout.contains(needed),
                "{args:?} --help lacks {needed:?}:\n{}",
                run.stdout
            );
        }
    }
    let top = otelops(&["--help"]);
    assert!(
        top.stdout
            .contains("monitor   0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN"),
        "{}",
        top.stdout
    );
}

#[test]
fn completions_for_bash_zsh_fish_name_the_subcommands() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef otelops"),
        ("fish", "complete -c otelops"),
    ] {
        let run = otelops(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(
            run.stdout.contains(marker),
            "{shell}:\n{}",
            &run.stdout[..run.stdout.len().min(400)]
        );
        for sub in ["health", "monitor", "tune"] {
            assert!(run.stdout.contains(sub), "{shell} completion lacks {sub}");
        }
    }
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let run = otelops(&["completions", "tcsh"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("tcsh"));
}
