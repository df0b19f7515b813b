//! The OpenTelemetry resource of a service: who it is (`service.*`,
//! `deployment.environment.name`) and where it runs (process, host, OS,
//! container, Kubernetes, cloud). Detection is from local files and
//! environment variables only, never the network.
//!
//! Precedence, lowest first: detected facts < [`ServiceInfo`] <
//! `PARKER_ENVIRONMENT` < `OTEL_RESOURCE_ATTRIBUTES` < `OTEL_SERVICE_NAME`,
//! so operators can always override what the code or the platform says.

mod cloud;
mod container;

pub use cloud::{cloud_attributes, k8s_attributes};
pub use container::{container_id_from_cgroup, container_id_from_mountinfo, detect_container_id};

use crate::ServiceInfo;
use crate::config::TelemetryConfig;
use opentelemetry::KeyValue;
use opentelemetry_resource_detectors::{HostResourceDetector, OsResourceDetector};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::{ResourceDetector, TelemetryResourceDetector};
use opentelemetry_semantic_conventions::resource as rc;

/// `rustc --version` of the compiler that built us (see build.rs).
const RUSTC_VERSION: &str = env!("PARKER_RUSTC_VERSION");

/// Detects the full resource of the running process.
pub fn detect(service: &ServiceInfo, config: &TelemetryConfig) -> Resource {
    let mut detected = host_attributes();
    detected.extend(detect_container_id().map(|id| KeyValue::new(rc::CONTAINER_ID, id)));
    from_parts(service, config, detected)
}

/// Builds the resource from already-detected host facts plus everything that
/// comes from `config` (its env for k8s/cloud, `OTEL_RESOURCE_ATTRIBUTES`,
/// `OTEL_SERVICE_NAME`). Pure apart from the random `service.instance.id`.
pub fn from_parts(
    service: &ServiceInfo,
    config: &TelemetryConfig,
    detected: Vec<KeyValue>,
) -> Resource {
    let env = &config.env;
    let mut service_attrs = vec![
        KeyValue::new(rc::SERVICE_NAME, service.name.clone()),
        KeyValue::new(rc::SERVICE_VERSION, service.version.clone()),
        KeyValue::new(rc::SERVICE_INSTANCE_ID, uuid::Uuid::new_v4().to_string()),
    ];
    if let Some(ns) = &service.namespace {
        service_attrs.push(KeyValue::new(rc::SERVICE_NAMESPACE, ns.clone()));
    }
    let environment = env
        .get("PARKER_ENVIRONMENT")
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|e| KeyValue::new(rc::DEPLOYMENT_ENVIRONMENT_NAME, e.to_owned()));
    let from_otel_env = config
        .resource_attributes
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()));
    let name_override = config
        .service_name
        .as_ref()
        .map(|n| KeyValue::new(rc::SERVICE_NAME, n.clone()));

    Resource::builder_empty()
        .with_schema_url(
            Vec::<KeyValue>::new(),
            opentelemetry_semantic_conventions::SCHEMA_URL,
        )
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes(detected)
        .with_attributes(k8s_attributes(env))
        .with_attributes(cloud_attributes(env))
        .with_attributes(service_attrs)
        .with_attributes(environment)
        .with_attributes(from_otel_env)
        .with_attributes(name_override)
        .build()
}

/// Maps a Rust target architecture onto the `host.arch` enum of the semantic
/// conventions; an architecture the enum lacks is reported as Rust names it.
pub fn semconv_host_arch(rust_arch: &str) -> String {
    match rust_arch {
        "x86_64" => "amd64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm32",
        "powerpc" => "ppc32",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        other => other,
    }
    .to_owned()
}

/// process.*, host.*, os.* of this process.
fn host_attributes() -> Vec<KeyValue> {
    let mut out: Vec<KeyValue> = Vec::new();
    for detector in [
        &HostResourceDetector::default() as &dyn ResourceDetector,
        &OsResourceDetector,
    ] {
        out.extend(detector.detect().iter().map(|(k, v)| {
            // The contrib detector reports Rust's `std::env::consts::ARCH`
            // (`x86_64`), but host.arch is an enum in the conventions (`amd64`).
            if k.as_str() == rc::HOST_ARCH {
                KeyValue::new(k.clone(), semconv_host_arch(&v.as_str()))
            } else {
                KeyValue::new(k.clone(), v.clone())
            }
        }));
    }
    if !out.iter().any(|kv| kv.key.as_str() == rc::HOST_NAME)
        && let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname")
    {
        out.push(KeyValue::new(rc::HOST_NAME, name.trim().to_owned()));
    }
    if let Some(desc) = os_description() {
        out.push(KeyValue::new(rc::OS_DESCRIPTION, desc));
    }
    // Our own process detector: the contrib one records the full command
    // line (process.command_args), which can carry secrets.
    out.push(KeyValue::new(
        rc::PROCESS_PID,
        i64::from(std::process::id()),
    ));
    if let Ok(exe) = std::env::current_exe() {
        if let Some(name) = exe.file_name() {
            out.push(KeyValue::new(
                rc::PROCESS_EXECUTABLE_NAME,
                name.to_string_lossy().into_owned(),
            ));
        }
        out.push(KeyValue::new(
            rc::PROCESS_EXECUTABLE_PATH,
            exe.to_string_lossy().into_owned(),
        ));
    }
    out.push(KeyValue::new(rc::PROCESS_RUNTIME_NAME, "rust"));
    out.push(KeyValue::new(
        rc::PROCESS_RUNTIME_DESCRIPTION,
        RUSTC_VERSION,
    ));
    if let Some(version) = RUSTC_VERSION.split_whitespace().nth(1) {
        out.push(KeyValue::new(
            rc::PROCESS_RUNTIME_VERSION,
            version.to_owned(),
        ));
    }
    out
}

/// `PRETTY_NAME` from /etc/os-release plus the kernel release.
fn os_description() -> Option<String> {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| format!("Linux {}", k.trim()));
    match (pretty, kernel) {
        (Some(p), Some(k)) => Some(format!("{p} ({k})")),
        (p, k) => p.or(k),
    }
}
