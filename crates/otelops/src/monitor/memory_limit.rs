//! The memory RSS is judged against. It is the container's memory whenever
//! that is known, because that is what the `OtelcolMemoryHigh` alert
//! (`otelops dashboards --memory-limit-mib`) takes its 80 % of: monitor's
//! WARN (> 80 %) then fires on exactly the RSS the alert fires on, which is
//! memory_limiter's hard limit under the guide's 80 % / 20 % settings.
//!
//! In order: `--container-memory-mib`; a config whose memory_limiter uses
//! `limit_percentage` — the total the collector would take it from (cgroup
//! limit, else host memory; see [`crate::collector_config::memory`]); a config
//! with an absolute `limit_mib` — that hard limit (the container's size is not
//! in the config).

use crate::collector_config::file::ConfigFile;
use crate::collector_config::memory::{MemoryError, MemorySources};

/// The memory RSS is compared with, and what it is (for the report's notes).
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryLimit {
    pub mib: f64,
    pub basis: String,
}

/// The memory to compare RSS with, or None when nothing says.
pub fn memory_limit(
    container_memory_mib: Option<f64>,
    config: Option<&ConfigFile>,
    sources: &MemorySources,
) -> Result<Option<MemoryLimit>, MemoryError> {
    if let Some(mib) = container_memory_mib {
        return Ok(Some(MemoryLimit {
            mib,
            basis: "the container's memory (--container-memory-mib)".into(),
        }));
    }
    let Some(settings) = config.and_then(ConfigFile::memory_limiter) else {
        return Ok(None);
    };
    let Some(limits) = settings.limits(|| sources.total_memory())? else {
        return Ok(None);
    };
    let limiter = format!(
        "memory_limiter (which measures the Go heap) refuses data above {:.0} MiB \
         (soft limit) and forces GC above {:.0} MiB (hard limit)",
        limits.soft_mib, limits.hard_mib
    );
    Ok(Some(match limits.total {
        Some(total) => MemoryLimit {
            mib: total.mib,
            basis: format!(
                "the container's memory, {:.0} MiB from {}; {limiter}",
                total.mib, total.source
            ),
        },
        None => MemoryLimit {
            mib: limits.hard_mib,
            basis: format!(
                "memory_limiter's limit_mib (the container's memory is not in the config; \
                 --container-memory-mib judges as OtelcolMemoryHigh does); {limiter}"
            ),
        },
    }))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn cfg(yaml: &str) -> ConfigFile {
        ConfigFile::from_text(Path::new("c.yaml"), yaml.into()).unwrap()
    }

    fn mib(limit: Result<Option<MemoryLimit>, MemoryError>) -> Option<f64> {
        limit.unwrap().map(|l| l.mib)
    }

    fn cgroup(bytes: &str) -> (tempfile::TempDir, MemorySources) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("memory.max"), bytes).unwrap();
        let sources = MemorySources {
            cgroup_dir: dir.path().into(),
            meminfo: dir.path().join("no-meminfo"),
        };
        (dir, sources)
    }

    const PERCENT: &str = "processors:\n  memory_limiter:\n    check_interval: 1s\n    limit_percentage: 80\n    spike_limit_percentage: 20\n";

    #[test]
    fn percentage_config_is_judged_against_the_cgroup_limit() {
        let (_d, s) = cgroup("1073741824\n");
        let limit = memory_limit(None, Some(&cfg(PERCENT)), &s)
            .unwrap()
            .unwrap();
        assert_eq!(limit.mib, 1024.0);
        assert!(
            limit.basis.contains("memory.max")
                && limit.basis.contains("above 614 MiB (soft limit)")
                && limit.basis.contains("above 819 MiB (hard limit)"),
            "{}",
            limit.basis
        );
    }

    #[test]
    fn the_flag_overrides_the_cgroup() {
        let (_d, s) = cgroup("1073741824\n");
        assert_eq!(
            mib(memory_limit(Some(2048.0), Some(&cfg(PERCENT)), &s)),
            Some(2048.0)
        );
    }

    #[test]
    fn absolute_limit_mib_is_used_as_is() {
        let (_d, s) = cgroup("max\n");
        let c = cfg("processors:\n  memory_limiter:\n    limit_mib: 400\n");
        assert_eq!(mib(memory_limit(None, Some(&c), &s)), Some(400.0));
    }

    #[test]
    fn no_memory_limiter_and_no_flag_is_unknown() {
        let (_d, s) = cgroup("1073741824\n");
        let c = cfg("processors:\n  batch: {}\n");
        assert_eq!(mib(memory_limit(None, Some(&c), &s)), None);
        assert_eq!(mib(memory_limit(None, None, &s)), None);
    }
}
