//! Items judged on the collector configs: TLS on the data listeners,
//! plain-text endpoints and bind addresses, receiver auth, the monitoring
//! endpoints and log shipping.

use super::Item;
use super::sources::{EnvRef, Sources};
use crate::collector_config::document::{Key, Node};
use crate::collector_config::file::ConfigFile;

/// A receiver endpoint that takes data (an OTLP protocol or any receiver
/// with an `endpoint`).
#[derive(Debug)]
pub struct Listener<'a> {
    pub config: &'a ConfigFile,
    /// `otlp/grpc`, `zipkin`, …
    pub name: String,
    pub settings: Option<&'a Node>,
    /// As written, or the collector's default when not written.
    pub endpoint: String,
}

impl Listener<'_> {
    pub fn at(&self) -> String {
        let line = self.settings.map_or(0, |s| s.pos.line);
        format!("{}:{line} {}", self.config.path.display(), self.name)
    }
}

/// The receivers' listening endpoints in every config.
pub fn listeners(src: &Sources) -> Vec<Listener<'_>> {
    let mut out = Vec::new();
    for config in &src.configs {
        for (id, node) in config.section("receivers") {
            if let Some(protocols) = node.get("protocols").and_then(Node::as_map) {
                for (proto, settings) in protocols {
                    let default = match proto.name.as_str() {
                        "grpc" => "localhost:4317",
                        "http" => "localhost:4318",
                        _ => "",
                    };
                    out.push(Listener {
                        config,
                        name: format!("{id}/{}", proto.name),
                        settings: settings.as_map().map(|_| settings),
                        endpoint: endpoint_of(settings).unwrap_or(default).to_owned(),
                    });
                }
            } else if let Some(endpoint) = endpoint_of(node) {
                out.push(Listener {
                    config,
                    name: id.to_owned(),
                    settings: Some(node),
                    endpoint: endpoint.to_owned(),
                });
            }
        }
    }
    out
}

fn endpoint_of(node: &Node) -> Option<&str> {
    node.get("endpoint").and_then(Node::as_str)
}

const FIX_TLS: &str = "give every receiver protocol `tls: {cert_file, key_file, min_version: \"1.2\"}` (otelops config render --profile production does)";

pub fn tls_config(src: &Sources) -> Item {
    let mut item = Item::new(
        "tls-config",
        "TLS 1.2+ with min_version on every listener that takes data (config)",
    );
    for l in listeners(src) {
        let Some(tls) = l.settings.and_then(|s| s.get("tls")) else {
            item.crit(
                format!("{}: no tls: data is taken in plain text", l.at()),
                FIX_TLS,
            );
            continue;
        };
        let has = |k| {
            tls.get(k)
                .and_then(Node::as_str)
                .is_some_and(|v| !v.is_empty())
        };
        if !(has("cert_file") && has("key_file")) {
            item.crit(
                format!("{}: tls without cert_file and key_file", l.at()),
                FIX_TLS,
            );
            continue;
        }
        match tls.get("min_version").map(scalar) {
            Some(v) if v == "1.2" || v == "1.3" => {
                item.ok(format!("{}: TLS, min_version {v}", l.at()))
            }
            Some(v) => item.crit(
                format!("{}: min_version {v:?} allows TLS older than 1.2", l.at()),
                "set min_version: \"1.2\" (or \"1.3\")",
            ),
            None => item.crit(
                format!("{}: TLS, but min_version is not set", l.at()),
                "set min_version: \"1.2\" explicitly, so a changed collector default cannot lower it",
            ),
        }
    }
    if item.evidence.is_empty() {
        item.ok("no receiver listens for data");
    }
    item
}

