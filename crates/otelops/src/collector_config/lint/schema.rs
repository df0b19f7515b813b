//! Settings of the components we know well: their keys (where the set is
//! small and stable, an unknown key is the collector's "has invalid keys"
//! error), their YAML types (v0.165 decodes strictly: "100" is not a number),
//! and durations in Go syntax.
//!
//! Components not listed here, and open settings blocks such as the
//! confighttp/configgrpc server settings, are left to the real collector.

use super::Findings;
use crate::collector_config::components::{self, Kind};
use crate::collector_config::document::{Node, Value};

#[derive(Debug, Clone, Copy)]
enum Ty {
    Duration,
    UInt,
    Float,
    Bool,
    Str,
    List,
    /// A nested block: its own schema.
    Block(&'static Schema),
    /// Anything; the collector checks it.
    Any,
}

#[derive(Debug)]
struct Schema {
    fields: &'static [(&'static str, Ty)],
    /// Whether a key outside `fields` is an error.
    closed: bool,
    /// Keys that must be present with a non-empty value.
    required: &'static [&'static str],
    /// At least one of these keys must be present (value may be null).
    one_of: &'static [&'static str],
}

const BATCH: Schema = Schema {
    closed: true,
    required: &[],
    one_of: &[],
    fields: &[
        ("timeout", Ty::Duration),
        ("send_batch_size", Ty::UInt),
        ("send_batch_max_size", Ty::UInt),
        ("metadata_keys", Ty::List),
        ("metadata_cardinality_limit", Ty::UInt),
    ],
};

const MEMORY_LIMITER: Schema = Schema {
    closed: true,
    required: &[],
    one_of: &[],
    fields: &[
        ("check_interval", Ty::Duration),
        ("limit_mib", Ty::UInt),
        ("spike_limit_mib", Ty::UInt),
        ("limit_percentage", Ty::UInt),
        ("spike_limit_percentage", Ty::UInt),
        ("min_gc_interval_when_soft_limited", Ty::Duration),
        ("min_gc_interval_when_hard_limited", Ty::Duration),
    ],
};

const PROBABILISTIC_SAMPLER: Schema = Schema {
    closed: true,
    required: &[],
    one_of: &[],
    fields: &[
        ("sampling_percentage", Ty::Float),
        ("hash_seed", Ty::UInt),
        ("mode", Ty::Str),
        ("fail_closed", Ty::Bool),
        ("sampling_precision", Ty::UInt),
        ("attribute_source", Ty::Str),
        ("from_attribute", Ty::Str),
        ("sampling_priority", Ty::Str),
    ],
};

const RETRY: Schema = Schema {
    closed: true,
    required: &[],
    one_of: &[],
    fields: &[
        ("enabled", Ty::Bool),
        ("initial_interval", Ty::Duration),
        ("randomization_factor", Ty::Float),
        ("multiplier", Ty::Float),
        ("max_interval", Ty::Duration),
        ("max_elapsed_time", Ty::Duration),
    ],
};

const QUEUE: Schema = Schema {
    closed: false,
    required: &[],
    one_of: &[],
    fields: &[
        ("enabled", Ty::Bool),
        ("num_consumers", Ty::UInt),
        ("queue_size", Ty::UInt),
        ("storage", Ty::Str),
        ("sizer", Ty::Str),
        ("wait_for_result", Ty::Bool),
        ("block_on_overflow", Ty::Bool),
    ],
};

const EXPORTER_OTLP: Schema = Schema {
    closed: false,
    required: &[],
    one_of: &[],
    fields: &[
        ("endpoint", Ty::Str),
        ("timeout", Ty::Duration),
        ("compression", Ty::Str),
        ("sending_queue", Ty::Block(&QUEUE)),
        ("retry_on_failure", Ty::Block(&RETRY)),
    ],
};

const OTLP_RECEIVER: Schema = Schema {
    closed: true,
    required: &["protocols"],
    one_of: &[],
    fields: &[("protocols", Ty::Block(&OTLP_PROTOCOLS))],
};

const OTLP_PROTOCOLS: Schema = Schema {
    closed: true,
    required: &[],
    one_of: &["grpc", "http"],
    fields: &[
        ("grpc", Ty::Block(&GRPC_SERVER)),
        ("http", Ty::Block(&HTTP_SERVER)),
    ],
};

