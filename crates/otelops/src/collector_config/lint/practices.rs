//! The operations guide's practices: things the collector accepts but that
//! hurt in production (no memory protection, no batching, no queue, plain
//! text, no auth, secrets in the file, impossible sampling).

use super::structure::Structure;
use super::{Findings, LintOptions, Severity};
use crate::collector_config::components::Kind;
use crate::collector_config::document::{Node, Value};

pub(super) fn check(root: &Node, s: &Structure<'_>, options: LintOptions, out: &mut Findings) {
    pipelines(s, out);
    queues_and_sampling(s, out);
    health_check(root, s, out);
    let secret_severity = if options.production {
        Severity::Error
    } else {
        Severity::Warning
    };
    literal_secrets(root, secret_severity, out);
    if options.production {
        production_security(s, out);
        personal_data(s, out);
    }
}

/// Production telemetry reaches a backend many people read: each traces and
/// logs pipeline should mask personal data (docs/pipeline.md) with a
/// redaction, attributes or transform processor. A warning: the collector
/// runs without, and the services are the first line.
fn personal_data(s: &Structure<'_>, out: &mut Findings) {
    for p in &s.pipelines {
        let signal = p.id.split('/').next().unwrap_or_default();
        if !matches!(signal, "traces" | "logs") {
            continue;
        }
        let masks = p.processors.iter().any(|r| {
            matches!(
                type_of(s, Kind::Processor, r.id),
                Some("redaction" | "attributes" | "transform")
            )
        });
        if !masks {
            out.warning("production-pii", p.pos, format!(
                "pipeline {:?} has no redaction, attributes or transform processor: personal data the services let slip reaches the backend (see `otelops config render --profile production`)",
                p.id
            ));
        }
    }
}

fn type_of<'a>(s: &'a Structure<'_>, kind: Kind, id: &str) -> Option<&'a str> {
    s.component(kind, id).map(|c| c.type_name)
}

fn pipelines(s: &Structure<'_>, out: &mut Findings) {
    for p in &s.pipelines {
        match p.processors.first() {
            None => out.warning(
                "memory-limiter-first",
                p.pos,
                format!(
                    "pipeline {:?} has no processors: put memory_limiter first",
                    p.id
                ),
            ),
            Some(first) if type_of(s, Kind::Processor, first.id) != Some("memory_limiter") => {
                let has = p
                    .processors
                    .iter()
                    .find(|r| type_of(s, Kind::Processor, r.id) == Some("memory_limiter"));
                let message = match has {
                    Some(ml) => format!(
                        "pipeline {:?}: memory_limiter {:?} must be the first processor, not {:?}",
                        p.id, ml.id, first.id
                    ),
                    None => format!(
                        "pipeline {:?} has no memory_limiter: add it as the first processor",
                        p.id
                    ),
                };
                out.warning("memory-limiter-first", first.pos, message);
            }
            Some(_) => {}
        }
        if p.id.split('/').next() == Some("logs") {
            for r in &p.processors {
                if type_of(s, Kind::Processor, r.id) == Some("probabilistic_sampler") {
                    out.warning("sampler-on-logs", r.pos, format!(
                        "pipeline {:?}: probabilistic_sampler {:?} drops every log record that has no trace id (fail_closed), even at 100 %",
                        p.id, r.id
                    ));
                }
            }
        }
        let batched = p
            .processors
            .iter()
            .any(|r| type_of(s, Kind::Processor, r.id) == Some("batch"));
        if !batched {
            out.warning(
                "batch-missing",
                p.pos,
                format!(
                    "pipeline {:?} has no batch processor: exports go out one request per call",
                    p.id
                ),
            );
        }
    }
}

fn queues_and_sampling(s: &Structure<'_>, out: &mut Findings) {
    for c in &s.components {
        if c.kind == Kind::Exporter
            && let Some(enabled) = c.config.path(&["sending_queue", "enabled"])
            && enabled.value == Value::Bool(false)
        {
            out.warning(
                "queue-disabled",
                enabled.pos,
                format!("exporter {:?}: sending_queue is disabled, so a slow backend blocks the pipeline and data is lost on failure", c.id),
            );
        }
        if c.kind == Kind::Processor
            && c.type_name == "probabilistic_sampler"
            && let Some(node) = c.config.get("sampling_percentage")
        {
            let pct = match node.value {
                Value::Int(i) => i as f64,
                Value::Float(f) => f,
                _ => continue, // wrong-type reports it
            };
            if !(0.0..=100.0).contains(&pct) {
                out.error(
                    "sampling-range",
                    node.pos,
                    format!(
                        "processor {:?}: sampling_percentage {pct} is outside 0..=100",
                        c.id
                    ),
                );
            }
        }
    }
}

fn health_check(root: &Node, s: &Structure<'_>, out: &mut Findings) {
    let enabled = s.extensions.iter().any(|r| {
        matches!(
            type_of(s, Kind::Extension, r.id),
            Some("health_check" | "healthcheckv2")
        )
    });
    if !enabled {
        let pos = root.get("service").map_or(root.pos, |n| n.pos);
        out.warning(
            "health-check-missing",
            pos,
            "no health_check extension in service.extensions: probes and `otelops health` have nothing to ask",
        );
    }
}

