//! HTTP span rules of the HTTP span conventions: the span name
//! (`{method} {target}`, never the URI path) and the span status
//! (5xx is an error; 4xx is an error on clients only).

use super::{KIND_CLIENT, KIND_SERVER, Out, rule};
use crate::check::Level;
use crate::check::view::{AttrValue, SpanView};

const STATUS_ERROR: i64 = 2;

pub(super) fn span_name(span: &SpanView, out: &mut Out) {
    let name = span.span.name.as_str();
    let path = format!("{}.name", span.path);
    let who = Some(&span.span);
    let text = |key| span.attr(key).and_then(AttrValue::as_str);
    let Some(method) = text("http.request.method") else {
        return;
    };
    let method = if method == "_OTHER" { "HTTP" } else { method };
    let target = match span.kind {
        KIND_SERVER => text("http.route"),
        KIND_CLIENT => text("url.template"),
        _ => return,
    };
    let mut expected = vec![method.to_owned()];
    expected.extend(target.map(|t| format!("{method} {t}")));
    if expected.iter().any(|e| e == name) {
        return;
    }
    let raw_path = text("url.path").filter(|p| Some(*p) != target && name.contains(*p));
    let (level, message) = match raw_path {
        Some(raw) => (
            Level::Violation,
            format!(
                "HTTP span name \"{name}\" uses the URI path `{raw}`; it MUST NOT (use the route, or just the method)"
            ),
        ),
        None => (
            Level::Improvement,
            format!(
                "HTTP span name \"{name}\" should be {}",
                expected
                    .iter()
                    .map(|e| format!("\"{e}\""))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ),
    };
    out.push(level, rule::SPAN_NAME, &path, who, message);
}

/// The status a response code demands: servers own 4xx as the client's
/// fault (status stays unset); clients see any 4xx/5xx as failed.
pub(super) fn status(span: &SpanView, out: &mut Out) {
    let Some(AttrValue::Int(code)) = span.attr("http.response.status_code") else {
        return;
    };
    let code = *code;
    let error = span.status == STATUS_ERROR;
    let problem = match span.kind {
        KIND_SERVER if code >= 500 && !error => {
            "a server span with a 5xx response MUST have status Error"
        }
        KIND_SERVER if (400..500).contains(&code) && error => {
            "a server span with a 4xx response MUST leave the status unset (the client erred)"
        }
        KIND_CLIENT if code >= 400 && !error => {
            "a client span with a 4xx/5xx response MUST have status Error"
        }
        _ => return,
    };
    let path = format!("{}.status.code", span.path);
    let message = format!("http.response.status_code {code}: {problem}");
    out.push(
        Level::Violation,
        rule::HTTP_STATUS,
        &path,
        Some(&span.span),
        message,
    );
}
