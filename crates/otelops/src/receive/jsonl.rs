//! The optional OTLP-JSON lines copy (`--jsonl FILE`): one accepted export
//! request per line, in the collector file exporter's format, so the file
//! can be fed to `otelops check` or `otelops traces --jsonl` later.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Mutex;

#[derive(Debug)]
pub struct JsonlSink {
    file: Mutex<BufWriter<File>>,
}

impl JsonlSink {
    /// Opens `path` for appending, creating it if needed.
    pub fn open(path: &Path) -> std::io::Result<JsonlSink> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(JsonlSink {
            file: Mutex::new(BufWriter::new(file)),
        })
    }

    /// Serializes outside the lock, then writes and flushes one line so a
    /// reader tailing the file sees whole requests.
    pub fn append(&self, request: &impl serde::Serialize) {
        let mut line = match serde_json::to_vec(request) {
            Ok(line) => line,
            Err(err) => {
                eprintln!("otelops receive: cannot encode a request as OTLP/JSON: {err}");
                return;
            }
        };
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(err) = file.write_all(&line).and_then(|()| file.flush()) {
            eprintln!("otelops receive: cannot append to the JSONL file: {err}");
        }
    }

    pub fn flush(&self) {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(err) = file.flush() {
            eprintln!("otelops receive: cannot flush the JSONL file: {err}");
        }
    }
}
