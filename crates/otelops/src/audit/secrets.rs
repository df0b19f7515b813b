//! Token strength and reuse, and the literal-secret scan of configs, env
//! files and manifests. Values are judged here and never leave: evidence
//! names where a secret is and how long or strong it is, not what it is.

use std::collections::BTreeMap;

use super::config_rules::is_reference;
use super::sources::{Manifest, Sources, containers};
use super::{Item, Status};
use crate::collector_config::document::{self, Key, Node, Value};

/// Values in our own docs, tests and templates, and the usual placeholders:
/// a token equal to one of them is public.
const KNOWN_SAMPLES: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "password",
    "token",
    "test",
    "example",
    "default",
    "your-token-here",
    "ingest-7c1d2e",
    "wrong-94b0aa",
    "export-token",
    "test-ingest-token",
    "test-export-token",
];

/// Words that make a value a sample wherever they appear in it.
const SAMPLE_WORDS: &[&str] = &[
    "changeme",
    "change-me",
    "password",
    "example",
    "placeholder",
];

/// Why a token is weak, or None when it is strong enough.
pub fn weakness(token: &str) -> Option<String> {
    let lower = token.to_ascii_lowercase();
    if KNOWN_SAMPLES.contains(&lower.as_str()) || SAMPLE_WORDS.iter().any(|w| lower.contains(w)) {
        return Some("a known sample or default value".into());
    }
    let distinct = {
        let mut c: Vec<char> = token.chars().collect();
        c.sort_unstable();
        c.dedup();
        c.len()
    };
    let hex = !token.is_empty() && token.bytes().all(|b| b.is_ascii_hexdigit());
    if hex && token.len() >= 32 && distinct >= 8 {
        return None;
    }
    let bits = entropy_bits(token);
    if bits >= 128.0 {
        return None;
    }
    Some(format!(
        "{} characters, about {bits:.0} bits of entropy (needs ≥ 32 hex characters or ≥ 128 bits)",
        token.chars().count()
    ))
}

/// The token's length times its characters' empirical Shannon entropy: a
/// lower bound-ish estimate that punishes repetition ("aaaa…" is 0 bits).
pub fn entropy_bits(token: &str) -> f64 {
    let n = token.chars().count() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let mut counts: BTreeMap<char, f64> = BTreeMap::new();
    for c in token.chars() {
        *counts.entry(c).or_default() += 1.0;
    }
    let per_char: f64 = counts
        .values()
        .map(|&k| {
            let p = k / n;
            -p * p.log2()
        })
        .sum();
    per_char * n
}

/// One place a token is used, with its value when the audit can see it.
#[derive(Debug)]
pub struct TokenUse {
    /// `production.yaml bearertokenauth/ingest`, `.env.otel OTEL_EXPORTER_OTLP_HEADERS`.
    pub name: String,
    pub value: Result<String, String>,
    /// A collector's token (counted for reuse), not a client's copy of one.
    pub collector: bool,
}

fn collector_tokens(src: &Sources) -> Vec<TokenUse> {
    let mut out = Vec::new();
    for config in &src.configs {
        for (id, node) in config.components("extensions", "bearertokenauth") {
            let name = format!("{} {id}", config.path.display());
            let mut push = |value: Result<(String, String), String>| {
                let (name, value) = match value {
                    Ok((v, origin)) => (format!("{name} ({origin})"), Ok(v)),
                    Err(e) => (name.clone(), Err(e)),
                };
                out.push(TokenUse {
                    name,
                    value,
                    collector: true,
                })
            };
            if let Some(f) = node.get("filename").and_then(Node::as_str) {
                push(read_token_file(src, f));
                continue;
            }
            let values = super::config_rules::token_nodes(node);
            for v in values.into_iter().filter_map(Node::as_str) {
                push(resolve_secret(src, v));
            }
        }
    }
    out
}

/// A token file's contents and where its path came from.
fn read_token_file(src: &Sources, raw: &str) -> Result<(String, String), String> {
    let resolved = src
        .resolve(raw)
        .ok_or_else(|| format!("{raw}: the variable is not set; pass --env-file or --pid"))?;
    let path = resolved.value;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("token file {path}: {e}"))?;
    Ok((text.trim().to_owned(), format!("the file {path}")))
}

/// A token's value and where it came from.
fn resolve_secret(src: &Sources, raw: &str) -> Result<(String, String), String> {
    if let Some(path) = raw
        .trim()
        .strip_prefix("${file:")
        .and_then(|s| s.strip_suffix('}'))
    {
        return read_token_file(src, path);
    }
    match src.resolve(raw) {
        Some(r) => Ok((r.value, r.origin.unwrap_or_else(|| "a literal".into()))),
        None => Err(format!(
            "{raw}: not set in any --env-file nor the --pid process"
        )),
    }
}

