//! Exit codes a probe or CI job can rely on (documented in `otelops --help`
//! and in each command's `--help`).
//!
//! | code | health              | monitor report/watch   | tune                 | others        |
//! |------|---------------------|------------------------|----------------------|---------------|
//! | 0    | every check passed  | OK                     | nothing to change    | success       |
//! | 1    | a check failed      | WARN                   | recommendations made | —             |
//! | 2    | usage/input error   | CRIT                   | usage/input error    | usage/input   |
//! | 3    | —                   | UNKNOWN: could not scrape, read or parse (Nagios convention) | — | — |
//!
//! `monitor` follows the Nagios plugin convention (0/1/2/3) so existing probe
//! tooling reads it; everywhere else 2 means the command line or its input
//! was wrong (clap uses 2 for usage errors too).

use std::process::ExitCode;

pub const OK: u8 = 0;
pub const FAILED: u8 = 1;
pub const WARN: u8 = 1;
pub const CRIT: u8 = 2;
pub const USAGE: u8 = 2;
pub const UNKNOWN: u8 = 3;

pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
