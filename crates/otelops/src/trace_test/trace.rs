//! The captured trace as the specs see it: every span with its attributes
//! and the `tracetest.*` attributes Tracetest derives (span type, duration,
//! start and end time), the synthetic `Tracetest trigger` root carrying the
//! trigger's response, and the tree the descendant selector walks.
//!
//! Traces that *link* to a span of the trigger's trace (parker-booking's
//! worker starts its own trace, linked to the request that created the
//! booking) are folded in: their roots hang below the span they link to, so
//! one definition can follow a booking from request to worker to fares.

use std::collections::{BTreeMap, HashMap};

use crate::receive::model::{SpanView, TraceDetail};

/// Name of the synthetic root span, as Tracetest names it.
pub const TRIGGER_SPAN: &str = "Tracetest trigger";

#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub span_id: String,
    pub parent: Option<usize>,
    pub name: String,
    pub attributes: BTreeMap<String, String>,
}

impl Span {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// Spans in tree order (a parent before its children).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    pub spans: Vec<Span>,
}

/// What the trigger got back, kept on the trigger span.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerResponse {
    pub status: u16,
    pub body: String,
    /// (name, value) in the order received.
    pub headers: Vec<(String, String)>,
}

/// Tracetest's `tracetest.span.type`: from the attribute namespaces present.
pub fn span_type<'a>(mut keys: impl Iterator<Item = &'a str>) -> &'static str {
    let mut found = "general";
    for key in keys.by_ref() {
        let kind = match key.split('.').next() {
            Some("http") => "http",
            Some("rpc") => "rpc",
            Some("messaging") => "messaging",
            Some("db") => "database",
            _ => continue,
        };
        // http wins over the others, as a server span can carry db.* too.
        if kind == "http" {
            return kind;
        }
        if found == "general" {
            found = kind;
        }
    }
    found
}

impl Trace {
    /// Builds the trace below the trigger span `trigger_span_id` from the
    /// trigger's trace and the traces linked to it, whose spans are `details`.
    pub fn assemble(
        trigger_span_id: &str,
        start_unix_nano: u64,
        end_unix_nano: u64,
        response: &TriggerResponse,
        details: &[TraceDetail],
    ) -> Trace {
        let views: Vec<&SpanView> = details.iter().flat_map(|d| &d.spans).collect();
        let mut trigger_attrs = BTreeMap::from([
            ("name".to_owned(), TRIGGER_SPAN.to_owned()),
            ("tracetest.span.type".to_owned(), "general".to_owned()),
            (
                "tracetest.response.status".to_owned(),
                response.status.to_string(),
            ),
            ("tracetest.response.body".to_owned(), response.body.clone()),
            (
                "tracetest.response.headers".to_owned(),
                headers_json(&response.headers),
            ),
        ]);
        timing(&mut trigger_attrs, start_unix_nano, end_unix_nano);
        let mut spans = vec![Span {
            span_id: trigger_span_id.to_owned(),
            parent: None,
            name: TRIGGER_SPAN.to_owned(),
            attributes: trigger_attrs,
        }];
        // Parent of each received span: its own parent, else the span it links to.
        let known: HashMap<&str, usize> = views
            .iter()
            .enumerate()
            .map(|(i, v)| (v.span_id.as_str(), i))
            .collect();
        let parent_of = |v: &SpanView| -> Option<String> {
            v.parent_span_id
                .clone()
                .filter(|p| known.contains_key(p.as_str()) || p == trigger_span_id)
                .or_else(|| v.links.iter().map(|l| l.span_id.clone()).next())
        };
        let mut children: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, v) in views.iter().enumerate() {
            let parent = parent_of(v).unwrap_or_else(|| trigger_span_id.to_owned());
            children.entry(parent).or_default().push(i);
        }
        for list in children.values_mut() {
            list.sort_by_key(|&i| (views[i].start_unix_nano, views[i].span_id.clone()));
        }
        let mut visited = vec![false; views.len()];
        let mut stack: Vec<(usize, String)> = vec![(0, trigger_span_id.to_owned())];
        while let Some((parent_index, parent_id)) = stack.pop() {
            let Some(kids) = children.get(&parent_id) else {
                continue;
            };
            // Siblings are written in start order; their subtrees are then
            // walked first-sibling-first (the stack pops the last pushed).
            let mut pushed = Vec::new();
            for &k in kids {
                if std::mem::replace(&mut visited[k], true) {
                    continue;
                }
                spans.push(Span::from_view(views[k], parent_index));
                pushed.push((spans.len() - 1, views[k].span_id.clone()));
            }
            stack.extend(pushed.into_iter().rev());
        }
        // Spans whose parent is not reachable (cycles, odd links): under the trigger.
        for (i, seen) in visited.iter().enumerate() {
            if !seen {
                spans.push(Span::from_view(views[i], 0));
            }
        }
        Trace { spans }
    }

    /// Whether span `i` has span `ancestor` above it.
    pub fn is_descendant(&self, i: usize, ancestor: usize) -> bool {
        let mut at = self.spans[i].parent;
        let mut steps = 0;
        while let Some(p) = at {
            if p == ancestor {
                return true;
            }
            steps += 1;
            if steps > self.spans.len() {
                return false;
            }
            at = self.spans[p].parent;
        }
        false
    }
}

