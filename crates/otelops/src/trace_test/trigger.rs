//! The trigger of a definition: Tracetest's `http` trigger (method, url,
//! headers, body, basic/bearer/apiKey authentication). Other trigger types
//! are reported as unsupported by name.

use crate::collector_config::document::Node;

use super::definition::{Located, Reader, seq};

#[derive(Debug, Clone)]
pub struct HttpTrigger {
    pub method: Located<String>,
    pub url: Located<String>,
    pub headers: Vec<(Located<String>, Located<String>)>,
    pub body: Option<Located<String>>,
    pub auth: Option<Auth>,
}

#[derive(Debug, Clone)]
pub enum Auth {
    Basic {
        username: Located<String>,
        password: Located<String>,
    },
    Bearer(Located<String>),
    /// `in: header` or `in: query`.
    ApiKey {
        key: Located<String>,
        value: Located<String>,
        in_query: bool,
    },
}

/// Reads `spec.trigger`; only `type: http` runs.
pub(super) fn read(r: &mut Reader<'_>, node: &Node) -> Option<HttpTrigger> {
    r.map(
        node,
        "trigger",
        &["type", "httpRequest"],
        &[
            "grpc",
            "traceid",
            "kafka",
            "cypress",
            "playwright",
            "artillery",
            "k6",
            "playwrightengine",
            "graphql",
        ],
    )?;
    let kind = r.string(node, "type", "trigger", true)?;
    if kind.value != "http" {
        r.unsupported(
            kind.pos,
            format!("trigger type `{}` (only `http` runs here)", kind.value),
        );
        return None;
    }
    let Some(req) = node.get("httpRequest") else {
        r.problem(node.pos, "an http trigger needs `httpRequest`");
        return None;
    };
    r.map(
        req,
        "httpRequest",
        &[
            "method",
            "url",
            "headers",
            "body",
            "authentication",
            "sslVerification",
        ],
        &[],
    )?;
    if let Some(ssl) = req
        .get("sslVerification")
        .filter(|n| n.as_bool() == Some(true))
    {
        r.unsupported(
            ssl.pos,
            "`sslVerification: true` (the trigger talks plain HTTP on loopback)",
        );
    }
    let method = r
        .string(req, "method", "httpRequest", false)
        .unwrap_or(Located {
            value: "GET".into(),
            pos: req.pos,
        });
    let url = r.string(req, "url", "httpRequest", true)?;
    let headers = seq(r, req.get("headers"), "headers")
        .iter()
        .filter_map(|h| {
            r.map(h, "a header", &["key", "value"], &[])?;
            Some((
                r.string(h, "key", "a header", true)?,
                r.string(h, "value", "a header", false).unwrap_or(Located {
                    value: String::new(),
                    pos: h.pos,
                }),
            ))
        })
        .collect();
    let body = r.string(req, "body", "httpRequest", false);
    let auth = req.get("authentication").and_then(|a| auth(r, a));
    Some(HttpTrigger {
        method,
        url,
        headers,
        body,
        auth,
    })
}

fn auth(r: &mut Reader<'_>, node: &Node) -> Option<Auth> {
    r.map(
        node,
        "authentication",
        &["type", "basic", "bearer", "apiKey"],
        &[],
    )?;
    let kind = r.string(node, "type", "authentication", true)?;
    let part = |r: &mut Reader<'_>, key: &str, fields: &[&str]| -> Option<Node> {
        let Some(n) = node.get(key) else {
            r.problem(
                node.pos,
                format!("authentication of type {key} needs `{key}`"),
            );
            return None;
        };
        r.map(n, key, fields, &[])?;
        Some(n.clone())
    };
    match kind.value.as_str() {
        "basic" => {
            let n = part(r, "basic", &["username", "password"])?;
            Some(Auth::Basic {
                username: r.string(&n, "username", "basic", true)?,
                password: r.string(&n, "password", "basic", true)?,
            })
        }
        "bearer" => {
            let n = part(r, "bearer", &["token"])?;
            Some(Auth::Bearer(r.string(&n, "token", "bearer", true)?))
        }
        "apiKey" => {
            let n = part(r, "apiKey", &["key", "value", "in"])?;
            let key = r.string(&n, "key", "apiKey", true)?;
            let value = r.string(&n, "value", "apiKey", true)?;
            let place = r.string(&n, "in", "apiKey", false);
            let in_query = match place.as_ref().map(|p| p.value.as_str()) {
                None | Some("header") => false,
                Some("query") => true,
                Some(other) => {
                    let pos = place.as_ref().map_or(n.pos, |p| p.pos);
                    r.problem(
                        pos,
                        format!("apiKey `in: {other}`: expected header or query"),
                    );
                    return None;
                }
            };
            Some(Auth::ApiKey {
                key,
                value,
                in_query,
            })
        }
        other => {
            r.problem(
                kind.pos,
                format!("authentication type `{other}`: expected basic, bearer or apiKey"),
            );
            None
        }
    }
}