/// Client-side tokens in env files: `*TOKEN*` variables and the bearer
/// value of `OTEL_EXPORTER_OTLP*_HEADERS`.
fn env_file_tokens(src: &Sources) -> Vec<TokenUse> {
    let mut out = Vec::new();
    for file in src.env_files.iter().filter(|f| !f.is_template()) {
        for (k, v, _) in &file.vars {
            let value = if k.contains("HEADERS") {
                bearer_in_headers(v)
            } else if k.to_ascii_uppercase().contains("TOKEN") && !k.ends_with("_FILE") {
                Some(v.clone())
            } else {
                None
            };
            if let Some(value) = value.filter(|v| !v.is_empty()) {
                out.push(TokenUse {
                    name: format!("{} {k}", file.path.display()),
                    value: Ok(value),
                    collector: false,
                });
            }
        }
    }
    out
}

/// The token of `authorization=Bearer%20TOKEN` in an OTLP headers list.
fn bearer_in_headers(headers: &str) -> Option<String> {
    headers.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("authorization") {
            return None;
        }
        let v = v.trim().replace("%20", " ");
        v.strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
            .map(|t| t.trim().to_owned())
    })
}

pub fn tokens_strong(src: &Sources) -> Item {
    let mut item = Item::new(
        "tokens-strong",
        "Tokens are strong, not samples or defaults, and not reused",
    );
    let fix_weak =
        "otelops token rotate (32 random bytes as 64 hex characters, like `openssl rand -hex 32`)";
    let uses: Vec<TokenUse> = collector_tokens(src)
        .into_iter()
        .chain(env_file_tokens(src))
        .collect();
    let mut seen: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for u in &uses {
        match &u.value {
            Err(why) => item.warn(
                format!("{}: cannot see the token: {why}", u.name),
                "pass the collector's --env-file or --pid so its tokens can be judged",
            ),
            Ok(v) => {
                match weakness(v) {
                    Some(why) => item.crit(format!("{}: weak: {why}", u.name), fix_weak),
                    None => item.ok(format!(
                        "{}: {} characters, strong",
                        u.name,
                        v.chars().count()
                    )),
                }
                if u.collector {
                    seen.entry(v).or_default().push(&u.name);
                }
            }
        }
    }
    for names in seen.values().filter(|n| n.len() > 1) {
        item.crit(
            format!("the same token is used by {}", names.join(" and ")),
            "give each collector and each direction (ingest, export) a token of its own",
        );
    }
    if uses.is_empty() {
        item.crit(
            "no bearer token configured in any collector config",
            "add bearertokenauth to the receivers (otelops config render --profile production)",
        );
    }
    item
}

/// A key whose value is a secret: token, password, secret, key,
/// authorization, … but not a path to one (`key_file`) nor a reference to
/// a component (`authenticator`).
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    if k.ends_with("_file") || k.ends_with("file") || k.ends_with("_path") || k == "authenticator" {
        return false;
    }
    [
        "token",
        "password",
        "passwd",
        "secret",
        "authorization",
        "api_key",
        "apikey",
        "private_key",
    ]
    .iter()
    .any(|w| k.contains(w))
        || k == "key"
        || k.ends_with("_key")
}

/// Literal secret values under secret keys in a YAML tree.
fn literal_secrets_in(node: &Node, origin: &str, found: &mut Vec<String>) {
    let walk_value = |key: &Key, v: &Node, found: &mut Vec<String>| {
        let literal = |s: &str| !s.trim().is_empty() && !is_reference(s);
        let hits: Vec<&Node> = match &v.value {
            Value::Str(s) if literal(s) => vec![v],
            Value::Int(_) | Value::Float(_) => vec![v],
            Value::Seq(items) => items
                .iter()
                .filter(|i| i.as_str().is_some_and(literal))
                .collect(),
            _ => Vec::new(),
        };
        for h in hits {
            found.push(format!(
                "{origin}:{}:{} {}: a literal value",
                h.pos.line, h.pos.column, key.name
            ));
        }
    };
    match &node.value {
        Value::Map(entries) => {
            // `- key: user.email` with an `action:` is an attributes or
            // resource processor naming an attribute, not a key's value.
            let attribute_action = entries.iter().any(|(k, _)| k.name == "action");
            for (k, v) in entries {
                if is_secret_key(&k.name) && !(attribute_action && k.name == "key") {
                    walk_value(k, v, found);
                }
                literal_secrets_in(v, origin, found);
            }
        }
        Value::Seq(items) => items
            .iter()
            .for_each(|i| literal_secrets_in(i, origin, found)),
        _ => {}
    }
}