/// configgrpc.ServerConfig keys in v0.165 (checked against otelcol-parker).
const GRPC_SERVER: Schema = Schema {
    closed: true,
    required: &[],
    one_of: &[],
    fields: &[
        ("endpoint", Ty::Str),
        ("transport", Ty::Str),
        ("tls", Ty::Any),
        ("max_recv_msg_size_mib", Ty::UInt),
        ("max_concurrent_streams", Ty::UInt),
        ("read_buffer_size", Ty::UInt),
        ("write_buffer_size", Ty::UInt),
        ("keepalive", Ty::Any),
        ("include_metadata", Ty::Bool),
        ("auth", Ty::Any),
        ("middlewares", Ty::List),
    ],
};

/// otlpreceiver.HTTPConfig keys in v0.165: confighttp.ServerConfig plus the
/// per-signal URL paths (checked against otelcol-parker).
const HTTP_SERVER: Schema = Schema {
    closed: true,
    required: &[],
    one_of: &[],
    fields: &[
        ("endpoint", Ty::Str),
        ("tls", Ty::Any),
        ("cors", Ty::Any),
        ("auth", Ty::Any),
        ("max_request_body_size", Ty::UInt),
        ("include_metadata", Ty::Bool),
        ("response_headers", Ty::Any),
        ("compression_algorithms", Ty::List),
        ("read_timeout", Ty::Duration),
        ("read_header_timeout", Ty::Duration),
        ("write_timeout", Ty::Duration),
        ("middlewares", Ty::List),
        ("traces_url_path", Ty::Str),
        ("metrics_url_path", Ty::Str),
        ("logs_url_path", Ty::Str),
    ],
};

const FILE_STORAGE: Schema = Schema {
    closed: false,
    required: &[],
    one_of: &[],
    fields: &[
        ("directory", Ty::Str),
        ("timeout", Ty::Duration),
        ("create_directory", Ty::Bool),
        ("fsync", Ty::Bool),
    ],
};

const BEARER: Schema = Schema {
    closed: false,
    required: &[],
    one_of: &[],
    fields: &[
        ("token", Ty::Str),
        ("scheme", Ty::Str),
        ("filename", Ty::Str),
    ],
};

const RESOURCE: Schema = Schema {
    closed: false,
    required: &["attributes"],
    one_of: &[],
    fields: &[("attributes", Ty::List)],
};

const ENDPOINT_ONLY: Schema = Schema {
    closed: false,
    required: &[],
    one_of: &[],
    fields: &[("endpoint", Ty::Str)],
};

fn schema_for(kind: Kind, type_name: &str) -> Option<&'static Schema> {
    Some(match (kind, type_name) {
        (Kind::Processor, "batch") => &BATCH,
        (Kind::Processor, "memory_limiter") => &MEMORY_LIMITER,
        (Kind::Processor, "probabilistic_sampler") => &PROBABILISTIC_SAMPLER,
        (Kind::Processor, "resource") => &RESOURCE,
        (Kind::Exporter, "otlp" | "otlp_grpc" | "otlphttp" | "otlp_http") => &EXPORTER_OTLP,
        (Kind::Receiver, "otlp") => &OTLP_RECEIVER,
        (Kind::Extension, "file_storage") => &FILE_STORAGE,
        (Kind::Extension, "bearertokenauth") => &BEARER,
        (Kind::Extension, "health_check" | "zpages" | "pprof") => &ENDPOINT_ONLY,
        _ => return None,
    })
}

pub(super) fn check(root: &Node, out: &mut Findings) {
    for kind in Kind::ALL {
        let Some(entries) = root.get(kind.section()).and_then(Node::as_map) else {
            continue;
        };
        for (key, config) in entries {
            let Ok(id) = components::parse_id(&key.name) else {
                continue;
            };
            if let Some(schema) = schema_for(kind, id.type_name) {
                let owner = format!("{kind} {:?}", key.name);
                check_block(schema, config, &owner, "", out);
            }
        }
    }
}

/// A setting's name in messages: `processor "batch" setting "timeout"`.
fn setting(owner: &str, key_path: &str) -> String {
    format!("{owner} setting \"{key_path}\"")
}

/// The block itself in messages: `receiver "otlp"` or `receiver "otlp" setting "protocols"`.
fn block_name(owner: &str, prefix: &str) -> String {
    match prefix.strip_suffix('.') {
        Some(p) => format!("{owner} setting \"{p}\""),
        None => owner.to_owned(),
    }
}

