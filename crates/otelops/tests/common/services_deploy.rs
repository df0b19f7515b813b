//! The services' deployment files (deploy/k8s/services/, deploy/docker/)
//! as the deploy and image tests read them: manifests as JSON, the one
//! container of a workload, the env it sets, and what the service binaries
//! themselves say they read (`--help`).
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use otelops::collector_config::document;
use serde_json::Value;

use crate::common::{parker_service, repo_root, run_bounded};

/// `deploy/k8s/services/<file>`.
pub fn services_dir() -> PathBuf {
    repo_root().join("deploy/k8s/services")
}

/// A manifest (one object per file) as JSON.
pub fn manifest(file: &str) -> Value {
    let path = services_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    document::parse(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_json()
}

/// The single container of a Deployment or StatefulSet.
pub fn container(workload: &Value) -> &Value {
    let containers = workload["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("a workload has containers");
    assert_eq!(containers.len(), 1, "one container per pod");
    &containers[0]
}

/// The `env` entries of the workload's container, by name.
pub fn env_entry<'a>(workload: &'a Value, name: &str) -> Option<&'a Value> {
    container(workload)["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
}

/// The literal `value` of an env entry the container sets.
pub fn env_value<'a>(workload: &'a Value, name: &str) -> &'a str {
    env_entry(workload, name)
        .and_then(|e| e["value"].as_str())
        .unwrap_or_else(|| panic!("{name} has no literal value"))
}

/// The `OTEL_*` settings of the services' ConfigMap (what `envFrom` gives
/// both containers), in file order.
pub fn otel_settings() -> Vec<(String, String)> {
    manifest("otel-configmap.yaml")["data"]
        .as_object()
        .expect("the ConfigMap has data")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string values").to_owned()))
        .collect()
}

/// Every variable `SERVICE --help` names as `[env: NAME=]`: what the
/// binary reads through clap.
pub fn variables_in_help(service: &str) -> Vec<String> {
    let out = run_bounded(
        Command::new(parker_service(service)).arg("--help"),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{service} --help failed");
    String::from_utf8_lossy(&out.stdout)
        .split("[env: ")
        .skip(1)
        .filter_map(|rest| rest.split('=').next())
        .map(str::to_owned)
        .collect()
}

/// The port of `host:port` or `scheme://host:port/…`.
pub fn port_of(address: &str) -> u16 {
    let authority = address
        .split("://")
        .last()
        .and_then(|a| a.split('/').next())
        .expect("an address");
    authority
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("{address} has no port"))
}

/// The host of `scheme://host:port/…`.
pub fn host_of(url: &str) -> &str {
    url.split("://")
        .nth(1)
        .and_then(|a| a.split('/').next())
        .and_then(|a| a.rsplit_once(':'))
        .map(|(h, _)| h)
        .unwrap_or_else(|| panic!("{url} is not scheme://host:port"))
}

/// The ConfigMap's redis.conf as a test runs it, with the password the
/// Secret would hold.
pub struct ShippedRedis {
    pub conf: PathBuf,
    /// The token file (`otelops token gen`): what parker-booking reads.
    pub password_file: PathBuf,
}

/// The ConfigMap's redis.conf written to `dir/redis.conf` without its `dir`
/// line (redis-server changes into `dir` as it reads the file, and /data
/// does not exist here, before a later `--dir` could win), its `aclfile`
/// moved into `dir`, where `otelops token gen` and `otelops token
/// redis-acl` make the password and the ACL file, as README.md there says.
pub fn shipped_redis(dir: &Path) -> ShippedRedis {
    let shipped = manifest("redis-configmap.yaml")["data"]["redis.conf"]
        .as_str()
        .expect("redis.conf in the ConfigMap")
        .to_owned();
    let password_file = dir.join("redis-password");
    let acl = dir.join("users.acl");
    for args in [
        vec!["token", "gen", "--out", path_str(&password_file)],
        vec![
            "token",
            "redis-acl",
            "--file",
            path_str(&password_file),
            "--out",
            path_str(&acl),
        ],
    ] {
        let run = crate::common::otelops(&args);
        assert!(run.status.success(), "otelops {args:?}: {run:?}");
    }
    let mut acl_lines = 0;
    let rewritten: String = shipped
        .lines()
        .filter(|l| !l.starts_with("dir "))
        .map(|l| match l.strip_prefix("aclfile ") {
            Some(_) => {
                acl_lines += 1;
                format!("aclfile {}\n", acl.display())
            }
            None => format!("{l}\n"),
        })
        .collect();
    assert_eq!(shipped.lines().count(), rewritten.lines().count() + 1);
    assert_eq!(acl_lines, 1, "redis.conf names one aclfile");
    let conf = dir.join("redis.conf");
    std::fs::write(&conf, rewritten).expect("writing redis.conf");
    ShippedRedis {
        conf,
        password_file,
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}
