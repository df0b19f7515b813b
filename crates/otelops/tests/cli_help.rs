//! Help with examples on every command, completions for three shells.

mod common;

use common::otelops;

#[test]
fn every_command_help_has_examples() {
    for cmd in [
        vec!["--help"],
        vec!["health", "--help"],
        vec!["monitor", "report", "--help"],
        vec!["monitor", "watch", "--help"],
        vec!["monitor", "trends", "--help"],
        vec!["tune", "--help"],
        vec!["completions", "--help"],
    ] {
        let run = otelops(&cmd);
        assert_eq!(run.code, 0, "{cmd:?}: {}", run.stderr);
        assert!(
            run.stdout.contains("Examples:"),
            "{cmd:?} has no examples:\n{}",
            run.stdout
        );
    }
    let top = otelops(&["--help"]);
    assert!(
        top.stdout
            .contains("monitor  0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN")
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
