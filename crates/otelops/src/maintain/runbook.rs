//! Documentation review: every `otelops …` command line in the runbook's
//! ```sh blocks (lines continued with `\` joined) must still parse with
//! the current command line definition, so the runbook does not send an
//! operator to a flag that was renamed.

use std::path::Path;

use clap::Parser;

use super::{Check, Status};
use crate::cli::{Cli, expand_monitor_shorthand};

/// One command line of the runbook: where it starts and its words.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandLine {
    pub line: usize,
    pub text: String,
}

/// The `otelops` command lines inside ```sh (or ```bash, ```shell) blocks.
pub fn commands(markdown: &str) -> Vec<CommandLine> {
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending: Option<CommandLine> = None;
    for (i, raw) in markdown.lines().enumerate() {
        let trimmed = raw.trim();
        if let Some(info) = trimmed.strip_prefix("```") {
            in_sh = !in_sh && matches!(info.trim(), "sh" | "bash" | "shell" | "console");
            pending = None;
            continue;
        }
        if !in_sh {
            continue;
        }
        let (text, continued) = match trimmed.strip_suffix('\\') {
            Some(t) => (t.trim_end(), true),
            None => (trimmed, false),
        };
        let current = match pending.take() {
            Some(mut p) => {
                p.text.push(' ');
                p.text.push_str(text);
                p
            }
            None => CommandLine {
                line: i + 1,
                text: text.trim_start_matches("$ ").to_string(),
            },
        };
        if continued {
            pending = Some(current);
        } else {
            out.push(current);
        }
    }
    out.retain(|c| otelops_words(&c.text).is_some());
    out
}

/// The words of the `otelops` invocation in `text` (after environment
/// assignments, up to the first pipe, redirection or `&&`), or None when
/// the line runs something else.
pub fn otelops_words(text: &str) -> Option<Vec<String>> {
    let words = shlex::split(text)?;
    let start = words
        .iter()
        .position(|w| (w.starts_with('-') || !w.contains('=')) && w != "sudo")?;
    if words[start] != "otelops" {
        return None;
    }
    let stop = |w: &String| {
        matches!(w.as_str(), "|" | "||" | "&&" | ";" | "&")
            || w.starts_with('>')
            || w.starts_with('<')
            || w.starts_with("2>")
    };
    Some(
        words[start..]
            .iter()
            .take_while(|w| !stop(w))
            .cloned()
            .collect(),
    )
}

/// Parses `words` (`otelops …`) as the binary would; the error message
/// otherwise (help and version requests are fine).
pub fn parses(words: &[String]) -> Result<(), String> {
    let args = expand_monitor_shorthand(words.iter().map(Into::into).collect());
    match Cli::try_parse_from(args) {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e
            .to_string()
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or("does not parse")
            .to_string()),
    }
}

pub fn check(path: &Path) -> Check {
    let mut check = Check::new(
        "monthly.docs",
        "Review documentation (the runbook's commands)",
    );
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            check.finding(
                Status::Warn,
                format!("runbook {}: {e}", path.display()),
                format!(
                    "write the runbook at {} (or give --runbook FILE)",
                    path.display()
                ),
            );
            return check;
        }
    };
    let lines = commands(&text);
    if lines.is_empty() {
        check.finding(
            Status::Warn,
            format!("{}: no otelops command in a ```sh block", path.display()),
            "write each procedure's commands into ```sh blocks",
        );
        return check;
    }
    let mut good = 0;
    for c in &lines {
        let words = otelops_words(&c.text).unwrap_or_default();
        match parses(&words) {
            Ok(()) => good += 1,
            Err(e) => {
                check.finding(
                    Status::Warn,
                    format!("{}:{}: `{}`: {e}", path.display(), c.line, c.text),
                    format!(
                        "update {} line {} to the current command line (otelops {} --help)",
                        path.display(),
                        c.line,
                        words.get(1).map(String::as_str).unwrap_or("")
                    ),
                );
                check.kinds.push(format!("line {}: {}", c.line, c.text));
            }
        }
    }
    check.evidence.insert(
        0,
        format!(
            "{}: {good} of {} otelops command lines parse",
            path.display(),
            lines.len()
        ),
    );
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_continuations_and_cuts_pipes() {
        let md = "text\n```sh\nOTEL=1 otelops monitor report \\\n    --output json | jq .\necho hi\n```\n```yaml\notelops: no\n```\n";
        let c = commands(md);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].line, 3);
        assert_eq!(
            otelops_words(&c[0].text).unwrap(),
            ["otelops", "monitor", "report", "--output", "json"]
        );
        assert!(parses(&otelops_words(&c[0].text).unwrap()).is_ok());
        let bad = parses(&[
            "otelops".into(),
            "monitor".into(),
            "report".into(),
            "--no-such-flag".into(),
        ]);
        assert!(bad.unwrap_err().contains("--no-such-flag"));
    }
}
