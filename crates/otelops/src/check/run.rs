//! What `otelops check export-format|semantic-conventions` runs: gather the
//! documents (files, or what a `--listen` run collected), run one check, and
//! make the [`Report`].

use std::path::PathBuf;

use super::input::{self, Document, InputError};
use super::live::Collected;
use super::{Finding, Report, export_format, semconv};
use crate::semconv_registry::Registry;

/// The documents a check runs on, how many files (or received requests)
/// they came from, and findings about the input itself.
#[derive(Debug)]
pub struct CheckInput {
    pub documents: Vec<Document>,
    pub files: usize,
    pub extra: Vec<Finding>,
}

impl CheckInput {
    pub fn from_files(files: &[PathBuf]) -> Result<CheckInput, InputError> {
        let mut documents = Vec::new();
        for file in files {
            documents.extend(input::load(file)?);
        }
        Ok(CheckInput {
            documents,
            files: files.len(),
            extra: Vec::new(),
        })
    }
}

impl From<Collected> for CheckInput {
    fn from(collected: Collected) -> CheckInput {
        CheckInput {
            extra: collected.rejected_findings(),
            files: collected.requests,
            documents: collected.documents,
        }
    }
}

pub fn export_format_report(input: CheckInput) -> Report {
    let mut findings = export_format::check(&input.documents);
    findings.extend(input.extra);
    Report::new("export-format", input.files, findings)
}

/// The receiver's rejections are an encoding finding, reported by
/// export-format only.
pub fn semconv_report(registry: &Registry, input: CheckInput) -> Report {
    let findings = semconv::check(registry, &input.documents);
    Report::new("semantic-conventions", input.files, findings)
}
