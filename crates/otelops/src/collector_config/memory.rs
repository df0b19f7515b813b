//! The memory limits a collector's memory_limiter enforces, worked out the way
//! the collector does (internal/memorylimiter v0.165, `getMemUsageChecker`):
//!
//! - `limit_mib` set: hard limit = limit_mib, spike = spike_limit_mib;
//! - otherwise hard limit = total × limit_percentage / 100 and spike =
//!   total × spike_limit_percentage / 100, where total is the cgroup's memory
//!   limit (v2 `memory.max`, v1 `memory/memory.limit_in_bytes`) or, when the
//!   cgroup sets none, the host's `MemTotal`;
//! - a spike of 0 means a fifth of the hard limit; the soft limit, where the
//!   limiter starts refusing data, is hard − spike.
//!
//! The collector reads the cgroup of its own container; `otelops` can only
//! read the one it runs in, so `--container-memory-mib` overrides it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::document::Node;
use super::file::number;

const MIB: f64 = 1024.0 * 1024.0;
/// cgroup v1 writes this (page-rounded i64::MAX) for "no limit".
const V1_UNLIMITED: u64 = 9_223_372_036_854_771_712;

/// The memory_limiter settings that size it (absent ones are None).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MemoryLimiterSettings {
    pub limit_mib: Option<f64>,
    pub spike_limit_mib: Option<f64>,
    pub limit_percentage: Option<f64>,
    pub spike_limit_percentage: Option<f64>,
}

impl MemoryLimiterSettings {
    pub fn from_node(node: &Node) -> MemoryLimiterSettings {
        let get = |key: &str| node.get(key).and_then(number).filter(|v| *v > 0.0);
        MemoryLimiterSettings {
            limit_mib: get("limit_mib"),
            spike_limit_mib: get("spike_limit_mib"),
            limit_percentage: get("limit_percentage"),
            spike_limit_percentage: get("spike_limit_percentage"),
        }
    }

    /// True when the limits are a share of the container's memory.
    pub fn uses_percentage(&self) -> bool {
        self.limit_mib.is_none() && self.limit_percentage.is_some()
    }

    /// The limits, given the container's memory when they are percentages
    /// (`total` is only called then). None when neither form is set.
    pub fn limits(
        &self,
        total: impl FnOnce() -> Result<TotalMemory, MemoryError>,
    ) -> Result<Option<MemoryLimits>, MemoryError> {
        if let Some(hard) = self.limit_mib {
            return Ok(Some(MemoryLimits::new(
                hard,
                self.spike_limit_mib.unwrap_or(0.0),
                None,
            )));
        }
        let Some(pct) = self.limit_percentage else {
            return Ok(None);
        };
        let total = total()?;
        let share = |p: f64| total.mib * p / 100.0;
        Ok(Some(MemoryLimits::new(
            share(pct),
            share(self.spike_limit_percentage.unwrap_or(0.0)),
            Some(total),
        )))
    }
}

/// The memory a percentage applies to, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalMemory {
    pub mib: f64,
    /// `--container-memory-mib`, the cgroup file read, or `/proc/meminfo`.
    pub source: String,
}

/// What memory_limiter enforces, in MiB.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryLimits {
    /// Above this the limiter refuses data and forces a GC.
    pub hard_mib: f64,
    pub spike_mib: f64,
    /// hard − spike: above this the limiter refuses data.
    pub soft_mib: f64,
    /// The container's memory, when the limits are percentages of it.
    pub total: Option<TotalMemory>,
}

impl MemoryLimits {
    fn new(hard_mib: f64, spike_mib: f64, total: Option<TotalMemory>) -> MemoryLimits {
        let spike_mib = if spike_mib > 0.0 {
            spike_mib
        } else {
            hard_mib / 5.0
        };
        MemoryLimits {
            hard_mib,
            spike_mib,
            soft_mib: hard_mib - spike_mib,
            total,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {found:?} is not a memory size (expected bytes or \"max\")")]
    Malformed { path: PathBuf, found: String },
    #[error(
        "no memory size in {path}: pass --container-memory-mib for a memory_limiter with limit_percentage"
    )]
    NoMemTotal { path: PathBuf },
}

/// Where the container's memory is read from; tests point these at files of
/// their own.
#[derive(Debug, Clone)]
pub struct MemorySources {
    /// The cgroup mount (`/sys/fs/cgroup`).
    pub cgroup_dir: PathBuf,
    /// `/proc/meminfo`, for a host without a cgroup limit.
    pub meminfo: PathBuf,
}

impl MemorySources {
    pub fn system() -> MemorySources {
        MemorySources {
            cgroup_dir: PathBuf::from("/sys/fs/cgroup"),
            meminfo: PathBuf::from("/proc/meminfo"),
        }
    }