/// A scalar as text (`1.2` may be written unquoted and read as a number).
fn scalar(node: &Node) -> String {
    use crate::collector_config::document::Value;
    match &node.value {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// What a bind host is.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Wildcard,
    Loopback,
    /// The pod's own address (k8s `fieldRef: status.podIP`).
    PodLocal,
    Specific(String),
}

pub fn classify_host(host: &str) -> Bind {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.starts_with("fieldRef:status.podIP") {
        return Bind::PodLocal;
    }
    match h {
        "" | "0.0.0.0" | "::" => Bind::Wildcard,
        "localhost" => Bind::Loopback,
        _ => match h.parse::<std::net::IpAddr>() {
            Ok(ip) if ip.is_loopback() => Bind::Loopback,
            Ok(ip) if ip.is_unspecified() => Bind::Wildcard,
            _ => Bind::Specific(h.to_owned()),
        },
    }
}

/// The host part of `host:port` (`[::1]:4317` too).
pub fn split_host_port(endpoint: &str) -> (&str, Option<&str>) {
    match endpoint.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (endpoint, None),
    }
}

/// Where an endpoint binds, as each deployment would set it: the env files
/// or the process (if they set the variable), else the k8s manifests and
/// the reference's default. Empty when nothing says.
pub fn bind_candidates(src: &Sources, endpoint: &str) -> Vec<(Bind, String)> {
    let judge = |value: &str, origin: String| {
        let (host, _) = split_host_port(value);
        (classify_host(host), format!("{host} ({origin})"))
    };
    let Some(reference) = EnvRef::parse(endpoint) else {
        return vec![judge(endpoint, "literal".into())];
    };
    if let Some(var) = src.env.get(&reference.name) {
        let value = format!("{}{}{}", reference.before, var.value, reference.after);
        return vec![judge(
            &value,
            format!("{} from {}", reference.name, var.origin),
        )];
    }
    let mut out = Vec::new();
    if let Some((v, at)) = src.k8s_env(&reference.name) {
        let value = format!("{}{v}{}", reference.before, reference.after);
        out.push(judge(&value, format!("{} in {at}", reference.name)));
    }
    if let Some(d) = &reference.default {
        let value = format!("{}{d}{}", reference.before, reference.after);
        out.push(judge(&value, format!("the default of {}", reference.name)));
    }
    out
}

/// The plain-text endpoints (health_check 13133, zPages 55679, pprof, the
/// internal metrics on 8888) and where each is written.
fn plaintext(config: &ConfigFile) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let path = config.path.display();
    for (kind, default) in [
        ("health_check", "localhost:13133"),
        ("zpages", "localhost:55679"),
        ("pprof", "localhost:1777"),
    ] {
        for (id, node) in config.components("extensions", kind) {
            let endpoint = endpoint_of(node).unwrap_or(default);
            out.push((
                format!("{path}:{} {id}", node.pos.line),
                endpoint.to_owned(),
            ));
        }
    }
    let metrics = config.root.path(&["service", "telemetry", "metrics"]);
    if let Some(address) = metrics
        .and_then(|m| m.get("address"))
        .and_then(Node::as_str)
    {
        out.push((
            format!("{path} service.telemetry.metrics.address"),
            address.to_owned(),
        ));
    }
    for reader in metrics
        .and_then(|m| m.get("readers"))
        .and_then(Node::as_seq)
        .unwrap_or_default()
    {
        if let Some(p) = reader.path(&["pull", "exporter", "prometheus"]) {
            let host = p.get("host").and_then(Node::as_str).unwrap_or("localhost");
            let port = p.get("port").map(scalar).unwrap_or_else(|| "8888".into());
            out.push((
                format!("{path}:{} internal metrics (prometheus)", p.pos.line),
                format!("{host}:{port}"),
            ));
        }
    }
    out
}

