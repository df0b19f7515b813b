//! `otelops receive --ui` over plain HTTP (no browser): the real binary
//! gets three hand-made traces over OTLP/HTTP, then every search filter
//! selects exactly the traces it should, newest first; bad filter input is a
//! 400 naming the parameter; the trace view shows the exception's stack
//! trace, the link to the other trace, the traceparent, a finding beside
//! its span, a span's whole resource and scope and the finding about that
//! resource; the service map counts the calls; the view follows the
//! receiver's token and loopback rules and loads nothing from elsewhere.

mod common;
#[path = "common/receive.rs"]
mod receive_support;

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use prost::Message;
use receive_support::{Running, int_kv, post, request, span, string_kv, with_error};

const PROTOBUF: &str = "application/x-protobuf";

const CHECKOUT: u8 = 0xa1;
const PAY: u8 = 0xa2;
const HEALTH: u8 = 0xa3;
const STACK: &str = "Traceback (most recent call last):\n  File \"pay.py\", line 12, in charge\nValueError: card declined";

fn id(trace: u8) -> String {
    format!("{trace:02x}").repeat(16)
}

fn client(
    mut s: opentelemetry_proto::tonic::trace::v1::Span,
) -> opentelemetry_proto::tonic::trace::v1::Span {
    s.kind = 3;
    s
}

