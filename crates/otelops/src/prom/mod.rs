//! A Prometheus metrics page in memory: families of samples, looked up by the
//! collector's metric names in whichever form a collector version wrote them.
//!
//! Start at [`parse`]; then [`Page::family`] finds `otelcol_receiver_accepted_spans`
//! whether the page says `otelcol_receiver_accepted_spans`,
//! `otelcol_receiver_accepted_spans_total`, or (for unit-suffixed names such as
//! `otelcol_process_memory_rss_bytes`) adds a unit; dots and underscores are
//! interchangeable (`http.client.request.duration`).

mod histogram;
mod parse;

use std::collections::HashMap;

pub use histogram::Histogram;
pub use parse::{ParseError, parse};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

/// Label pairs in page order, kept in one buffer (key, value, key, value…)
/// with offsets: parsing a 10,000-series page then costs two allocations per
/// sample instead of two per label.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels {
    pub(super) buf: String,
    /// (key start, key end = value start, value end) into `buf`.
    pub(super) spans: Vec<(u32, u32, u32)>,
}

impl Labels {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.spans.iter().map(|&(k, v, e)| {
            (
                &self.buf[k as usize..v as usize],
                &self.buf[v as usize..e as usize],
            )
        })
    }

    pub fn push(&mut self, key: &str, value: &str) {
        let k = self.buf.len() as u32;
        self.buf.push_str(key);
        let v = self.buf.len() as u32;
        self.buf.push_str(value);
        self.spans.push((k, v, self.buf.len() as u32));
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The full sample name, e.g. `x_bucket` inside family `x`.
    pub name: String,
    pub labels: Labels,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    pub kind: MetricType,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

/// Unit suffixes the Prometheus translation appends (`By` → `_bytes`, ...).
const UNIT_SUFFIXES: [&str; 4] = ["_bytes", "_seconds", "_milliseconds", "_ratio"];
/// Suffixes a sample may carry beyond its family's name.
const SAMPLE_SUFFIXES: [&str; 6] = ["_total", "_created", "_bucket", "_sum", "_count", "_info"];

#[derive(Debug, Clone, Default)]
pub struct Page {
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
    by_canonical: HashMap<String, usize>,
}

impl Page {
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    pub fn series_count(&self) -> usize {
        self.families.iter().map(|f| f.samples.len()).sum()
    }

    /// Find a family by its current collector name (no `_total`, no unit
    /// suffix, underscores), accepting every historical spelling.
    pub fn family(&self, name: &str) -> Option<&Family> {
        self.by_canonical
            .get(&canonical(name))
            .map(|&i| &self.families[i])
    }

    pub(crate) fn family_mut(&mut self, name: &str) -> &mut Family {
        let idx = match self.by_name.get(name) {
            Some(&i) => i,
            None => self.new_family(name, MetricType::Untyped),
        };
        &mut self.families[idx]
    }

    fn new_family(&mut self, name: &str, kind: MetricType) -> usize {
        self.families.push(Family {
            name: name.to_string(),
            kind,
            help: None,
            samples: Vec::new(),
        });
        let idx = self.families.len() - 1;
        self.by_name.insert(name.to_string(), idx);
        idx
    }

    pub(crate) fn push_sample(&mut self, sample: Sample) {
        // The family announced last is the usual home; otherwise strip one
        // sample suffix and look again; otherwise the sample is its own family.
        let last = self.families.len().checked_sub(1);
        let idx = match last {
            Some(i) if belongs(&self.families[i].name, &sample.name) => i,
            _ => match self.by_name.get(&sample.name) {
                Some(&i) => i,
                None => {
                    let stem = SAMPLE_SUFFIXES
                        .iter()
                        .find_map(|s| sample.name.strip_suffix(s));
                    match stem.and_then(|s| self.by_name.get(s)) {
                        Some(&i) => i,
                        None => self.new_family(&sample.name.clone(), MetricType::Untyped),
                    }
                }
            },
        };
        self.families[idx].samples.push(sample);
    }

    pub(crate) fn build_index(&mut self) {
        self.by_canonical.clear();
        for (i, f) in self.families.iter().enumerate() {
            if !f.samples.is_empty() {
                self.by_canonical.entry(canonical(&f.name)).or_insert(i);
            }
        }
        // Second pass: names without their unit suffix, unless a family of
        // exactly that name exists.
        for (i, f) in self.families.iter().enumerate() {
            if f.samples.is_empty() {
                continue;
            }
            let c = canonical(&f.name);
            if let Some(stem) = UNIT_SUFFIXES.iter().find_map(|s| c.strip_suffix(s)) {
                self.by_canonical.entry(stem.to_string()).or_insert(i);
            }
        }
    }
}

fn belongs(family: &str, sample: &str) -> bool {
    if sample == family {
        return true;
    }
    match sample.strip_prefix(family) {
        Some(rest) => SAMPLE_SUFFIXES.contains(&rest),
        None => family.strip_suffix("_total") == Some(sample),
    }
}

/// Dots become underscores; a trailing `_total` goes.
pub fn canonical(name: &str) -> String {
    let n = name.replace('.', "_");
    match n.strip_suffix("_total") {
        Some(s) => s.to_string(),
        None => n,
    }
}

#[cfg(test)]
mod tests;