pub fn plaintext_endpoints(src: &Sources) -> Item {
    let mut item = Item::new(
        "plaintext-endpoints",
        "Plain-text endpoints (13133, 8888, 55679) bind loopback or the pod's address",
    );
    let fix = "bind it to 127.0.0.1, or to the pod's own address (${env:OTELCOL_BIND} set from status.podIP), never 0.0.0.0";
    for config in &src.configs {
        for (at, endpoint) in plaintext(config) {
            let candidates = bind_candidates(src, &endpoint);
            if candidates.is_empty() {
                item.warn(
                    format!("{at}: {endpoint}: the variable is not set anywhere the audit can see"),
                    "pass the collector's --env-file or --pid",
                );
            }
            for (bind, how) in candidates {
                match bind {
                    Bind::Loopback => item.ok(format!("{at}: loopback {how}")),
                    Bind::PodLocal => item.ok(format!("{at}: the pod's address {how}")),
                    Bind::Wildcard => item.crit(format!("{at}: every interface {how}"), fix),
                    Bind::Specific(_) => item.warn(
                        format!("{at}: binds {how}: is that loopback or pod-local?"),
                        fix,
                    ),
                }
            }
        }
    }
    if item.evidence.is_empty() {
        item.ok("no plain-text endpoint configured");
    }
    item
}

pub fn bind_addresses(src: &Sources) -> Item {
    let mut item = Item::new(
        "bind-addresses",
        "Receivers bind a specific address, not every interface",
    );
    let fix = "set the receiver's endpoint to the pod's address (${env:OTELCOL_BIND} from status.podIP) or 127.0.0.1 instead of 0.0.0.0";
    for l in listeners(src) {
        let candidates = bind_candidates(src, &l.endpoint);
        if candidates.is_empty() {
            item.warn(
                format!(
                    "{}: {}: the variable is not set anywhere the audit can see",
                    l.at(),
                    l.endpoint
                ),
                "pass the collector's --env-file or --pid",
            );
        }
        for (bind, how) in candidates {
            match bind {
                Bind::Wildcard => item.crit(format!("{}: every interface {how}", l.at()), fix),
                _ => item.ok(format!("{}: {how}", l.at())),
            }
        }
    }
    if item.evidence.is_empty() {
        item.ok("no receiver listens for data");
    }
    item
}

pub fn tokens_present(src: &Sources) -> Item {
    let mut item = Item::new(
        "tokens-present",
        "Every data listener needs a bearer token, read from ${env:…} or a file",
    );
    for l in listeners(src) {
        let auth = l
            .settings
            .and_then(|s| s.path(&["auth", "authenticator"]))
            .and_then(Node::as_str);
        match auth {
            None => item.crit(
                format!("{}: no auth: anyone who reaches it can send data", l.at()),
                "add `auth: {authenticator: bearertokenauth/ingest}` to the receiver protocol",
            ),
            Some(a) if l.config.root.path(&["extensions", a]).is_none() => item.crit(
                format!(
                    "{}: authenticator {a} is not defined under extensions",
                    l.at()
                ),
                format!("define extensions.{a}"),
            ),
            Some(a) => item.ok(format!("{}: authenticator {a}", l.at())),
        }
    }
    for config in &src.configs {
        for (id, node) in config.components("extensions", "bearertokenauth") {
            let at = format!("{}:{} {id}", config.path.display(), node.pos.line);
            let fix = "read the token from a file (`filename:`) or `${env:VAR}`, never a literal";
            if node.get("filename").and_then(Node::as_str).is_some() {
                item.ok(format!("{at}: token from a file (filename)"));
                continue;
            }
            let values = token_nodes(node);
            if values.is_empty() {
                item.crit(format!("{at}: no token, tokens or filename"), fix);
            }
            for v in values {
                match v.as_str() {
                    Some(s) if is_reference(s) => item.ok(format!("{at}: token from {s}")),
                    _ => item.crit(
                        format!("{at}:{}: a literal token in the config", v.pos.line),
                        fix,
                    ),
                }
            }
        }
    }
    if item.evidence.is_empty() {
        item.ok("no receiver listens for data");
    }
    item
}

/// A config's `service.pipelines` entries.
pub fn pipelines(config: &ConfigFile) -> &[(Key, Node)] {
    config
        .root
        .path(&["service", "pipelines"])
        .and_then(Node::as_map)
        .unwrap_or_default()
}

