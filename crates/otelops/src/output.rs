//! How results are printed: a human table or machine JSON, chosen by `--output`.

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
}