    /// The cgroup's memory limit, else the host's total (the collector's rule).
    pub fn total_memory(&self) -> Result<TotalMemory, MemoryError> {
        let v2 = self.cgroup_dir.join("memory.max");
        let v1 = self.cgroup_dir.join("memory/memory.limit_in_bytes");
        for path in [v2, v1] {
            if let Some(bytes) = read_limit(&path)? {
                return Ok(TotalMemory {
                    mib: bytes as f64 / MIB,
                    source: path.display().to_string(),
                });
            }
        }
        let text = read(&self.meminfo)?.unwrap_or_default();
        // `MemTotal:       16318268 kB`
        let kib = text
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .ok_or_else(|| MemoryError::NoMemTotal {
                path: self.meminfo.clone(),
            })?;
        Ok(TotalMemory {
            mib: kib as f64 / 1024.0,
            source: self.meminfo.display().to_string(),
        })
    }
}

fn read(path: &Path) -> Result<Option<String>, MemoryError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(MemoryError::Read {
            path: path.into(),
            source,
        }),
    }
}

/// A cgroup limit file: bytes, or None for a missing file, `max` (v2) or
/// v1's "unlimited" value.
fn read_limit(path: &Path) -> Result<Option<u64>, MemoryError> {
    let Some(text) = read(path)? else {
        return Ok(None);
    };
    let value = text.trim();
    if value == "max" {
        return Ok(None);
    }
    let bytes: u64 = value.parse().map_err(|_| MemoryError::Malformed {
        path: path.into(),
        found: value.to_owned(),
    })?;
    Ok((bytes < V1_UNLIMITED).then_some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collector_config::document;

    fn settings(yaml: &str) -> MemoryLimiterSettings {
        MemoryLimiterSettings::from_node(&document::parse(yaml).unwrap())
    }

    fn total(mib: f64) -> impl FnOnce() -> Result<TotalMemory, MemoryError> {
        move || {
            Ok(TotalMemory {
                mib,
                source: "test".into(),
            })
        }
    }

    #[test]
    fn percentages_are_shares_of_the_total() {
        let s = settings("limit_percentage: 80\nspike_limit_percentage: 20\n");
        let l = s.limits(total(1000.0)).unwrap().unwrap();
        assert_eq!((l.hard_mib, l.spike_mib, l.soft_mib), (800.0, 200.0, 600.0));
        assert_eq!(l.total.map(|t| t.mib), Some(1000.0));
    }

    #[test]
    fn limit_mib_wins_over_percentage_and_spike_defaults_to_a_fifth() {
        let s = settings("limit_mib: 400\nlimit_percentage: 80\n");
        let l = s
            .limits(|| panic!("the total is not needed for limit_mib"))
            .unwrap()
            .unwrap();
        assert_eq!((l.hard_mib, l.spike_mib, l.soft_mib), (400.0, 80.0, 320.0));
        assert_eq!(l.total, None);
    }

    #[test]
    fn no_limit_setting_is_none() {
        assert_eq!(
            settings("check_interval: 1s\n").limits(total(1.0)).unwrap(),
            None
        );
    }

    fn sources(files: &[(&str, &str)]) -> (tempfile::TempDir, MemorySources) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let s = MemorySources {
            cgroup_dir: dir.path().join("cgroup"),
            meminfo: dir.path().join("meminfo"),
        };
        (dir, s)
    }

    const MEMINFO: &str = "MemTotal:        2097152 kB\nMemFree:  1 kB\n";

    #[test]
    fn cgroup_v2_memory_max_is_the_total() {
        let (_d, s) = sources(&[("cgroup/memory.max", "536870912\n"), ("meminfo", MEMINFO)]);
        let t = s.total_memory().unwrap();
        assert_eq!(t.mib, 512.0);
        assert!(t.source.ends_with("cgroup/memory.max"), "{}", t.source);
    }

    #[test]
    fn cgroup_v2_max_falls_back_to_meminfo() {
        let (_d, s) = sources(&[("cgroup/memory.max", "max\n"), ("meminfo", MEMINFO)]);
        assert_eq!(s.total_memory().unwrap().mib, 2048.0);
    }

    #[test]
    fn cgroup_v1_limit_and_its_unlimited_value() {
        let (_d, s) = sources(&[
            ("cgroup/memory/memory.limit_in_bytes", "268435456\n"),
            ("meminfo", MEMINFO),
        ]);
        assert_eq!(s.total_memory().unwrap().mib, 256.0);
        let (_d, s) = sources(&[
            (
                "cgroup/memory/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
            ("meminfo", MEMINFO),
        ]);
        assert_eq!(s.total_memory().unwrap().mib, 2048.0);
    }

    #[test]
    fn malformed_cgroup_file_names_the_file_and_value() {
        let (_d, s) = sources(&[("cgroup/memory.max", "lots\n")]);
        let err = s.total_memory().unwrap_err().to_string();
        assert!(
            err.contains("memory.max") && err.contains("\"lots\""),
            "{err}"
        );
    }
}