impl Span {
    fn from_view(v: &SpanView, parent: usize) -> Span {
        let mut attributes: BTreeMap<String, String> = v
            .attributes
            .iter()
            .map(|a| (a.key.clone(), a.value.clone()))
            .collect();
        let kind = span_type(attributes.keys().map(String::as_str));
        attributes.insert("tracetest.span.type".to_owned(), kind.to_owned());
        attributes.insert("name".to_owned(), v.name.clone());
        attributes.insert("service.name".to_owned(), v.service.clone());
        attributes.insert("kind".to_owned(), v.kind.clone());
        attributes.insert("status".to_owned(), v.status.clone());
        if !v.status_message.is_empty() {
            attributes.insert("status.message".to_owned(), v.status_message.clone());
        }
        timing(&mut attributes, v.start_unix_nano, v.end_unix_nano);
        Span {
            span_id: v.span_id.clone(),
            parent: Some(parent),
            name: v.name.clone(),
            attributes,
        }
    }
}

fn timing(attributes: &mut BTreeMap<String, String>, start: u64, end: u64) {
    attributes.insert("tracetest.span.start_time".to_owned(), start.to_string());
    attributes.insert("tracetest.span.end_time".to_owned(), end.to_string());
    attributes.insert(
        "tracetest.span.duration".to_owned(),
        end.saturating_sub(start).to_string(),
    );
}

/// Headers as Tracetest shows them: a JSON list of `{"Key", "Value"}`.
fn headers_json(headers: &[(String, String)]) -> String {
    let list: Vec<serde_json::Value> = headers
        .iter()
        .map(|(k, v)| serde_json::json!({"Key": k, "Value": v}))
        .collect();
    serde_json::Value::Array(list).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::receive::model::{Attribute, LinkView};

    fn view(
        id: &str,
        parent: Option<&str>,
        link: Option<&str>,
        name: &str,
        start: u64,
    ) -> SpanView {
        SpanView {
            span_id: id.to_owned(),
            parent_span_id: parent.map(str::to_owned),
            depth: 0,
            service: "parker-booking".to_owned(),
            name: name.to_owned(),
            kind: "server".to_owned(),
            start_unix_nano: start,
            end_unix_nano: start + 10,
            status: "unset".to_owned(),
            status_message: String::new(),
            attributes: vec![Attribute {
                key: "http.route".to_owned(),
                value: "/v1/bookings".to_owned(),
            }],
            events: Vec::new(),
            links: link
                .map(|l| LinkView {
                    trace_id: "t".to_owned(),
                    span_id: l.to_owned(),
                })
                .into_iter()
                .collect(),
            resource: Vec::new(),
            scope: String::new(),
        }
    }

    #[test]
    fn linked_traces_hang_below_the_span_they_link_to() {
        let request = TraceDetail {
            trace_id: "t".into(),
            spans: vec![view("s1", Some("trig"), None, "POST /v1/bookings", 1)],
        };
        let worker = TraceDetail {
            trace_id: "w".into(),
            spans: vec![
                view("w2", Some("w1"), None, "GET /v1/offers", 6),
                view("w1", None, Some("s1"), "process booking", 5),
            ],
        };
        let response = TriggerResponse {
            status: 202,
            body: "{}".into(),
            headers: vec![("location".into(), "/v1/bookings/1".into())],
        };
        let trace = Trace::assemble("trig", 0, 20, &response, &[request, worker]);
        let names: Vec<&str> = trace.spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                TRIGGER_SPAN,
                "POST /v1/bookings",
                "process booking",
                "GET /v1/offers"
            ]
        );
        assert!(trace.is_descendant(3, 1));
        assert_eq!(
            trace.spans[0].attribute("tracetest.response.status"),
            Some("202")
        );
        assert_eq!(
            trace.spans[0].attribute("tracetest.response.headers"),
            Some(r#"[{"Key":"location","Value":"/v1/bookings/1"}]"#)
        );
        assert_eq!(
            trace.spans[1].attribute("tracetest.span.type"),
            Some("http")
        );
        assert_eq!(
            trace.spans[2].attribute("tracetest.span.duration"),
            Some("10")
        );
    }

    #[test]
    fn span_type_follows_the_attribute_namespaces() {
        assert_eq!(
            span_type(["http.request.method", "db.system.name"].into_iter()),
            "http"
        );
        assert_eq!(
            span_type(["db.system.name", "server.address"].into_iter()),
            "database"
        );
        assert_eq!(span_type(["messaging.system"].into_iter()), "messaging");
        assert_eq!(span_type(["rpc.system"].into_iter()), "rpc");
        assert_eq!(span_type(["booking.id", "httpx"].into_iter()), "general");
    }
}
