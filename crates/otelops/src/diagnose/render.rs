//! The human table for a [`Diagnosis`].

use std::fmt::Write;

use super::Diagnosis;

pub fn table(d: &Diagnosis) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "diagnosis: {} ({} finding(s))",
        d.status,
        d.findings.len()
    );
    if d.findings.is_empty() {
        let _ = writeln!(w, "  none of the guide's symptoms found");
    }
    for f in &d.findings {
        let _ = writeln!(w, "\n[{}] {} — {}", f.status, f.symptom, f.subject);
        let _ = writeln!(w, "  cause: {}", f.cause);
        for e in &f.evidence {
            let _ = writeln!(w, "  evidence: {e}");
        }
        for (n, s) in f.steps.iter().enumerate() {
            let _ = writeln!(w, "  {}. {s}", n + 1);
        }
        for c in &f.commands {
            let _ = writeln!(w, "  $ {c}");
        }
        if !f.diff.is_empty() {
            let _ = writeln!(w, "\n{}", f.diff.trim_end());
        }
    }
    for n in &d.notes {
        let _ = writeln!(w, "note: {n}");
    }
    out
}