fn check_block(schema: &Schema, node: &Node, owner: &str, prefix: &str, out: &mut Findings) {
    let empty = Vec::new();
    let entries = match &node.value {
        Value::Map(entries) => entries,
        Value::Null => &empty,
        _ => return, // already reported by structure
    };
    for required in schema.required {
        let filled = entries.iter().any(|(k, v)| {
            k.name == *required
                && !matches!(&v.value, Value::Null)
                && !matches!(&v.value, Value::Seq(s) if s.is_empty())
                && !matches!(&v.value, Value::Map(m) if m.is_empty())
        });
        if !filled {
            out.error(
                "missing-setting",
                node.pos,
                format!(
                    "{}: required setting \"{prefix}{required}\" is missing or empty",
                    block_name(owner, prefix)
                ),
            );
        }
    }
    if !schema.one_of.is_empty()
        && !entries
            .iter()
            .any(|(k, _)| schema.one_of.contains(&k.name.as_str()))
    {
        out.error(
            "missing-setting",
            node.pos,
            format!(
                "{}: set at least one of {}",
                block_name(owner, prefix),
                schema.one_of.join(", ")
            ),
        );
    }
    for (key, value) in entries {
        match schema.fields.iter().find(|(name, _)| *name == key.name) {
            Some((_, ty)) => check_value(*ty, value, owner, &format!("{prefix}{}", key.name), out),
            None if schema.closed => {
                let valid: Vec<_> = schema.fields.iter().map(|(n, _)| *n).collect();
                out.error(
                    "unknown-key",
                    key.pos,
                    format!(
                        "{} has invalid key {:?} (valid keys: {})",
                        block_name(owner, prefix),
                        key.name,
                        valid.join(", ")
                    ),
                );
            }
            None => {}
        }
    }
}

fn check_value(ty: Ty, node: &Node, owner: &str, key_path: &str, out: &mut Findings) {
    // Null means "default"; ${env:…} is typed only at run time.
    if matches!(node.value, Value::Null) || node.is_env_reference() {
        return;
    }
    let expected = match (ty, &node.value) {
        (Ty::Any, _) => return,
        (Ty::Block(schema), Value::Map(_)) => {
            return check_block(schema, node, owner, &format!("{key_path}."), out);
        }
        (Ty::Duration, Value::Str(s)) => {
            if let Err(why) = parse_go_duration(s) {
                out.error(
                    "bad-duration",
                    node.pos,
                    format!(
                        "{}: {s:?} is not a duration ({why}); write e.g. 500ms, 5s, 1m30s",
                        setting(owner, key_path)
                    ),
                );
            }
            return;
        }
        // An integer duration is nanoseconds to the collector: legal, if odd.
        (Ty::Duration, Value::Int(_)) => return,
        (Ty::UInt, Value::Int(i)) if *i >= 0 => return,
        (Ty::Float, Value::Int(_) | Value::Float(_)) => return,
        (Ty::Bool, Value::Bool(_)) => return,
        (Ty::Str, Value::Str(_)) => return,
        (Ty::List, Value::Seq(_)) => return,
        (Ty::Duration, _) => "a duration such as 5s",
        (Ty::UInt, _) => "a non-negative integer",
        (Ty::Float, _) => "a number",
        (Ty::Bool, _) => "true or false",
        (Ty::Str, _) => "a string",
        (Ty::List, _) => "a list",
        (Ty::Block(_), _) => "a mapping",
    };
    let found = match &node.value {
        Value::Str(s) => format!("the string {s:?}"),
        Value::Int(i) => format!("the integer {i}"),
        _ => node.kind().to_owned(),
    };
    out.error(
        "wrong-type",
        node.pos,
        format!(
            "{}: expected {expected}, found {found}",
            setting(owner, key_path)
        ),
    );
}

/// Go's `time.ParseDuration` grammar: `[-+]?` then one or more
/// `<decimal><unit>` with units ns, us, µs, ms, s, m, h; a bare "0" is allowed.
/// Hand-written because it is the collector's exact grammar and a dozen lines.
pub(crate) fn parse_go_duration(text: &str) -> Result<(), &'static str> {
    let s = text.strip_prefix(['-', '+']).unwrap_or(text);
    if s == "0" {
        return Ok(());
    }
    if s.is_empty() {
        return Err("empty");
    }
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..digits];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err("expected a number before each unit");
        }
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        match &rest[..unit_len] {
            "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h" => {}
            "" => return Err("missing unit"),
            _ => return Err("unknown unit (use ns, us, ms, s, m or h)"),
        }
        rest = &rest[unit_len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_go_duration;

    #[test]
    fn go_durations_are_accepted() {
        for ok in ["0", "5s", "300ms", "1m30s", "1.5h", "-2us", "10µs"] {
            assert_eq!(parse_go_duration(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn non_go_durations_are_rejected() {
        for bad in ["5 sec", "5", "s", "", "5sec", "1.2.3s", "5S"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }
}