/// Keys whose values are credentials.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    if key.ends_with("_file") || key.ends_with("_path") || key == "filename" {
        return false; // a path to a secret, which is how it should be done
    }
    [
        "token",
        "password",
        "secret",
        "api_key",
        "apikey",
        "authorization",
        "x-api-key",
        "tokens",
    ]
    .iter()
    .any(|word| key == *word || key.ends_with(&format!("_{word}")))
}

/// True when `text` is nothing but `${…}` references, optionally after an
/// auth scheme word ("Bearer ${env:TOKEN}").
fn only_references(text: &str) -> bool {
    let mut rest = text.trim();
    for scheme in ["Bearer ", "Basic ", "bearer ", "basic "] {
        if let Some(r) = rest.strip_prefix(scheme) {
            rest = r.trim_start();
        }
    }
    while let Some(start) = rest.find("${") {
        if !rest[..start].trim().is_empty() {
            return false;
        }
        match rest[start..].find('}') {
            Some(end) => rest = &rest[start + end + 1..],
            None => return false,
        }
    }
    rest.trim().is_empty()
}

fn literal_secrets(node: &Node, severity: Severity, out: &mut Findings) {
    match &node.value {
        Value::Map(entries) => {
            for (key, value) in entries {
                if is_secret_key(&key.name) {
                    let strings: Vec<&Node> = match &value.value {
                        Value::Seq(items) => items.iter().collect(),
                        _ => vec![value],
                    };
                    for v in strings {
                        let literal = match &v.value {
                            Value::Str(s) => !only_references(s),
                            Value::Int(_) | Value::Float(_) => true,
                            _ => false,
                        };
                        if literal {
                            out.push(severity, "literal-secret", v.pos, format!(
                                "{:?} holds a literal secret: reference it as ${{env:VAR}} (the value is not shown)",
                                key.name
                            ));
                        }
                    }
                } else {
                    literal_secrets(value, severity, out);
                }
            }
        }
        Value::Seq(items) => items.iter().for_each(|i| literal_secrets(i, severity, out)),
        Value::Str(s) => {
            let lower = s.to_ascii_lowercase();
            if lower.starts_with("bearer ") && !only_references(s) {
                out.push(severity, "literal-secret", node.pos,
                    "a literal \"Bearer …\" credential: reference the token as ${env:VAR} (the value is not shown)");
            }
        }
        _ => {}
    }
}

fn production_security(s: &Structure<'_>, out: &mut Findings) {
    for c in &s.components {
        match (c.kind, c.type_name) {
            (Kind::Receiver, "otlp") => {
                let Some(protocols) = c.config.get("protocols").and_then(Node::as_map) else {
                    continue;
                };
                for (proto, settings) in protocols {
                    if settings
                        .get("tls")
                        .is_none_or(|t| matches!(t.value, Value::Null))
                    {
                        out.error("production-tls", proto.pos, format!(
                            "receiver {:?} {}: production must serve OTLP over TLS (set tls.cert_file and tls.key_file)",
                            c.id, proto.name
                        ));
                    }
                    if settings.path(&["auth", "authenticator"]).is_none() {
                        out.error("production-auth", proto.pos, format!(
                            "receiver {:?} {}: production must authenticate senders (auth.authenticator, e.g. bearertokenauth)",
                            c.id, proto.name
                        ));
                    }
                }
            }
            (Kind::Exporter, "otlp" | "otlp_grpc" | "otlphttp" | "otlp_http") => {
                let insecure = ["insecure", "insecure_skip_verify"].iter().find_map(|k| {
                    c.config
                        .path(&["tls", k])
                        .filter(|n| n.value == Value::Bool(true))
                        .map(|n| (k, n))
                });
                if let Some((key, node)) = insecure {
                    out.error("production-tls", node.pos, format!(
                        "exporter {:?}: tls.{key} is true; production must export over verified TLS",
                        c.id
                    ));
                }
                if let Some(endpoint) = c.config.get("endpoint")
                    && endpoint.as_str().is_some_and(|e| e.starts_with("http://"))
                {
                    out.error(
                        "production-tls",
                        endpoint.pos,
                        format!(
                            "exporter {:?}: endpoint is plain http://; production must use https",
                            c.id
                        ),
                    );
                }
                let has_auth = c.config.path(&["auth", "authenticator"]).is_some()
                    || c.config
                        .get("headers")
                        .and_then(Node::as_map)
                        .is_some_and(|h| {
                            h.iter()
                                .any(|(k, _)| k.name.eq_ignore_ascii_case("authorization"))
                        });
                if !has_auth {
                    out.error("production-auth", c.pos, format!(
                        "exporter {:?}: production must authenticate to the backend (auth.authenticator: bearertokenauth/…)",
                        c.id
                    ));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_secret_key, only_references};

    #[test]
    fn env_references_are_not_literal_secrets() {
        assert!(only_references("${env:TOKEN}"));
        assert!(only_references("Bearer ${env:TOKEN}"));
        assert!(!only_references("Bearer abc123"));
        assert!(!only_references("s3cr3t"));
        assert!(!only_references("${env:A}tail"));
    }

    #[test]
    fn secret_keys_exclude_paths() {
        assert!(is_secret_key("token"));
        assert!(is_secret_key("client_secret"));
        assert!(is_secret_key("Authorization"));
        assert!(!is_secret_key("token_file"));
        assert!(!is_secret_key("ca_file"));
        assert!(!is_secret_key("endpoint"));
    }
}