fn manifest_secrets(m: &Manifest, found: &mut Vec<String>) {
    let origin = m.path.display().to_string();
    match m.kind() {
        "Secret" => {
            for key in ["data", "stringData"] {
                if let Some(d) = m
                    .doc
                    .get(key)
                    .filter(|d| d.as_map().is_some_and(|e| !e.is_empty()))
                {
                    found.push(format!(
                        "{}: Secret {} holds values in the repository ({key})",
                        m.at(d),
                        m.name()
                    ));
                }
            }
        }
        "ConfigMap" => {
            for (k, v) in m.doc.get("data").and_then(Node::as_map).unwrap_or_default() {
                let Some(text) = v.as_str() else { continue };
                // An embedded collector config: scanned as one, lines
                // counted from the file's.
                if let Ok(tree) = document::parse(text) {
                    let mut inner = Vec::new();
                    literal_secrets_in(&tree, &format!("{origin} ({})", k.name), &mut inner);
                    found.extend(inner);
                }
            }
        }
        _ => {}
    }
    if let Some(spec) = m
        .doc
        .path(&["spec", "template", "spec"])
        .or(m.doc.get("spec"))
    {
        for c in containers(spec) {
            for e in c.get("env").and_then(Node::as_seq).unwrap_or_default() {
                let name = e.get("name").and_then(Node::as_str).unwrap_or("");
                let literal = e
                    .get("value")
                    .and_then(Node::as_str)
                    .is_some_and(|v| !v.is_empty());
                if literal && (is_secret_key(name) || name.contains("HEADERS")) {
                    found.push(format!(
                        "{}: env {name} is a literal value (use valueFrom.secretKeyRef)",
                        m.at(e)
                    ));
                }
            }
        }
    }
}

pub fn literal_secrets(src: &Sources) -> Item {
    let mut item = Item::new(
        "literal-secrets",
        "No literal secrets in configs, env templates or manifests",
    );
    let mut found = Vec::new();
    for config in &src.configs {
        literal_secrets_in(&config.root, &config.path.display().to_string(), &mut found);
    }
    for m in &src.manifests {
        manifest_secrets(m, &mut found);
    }
    for e in &src.manifest_errors {
        item.warn(format!("cannot scan {e}"), "fix the manifest so it parses");
    }
    for f in &src.env_files {
        let secret_vars: Vec<&(String, String, usize)> = f
            .vars
            .iter()
            .filter(|(k, v, _)| {
                !v.is_empty()
                    && (is_secret_key(k)
                        || (k.contains("HEADERS") && bearer_in_headers(v).is_some()))
            })
            .collect();
        if f.is_template() {
            for (k, _, line) in secret_vars {
                found.push(format!(
                    "{}:{line} {k}: a value in a template",
                    f.path.display()
                ));
            }
        } else if !secret_vars.is_empty() {
            match f.mode {
                Some(mode) if mode & 0o077 == 0 => item.ok(format!(
                    "{}: holds secrets, mode {mode:04o}",
                    f.path.display()
                )),
                mode => item.crit(
                    format!(
                        "{}: holds secrets but others may read it (mode {})",
                        f.path.display(),
                        mode.map_or("unknown".into(), |m| format!("{m:04o}"))
                    ),
                    "chmod 600 the env file (otelops token rotate writes it 0600)",
                ),
            }
        } else {
            item.ok(format!("{}: no secret values", f.path.display()));
        }
    }
    let fix = "reference the secret (${env:VAR} or ${file:PATH}, a k8s secretKeyRef) and keep its value out of the repository";
    for f in found {
        item.crit(f, fix);
    }
    if item.status == Status::Ok {
        item.ok(format!(
            "scanned {} config(s), {} manifest document(s), {} env file(s)",
            src.configs.len(),
            src.manifests.len(),
            src.env_files.len()
        ));
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixty_four_random_hex_characters_are_strong() {
        let t = "3f9a1c7e5b2d8f406a1e9c3b7d5f2a8e4c6b0d9f1a3e5c7b9d2f4a6c8e0b1d3f";
        assert_eq!(weakness(t), None);
    }

    #[test]
    fn short_repeated_and_sample_tokens_are_weak() {
        assert!(weakness("ingest-7c1d2e").unwrap().contains("sample"));
        assert!(
            weakness("ChangeMe-please-0123456789abcdef")
                .unwrap()
                .contains("sample")
        );
        assert!(weakness("abc123").unwrap().contains("bits"));
        assert!(weakness(&"a".repeat(64)).unwrap().contains("0 bits"));
        // 32 hex characters but only two distinct ones.
        assert!(weakness(&"ab".repeat(16)).is_some());
    }

    #[test]
    fn secret_keys_exclude_paths_and_references() {
        for k in [
            "token",
            "password",
            "client_secret",
            "api_key",
            "Authorization",
            "key",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "key_file",
            "cert_file",
            "filename",
            "authenticator",
            "keepalive",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn bearer_is_read_from_otlp_headers() {
        assert_eq!(
            bearer_in_headers("x=1,authorization=Bearer%20abc").as_deref(),
            Some("abc")
        );
        assert_eq!(bearer_in_headers("x=1"), None);
    }
}