/// checkout (api → stock, fine, 100 ms), pay (api → stock, failing, 900 ms,
/// an exception, a link to checkout, a deprecated attribute) and health
/// (stock alone, 5 ms), one second apart.
async fn receiver_with_three_traces(args: &[&str]) -> Running {
    let mut all = vec!["--ui"];
    all.extend_from_slice(args);
    let running = Running::start(&all);
    let mut pay_root = with_error(span(PAY, 1, None, "GET /pay", 1000, 1900), "declined");
    pay_root.attributes = vec![string_kv("http.method", "GET")];
    pay_root.events = vec![Event {
        name: "exception".into(),
        time_unix_nano: pay_root.start_time_unix_nano + 5_000_000,
        attributes: vec![
            string_kv("exception.type", "ValueError"),
            string_kv("exception.message", "card declined"),
            string_kv("exception.stacktrace", STACK),
        ],
        ..Default::default()
    }];
    pay_root.links = vec![Link {
        trace_id: vec![CHECKOUT; 16],
        span_id: vec![1; 8],
        ..Default::default()
    }];
    let mut checkout_root = span(CHECKOUT, 1, None, "GET /checkout", 0, 100);
    checkout_root.attributes = vec![string_kv("http.request.method", "GET")];
    let mut health = span(HEALTH, 1, None, "GET /health", 2000, 2005);
    health.attributes = vec![int_kv("http.response.status_code", 200)];
    let api = request(
        "api",
        vec![
            checkout_root,
            client(span(CHECKOUT, 2, Some(1), "POST", 10, 60)),
            pay_root,
            client(with_error(span(PAY, 2, Some(1), "POST", 1100, 1800), "503")),
        ],
    );
    let mut stock = request(
        "stock",
        vec![
            span(CHECKOUT, 3, Some(2), "POST /reserve", 15, 55),
            with_error(
                span(PAY, 3, Some(2), "POST /reserve", 1150, 1750),
                "no stock",
            ),
            health,
        ],
    );
    // A whole resource (one attribute deprecated) and a named scope.
    let stock_origin = &mut stock.resource_spans[0];
    if let Some(resource) = stock_origin.resource.as_mut() {
        resource.attributes.extend([
            string_kv("service.version", "2.1.0"),
            string_kv("deployment.environment", "staging"),
        ]);
    }
    stock_origin.scope_spans[0].scope = Some(InstrumentationScope {
        name: "stock-lib".into(),
        version: "0.3".into(),
        ..Default::default()
    });
    for body in [api, stock] {
        let answer = post(
            &running.http_url("/v1/traces"),
            PROTOBUF,
            &[],
            body.encode_to_vec(),
        )
        .await;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    running
}

async fn get(url: &str) -> (u16, String) {
    get_with(url, &[]).await
}

async fn get_with(url: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .get(url)
        .timeout(receive_support::WAIT);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// The trace ids the rows fragment lists for `query`, in order.
async fn listed(running: &Running, query: &str) -> Vec<String> {
    let (status, body) = get(&running.http_url(&format!("/ui/rows?{query}"))).await;
    assert_eq!(status, 200, "{query}: {body}");
    let ids = regex::Regex::new(r#"data-trace-id="([0-9a-f]{32})""#).unwrap();
    ids.captures_iter(&body).map(|c| c[1].to_owned()).collect()
}

#[tokio::test]
async fn every_filter_selects_exactly_its_traces_newest_first() {
    let running = receiver_with_three_traces(&[]).await;
    let (checkout, pay, health) = (id(CHECKOUT), id(PAY), id(HEALTH));
    let cases: [(&str, Vec<&String>); 13] = [
        ("", vec![&health, &pay, &checkout]),
        ("service=api", vec![&pay, &checkout]),
        ("service=stock", vec![&health, &pay, &checkout]),
        ("name=reserve", vec![&pay, &checkout]),
        ("errors=on", vec![&pay]),
        ("min_duration=500ms", vec![&pay]),
        ("min_duration=100ms", vec![&pay, &checkout]),
        ("attr=http.response.status_code%3D200", vec![&health]),
        // Event attributes count: the exception's type.
        ("attr=exception.type%3DValueError", vec![&pay]),
        ("from=2023-11-14T22:13:21Z", vec![&health, &pay]),
        ("to=2023-11-14T22:13:21Z", vec![&pay, &checkout]),
        ("last=1h", vec![]),
        (
            "service=api&errors=on&name=GET&min_duration=1s&attr=",
            vec![],
        ),
    ];
    for (query, expected) in cases {
        let expected: Vec<&String> = expected;
        let got = listed(&running, query).await;
        assert_eq!(got.iter().collect::<Vec<_>>(), expected, "{query}");
    }
    // The page lists the same rows and keeps the filter for its live refresh.
    let (status, page) = get(&running.http_url("/ui/?errors=on&service=api")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"data-src="/ui/rows?errors=on&amp;service=api""#),
        "{page}"
    );
    assert!(
        page.contains(&format!(r#"href="/ui/traces/{pay}""#)),
        "{page}"
    );
    assert!(!page.contains(&checkout), "{page}");
    assert!(page.contains("1 trace"), "{page}");
}

#[tokio::test]
async fn bad_filter_input_is_a_400_naming_the_parameter() {
    let running = receiver_with_three_traces(&[]).await;
    for (query, named) in [
        ("min_duration=fast", "min_duration=&quot;fast&quot;"),
        ("attr=novalue", "attr=&quot;novalue&quot;"),
        ("errors=maybe", "errors=&quot;maybe&quot;"),
        ("from=yesterday", "from=&quot;yesterday&quot;"),
        ("colour=red", "unknown search parameter &quot;colour&quot;"),
    ] {
        let (status, page) = get(&running.http_url(&format!("/ui/?{query}"))).await;
        assert_eq!(status, 400, "{query}");
        assert!(page.contains(named), "{query}: {page}");
        let (status, text) = get(&running.http_url(&format!("/ui/rows?{query}"))).await;
        assert_eq!(status, 400, "{query}");
        assert!(
            text.contains(&named.replace("&quot;", "\"")),
            "{query}: {text}"
        );
    }
    let (status, page) = get(&running.http_url("/ui/traces/not-an-id")).await;
    assert_eq!(status, 400);
    assert!(page.contains("not 32 hex digits"), "{page}");
    let (status, page) = get(&running.http_url(&format!("/ui/traces/{}", id(0x77)))).await;
    assert_eq!(status, 404);
    assert!(page.contains("not in the store"), "{page}");
}

#[tokio::test]
async fn the_trace_view_shows_spans_details_findings_and_the_traceparent() {
    let running = receiver_with_three_traces(&[]).await;
    let pay = id(PAY);
    let (status, page) = get(&running.http_url(&format!("/ui/traces/{pay}"))).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page.matches(r#"<li class="span"#).count(), 3, "{page}");
    assert!(page.contains(r#"<dd id="span-count">3</dd>"#), "{page}");
    assert!(
        page.contains(r#"<dd class="error" id="error-count">3</dd>"#),
        "{page}"
    );
    // Nesting: root, its client child, the server span in the other service.
    let depths: Vec<&str> = page
        .match_indices(r#"class="label d"#)
        .map(|(i, _)| &page[i + 14..i + 15])
        .collect();
    assert_eq!(depths, ["0", "1", "2"], "{page}");
    assert!(page.contains(r#"data-service="stock""#) && page.contains(r#"data-service="api""#));
    // The exception's stack trace, escaped, as written.
    let escaped = STACK.replace('"', "&quot;");
    assert!(
        page.contains(&format!(r#"<pre class="stack">{escaped}</pre>"#)),
        "{page}"
    );
    // The link to the checkout trace.
    assert!(
        page.contains(&format!(
            r#"href="/ui/traces/{}#span-0101010101010101""#,
            id(CHECKOUT)
        )),
        "{page}"
    );
    assert!(
        page.contains(&format!(r#"value="00-{pay}-0101010101010101-01""#)),
        "{page}"
    );
    // The deprecated attribute's finding sits in the root span's details.
    let root = &page[page.find(r#"id="span-0101010101010101""#).unwrap()
        ..page.find(r#"id="span-0202020202020202""#).unwrap()];
    assert!(
        root.contains("semconv.deprecated") && root.contains("http.method"),
        "{root}"
    );
    let listed = root.matches(r#"<li class="finding "#).count();
    assert!(root.contains(&format!(">{listed} findings<")), "{root}");
    // The bar of a failed span is marked.
    assert!(root.contains(r#"<rect class="svc-0 error""#), "{root}");
    // A span of the other service shows its whole resource and its scope; the
    // finding about the resource is above the waterfall, not on a span.
    let server = &page[page.find(r#"id="span-0303030303030303""#).unwrap()..];
    for shown in [
        r#"<th scope="row">service.version</th><td>2.1.0</td>"#,
        r#"<th scope="row">deployment.environment</th><td>staging</td>"#,
        "<code>stock-lib 0.3</code>",
    ] {
        assert!(server.contains(shown), "{shown} in {server}");
    }
    assert!(!server.contains("semconv.deprecated"), "{server}");
    let origins = &page[page
        .find(r#"id="origin-findings""#)
        .expect("resource findings")
        ..page.find(r#"<ol class="waterfall""#).unwrap()];
    assert!(
        origins.contains("semconv.deprecated") && origins.contains("deployment.environment"),
        "{origins}"
    );
    assert!(origins.contains("resourceSpans[1].resource"), "{origins}");
}

#[tokio::test]
async fn the_service_map_counts_calls_errors_and_p95() {
    let running = receiver_with_three_traces(&[]).await;
    let (status, page) = get(&running.http_url("/ui/map")).await;
    assert_eq!(status, 200);
    // Two calls api → stock (50 ms and 700 ms), one failed; nothing else.
    assert_eq!(page.matches(r#"<tr class="edge""#).count(), 1, "{page}");
    assert!(
        page.contains(r#"<tr class="edge" data-from="api" data-to="stock"><td>api</td><td>stock</td><td class="num calls">2</td><td class="num error">50.0%</td><td class="num">700.00ms</td></tr>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<g class="node" data-service="api">"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<g class="node" data-service="stock">"#),
        "{page}"
    );
}

#[tokio::test]
async fn pages_load_only_their_own_assets_under_a_strict_policy() {
    let running = receiver_with_three_traces(&[]).await;
    let response = reqwest::get(running.http_url("/ui/")).await.unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.starts_with("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    let page = response.text().await.unwrap();
    let refs = regex::Regex::new(r#"(?:src|href)="([^"]*)""#).unwrap();
    for found in refs.captures_iter(&page) {
        let target = &found[1];
        assert!(
            target.starts_with('/') || target == "data:,",
            "external reference {target}"
        );
    }
    for (path, kind) in [
        ("/ui/assets/app.js", "text/javascript"),
        ("/ui/assets/app.css", "text/css"),
    ] {
        let response = reqwest::get(running.http_url(path)).await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{path} reaches out"
        );
    }
}

#[tokio::test]
async fn without_ui_there_is_no_view() {
    let running = Running::start(&[]);
    let (status, _) = get(&running.http_url("/ui/")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_view_needs_the_token_when_set_and_a_loopback_host_when_not() {
    let running = Running::start_with_env(&["--ui"], &[("OTELOPS_RECEIVER_TOKEN", "s3cret-token")]);
    assert_eq!(get(&running.http_url("/ui/")).await.0, 401);
    assert_eq!(get(&running.http_url("/ui/assets/app.js")).await.0, 401);
    let (status, page) = get_with(
        &running.http_url("/ui/map"),
        &[("authorization", "Bearer s3cret-token")],
    )
    .await;
    assert_eq!(status, 200);
    assert!(!page.contains("s3cret-token"), "token in the page");
    drop(running);

    // Without a token, a page asked for under another host name (DNS
    // rebinding) is refused; the loopback names are served.
    let open = receiver_with_three_traces(&[]).await;
    let url = open.http_url("/ui/");
    let port = open.http.port();
    let (status, page) = get_with(&url, &[("host", "evil.example:80")]).await;
    assert_eq!(status, 403);
    assert!(page.contains("not a loopback name"), "{page}");
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        assert_eq!(get_with(&url, &[("host", &host)]).await.0, 200, "{host}");
    }
}

/// Usage errors: the receiver's loopback rule holds with --ui, and the
/// health page scrapes only this machine.
#[test]
fn usage_errors_name_what_is_wrong() {
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "--grpc-listen",
                "127.0.0.1:0",
                "--http-listen",
                "0.0.0.0:0",
                "--exit-after",
                "1s",
            ],
            "refusing to listen on 0.0.0.0:0",
        ),
        (
            &["--metrics-url", "http://192.0.2.1:8888/metrics"],
            "--metrics-url <URL>': 192.0.2.1 is not a loopback address",
        ),
        (
            &["--container-memory-mib", "2000"],
            "they need --metrics-url",
        ),
        (
            &[
                "--metrics-url",
                "http://127.0.0.1:9/metrics",
                "--container-memory-mib",
                "0",
            ],
            "--container-memory-mib must be positive, got 0",
        ),
    ];
    for (args, expected) in cases {
        let run = common::otelops_command()
            .args(["receive", "--ui"])
            .args(args)
            .env_remove("OTELOPS_RECEIVER_TOKEN")
            .output()
            .expect("run otelops receive");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn receive_prints_the_view_url() {
    let mut running = Running::start(&["--ui"]);
    let query = running.next_line();
    assert!(query.starts_with("query API on "), "{query}");
    assert_eq!(
        running.next_line(),
        format!("web view on http://{}/ui/", running.http)
    );
}

#[tokio::test]
async fn without_metrics_url_the_health_page_says_how_to_get_it() {
    let running = Running::start(&["--ui"]);
    let (status, page) = get(&running.http_url("/ui/health")).await;
    assert_eq!(status, 200);
    assert!(page.contains("<code>--metrics-url URL</code>"), "{page}");
}
