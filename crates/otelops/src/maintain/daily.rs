//! Daily: collector health, error logs reviewed, queue utilisation, export
//! connectivity.

use super::{Check, Inputs, Status, logs};
use crate::collector_config::file::ConfigFile;
use crate::health::{self, Outcome};
use crate::monitor;

pub async fn checks(inputs: &Inputs) -> Vec<Check> {
    let report = super::monitor_report(inputs).await;
    vec![
        health_check(inputs).await,
        logs::check(&inputs.logs),
        queue_check(&report),
        connectivity_check(inputs, &report).await,
    ]
}

async fn health_check(inputs: &Inputs) -> Check {
    let mut check = Check::new("daily.health", "Check collector health");
    let results = health::run(&inputs.targets, &inputs.skip, &inputs.client).await;
    for r in &results {
        match r.outcome {
            Outcome::Pass => check.ok(format!("{} {}: {}", r.check.name(), r.target, r.detail)),
            Outcome::Skipped => {}
            Outcome::Fail => {
                check.finding(
                    Status::Crit,
                    format!("{} {} failed: {}", r.check.name(), r.target, r.detail),
                    "see otelops health for the failing endpoint; check the collector process and its log",
                );
                check.kinds.push(format!("{} failed", r.check.name()));
            }
        }
    }
    check
}

type Monitored = Result<monitor::Report, monitor::MonitorError>;

fn unknown_scrape(check: &mut Check, e: &monitor::MonitorError) {
    check.finding(
        Status::Unknown,
        format!("cannot scrape the metrics page: {e}"),
        "start the collector or give --metrics-url",
    );
}

/// One `monitor` judgement as evidence: a finding with `action` unless OK.
fn judged(check: &mut Check, c: &monitor::evaluate::Check, action: String) {
    let text = format!(
        "{} {}: {:.1}{} ({})",
        c.scope, c.name, c.value, c.unit, c.rule
    );
    if c.status == monitor::Status::Ok {
        check.ok(text);
    } else {
        check.finding(c.status.into(), text, action);
        check.kinds.push(format!("{} {}", c.scope, c.name));
    }
}

fn queue_check(report: &Monitored) -> Check {
    let mut check = Check::new("daily.queue", "Monitor queue utilisation");
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            unknown_scrape(&mut check, e);
            return check;
        }
    };
    if !report.exporters.iter().any(|e| e.queue_capacity.is_some()) {
        check.ok("no exporter has a sending queue (nothing queues)");
    }
    for c in report
        .checks
        .iter()
        .filter(|c| c.name == "queue utilisation" || c.name == "enqueue failed")
    {
        judged(
            &mut check,
            c,
            format!(
                "{}: otelops tune --config CONFIG --metrics-url URL (more consumers or a larger queue), and check downstream",
                c.scope
            ),
        );
    }
    check
}

async fn connectivity_check(inputs: &Inputs, report: &Monitored) -> Check {
    let mut check = Check::new("daily.export", "Verify export connectivity");
    match report {
        Ok(r) => {
            for c in r.checks.iter().filter(|c| c.name == "send failed") {
                judged(
                    &mut check,
                    c,
                    format!(
                        "{}: the backend refuses or is unreachable; check its endpoint, TLS and token",
                        c.scope
                    ),
                );
            }
        }
        Err(e) => unknown_scrape(&mut check, e),
    }
    let Some(config) = &inputs.config else {
        check.ok("no --config: exporter endpoints not probed");
        return check;
    };
    let cfg = match ConfigFile::load(config) {
        Ok(c) => c,
        Err(e) => {
            check.finding(Status::Unknown, e.to_string(), "give a readable --config");
            return check;
        }
    };
    for (name, endpoint, tls) in exporter_endpoints(&cfg) {
        probe(&mut check, inputs, &name, &endpoint, tls).await;
    }
    check
}