/// A bearertokenauth extension's `token`, or each of its `tokens`.
pub fn token_nodes(node: &Node) -> Vec<&Node> {
    match (node.get("token"), node.get("tokens")) {
        (Some(t), _) => vec![t],
        (None, Some(ts)) => ts.as_seq().unwrap_or_default().iter().collect(),
        (None, None) => Vec::new(),
    }
}

/// `${env:…}`, `${file:…}` or `${VAR}`: filled in by the collector at start.
pub fn is_reference(s: &str) -> bool {
    let s = s.trim();
    s.starts_with("${") && s.ends_with('}')
}

pub fn monitoring(src: &Sources) -> Item {
    let mut item = Item::new(
        "monitoring-endpoints",
        "Monitoring endpoints: health_check and the internal metrics",
    );
    for config in &src.configs {
        let path = config.path.display();
        let enabled: Vec<&str> = config
            .root
            .path(&["service", "extensions"])
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .filter_map(Node::as_str)
            .collect();
        let health: Vec<&str> = config
            .components("extensions", "health_check")
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| enabled.contains(id))
            .collect();
        match health.first() {
            Some(id) => item.ok(format!("{path}: {id} enabled")),
            None => item.crit(
                format!("{path}: no health_check extension in service.extensions"),
                "add the health_check extension and list it in service.extensions",
            ),
        }
        let metrics = config.root.path(&["service", "telemetry", "metrics"]);
        let level = metrics.and_then(|m| m.get("level")).and_then(Node::as_str);
        let exposed = plaintext(config)
            .into_iter()
            .find(|(what, _)| what.contains("metrics"));
        match (level, exposed) {
            (Some("none"), _) => item.crit(
                format!("{path}: service.telemetry.metrics.level is none"),
                "set service.telemetry.metrics.level to normal or detailed",
            ),
            (_, Some((_, endpoint))) => item.ok(format!("{path}: internal metrics on {endpoint}")),
            (_, None) => item.crit(
                format!("{path}: no prometheus reader for the internal metrics"),
                "add service.telemetry.metrics.readers[].pull.exporter.prometheus (port 8888)",
            ),
        }
    }
    item
}

pub fn log_shipping(src: &Sources) -> Item {
    let mut item = Item::new(
        "log-shipping",
        "Logs are shipped (a logs pipeline with a real exporter)",
    );
    for config in &src.configs {
        let path = config.path.display();
        let pipelines = pipelines(config);
        let shipping: Vec<String> = pipelines
            .iter()
            .filter(|(k, _)| k.name.split('/').next() == Some("logs"))
            .flat_map(|(k, p)| {
                p.get("exporters")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Node::as_str)
                    .filter(|e| e.split('/').next() != Some("debug"))
                    .map(move |e| format!("{} → {e}", k.name))
            })
            .collect();
        if shipping.is_empty() {
            item.crit(
                format!("{path}: no logs pipeline exports anywhere but debug"),
                "add a logs pipeline (otlp receiver → batch → otlp exporter to the backend)",
            );
        } else {
            item.ok(format!("{path}: {}", shipping.join(", ")));
        }
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_classify() {
        assert_eq!(classify_host("0.0.0.0"), Bind::Wildcard);
        assert_eq!(classify_host("[::]"), Bind::Wildcard);
        assert_eq!(classify_host(""), Bind::Wildcard);
        assert_eq!(classify_host("127.0.0.1"), Bind::Loopback);
        assert_eq!(classify_host("[::1]"), Bind::Loopback);
        assert_eq!(classify_host("localhost"), Bind::Loopback);
        assert_eq!(classify_host("fieldRef:status.podIP"), Bind::PodLocal);
        assert_eq!(classify_host("10.0.0.5"), Bind::Specific("10.0.0.5".into()));
        assert_eq!(split_host_port("[::1]:4317"), ("[::1]", Some("4317")));
        assert_eq!(split_host_port(":4317"), ("", Some("4317")));
    }
}
