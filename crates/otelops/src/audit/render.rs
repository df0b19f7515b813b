//! The report as a table: one line per item (status, id, title), its
//! evidence and fixes indented below.

use std::fmt::Write;

use super::{Report, Status};

pub fn table(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} audit: {}", r.audit, r.status);
    for item in &r.items {
        let _ = writeln!(
            s,
            "{:<5} {:<20} {}",
            item.status.to_string(),
            item.id,
            item.title
        );
        for e in &item.evidence {
            let _ = writeln!(s, "      - {e}");
        }
        if item.status != Status::Ok {
            for f in &item.fix {
                let _ = writeln!(s, "      fix: {f}");
            }
        }
    }
    s
}