/// (exporter id, `host:port`, whether it speaks TLS) of each exporter with
/// a literal endpoint; `${env:…}` endpoints come back as written.
pub fn exporter_endpoints(cfg: &ConfigFile) -> Vec<(String, String, bool)> {
    let mut out = Vec::new();
    for (id, node) in cfg.section("exporters") {
        let Some(endpoint) = node.get("endpoint").and_then(|e| e.as_str()) else {
            continue;
        };
        let insecure = node
            .path(&["tls", "insecure"])
            .and_then(|n| n.as_bool())
            .unwrap_or(false);
        let (scheme, rest) = endpoint.split_once("://").unwrap_or(("", endpoint));
        let hostport = rest.split('/').next().unwrap_or(rest);
        let tls = match scheme {
            "https" => true,
            "http" => false,
            // gRPC exporters: TLS unless tls.insecure.
            _ => !insecure,
        };
        let hostport = if hostport
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            hostport.to_string()
        } else {
            format!("{hostport}:{}", if tls { 443 } else { 80 })
        };
        out.push((id.to_string(), hostport, tls));
    }
    out
}

async fn probe(check: &mut Check, inputs: &Inputs, name: &str, endpoint: &str, tls: bool) {
    if endpoint.contains("${") {
        check.ok(format!(
            "exporters.{name}: endpoint {endpoint} comes from the environment; not probed"
        ));
        return;
    }
    let host = endpoint.rsplit_once(':').map_or(endpoint, |(h, _)| h);
    if let Err(e) =
        crate::http_client::checked_host(host.trim_matches(['[', ']']), inputs.allow_remote)
    {
        check.finding(
            Status::Skipped,
            format!("exporters.{name}: {endpoint} not probed: {e}"),
            "",
        );
        return;
    }
    let connected =
        tokio::time::timeout(inputs.timeout, tokio::net::TcpStream::connect(endpoint)).await;
    match connected {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            check.finding(
                Status::Crit,
                format!("exporters.{name}: cannot connect to {endpoint}: {e}"),
                format!("exporters.{name}: start the backend at {endpoint} or fix the endpoint"),
            );
            check.kinds.push(format!("{name} unreachable"));
            return;
        }
        Err(_) => {
            check.finding(
                Status::Crit,
                format!(
                    "exporters.{name}: no answer from {endpoint} within {:?}",
                    inputs.timeout
                ),
                format!("exporters.{name}: check the network path to {endpoint}"),
            );
            check.kinds.push(format!("{name} unreachable"));
            return;
        }
    }
    if !tls {
        check.ok(format!(
            "exporters.{name}: {endpoint} accepts TCP connections (plain text)"
        ));
        return;
    }
    let (tls_files, timeout, now) = (inputs.tls.clone(), inputs.timeout, inputs.now);
    let target = endpoint.to_string();
    let probed = tokio::task::spawn_blocking(move || {
        crate::certs::probe::probe_endpoint(&target, &tls_files, timeout, now)
    })
    .await;
    match probed {
        Ok(Ok(r)) if r.error.is_none() && r.status == monitor::Status::Ok => check.ok(format!(
            "exporters.{name}: TLS handshake with {endpoint} ({})",
            r.tls_version.as_deref().unwrap_or("TLS")
        )),
        Ok(Ok(r)) => {
            let why = r.error.clone().unwrap_or_else(|| r.problems.join("; "));
            check.finding(
                Status::from(r.status).max(Status::Warn),
                format!("exporters.{name}: TLS with {endpoint}: {why}"),
                format!(
                    "exporters.{name}: fix the certificate or the CA (--cacert) for {endpoint}"
                ),
            );
            check.kinds.push(format!("{name} tls"));
        }
        Ok(Err(e)) => check.finding(
            Status::Crit,
            format!("exporters.{name}: TLS with {endpoint}: {e}"),
            format!("exporters.{name}: fix TLS on {endpoint}"),
        ),
        Err(e) => check.finding(Status::Unknown, format!("exporters.{name}: probe: {e}"), ""),
    }
}
