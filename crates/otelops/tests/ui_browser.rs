//! The web view as a person uses it, in headless Chromium: the real
//! `otelops demo` books its four trips (one provider failure, retried), then
//! the search lists the booking trace, a new trace appears without a
//! reload, ticking "Errors only" leaves exactly the failed-then-retried
//! trace, Tab reaches its link and Enter opens it with the demo's span count
//! and both services, the service map has the booking → fares edge, and at
//! 380 px nothing is wider than the screen. No page logs a console error.
//! Screenshots go to `$PARKER_TEST_ARTIFACTS/ui/demo/`.

#[allow(dead_code)] // the scenario helpers use the rest
#[path = "common/collector/artifacts.rs"]
mod artifacts;
#[path = "common/browser.rs"]
mod browser;
mod common;

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use artifacts::Artifacts;
use browser::{Browser, Page};
use serde_json::{Value, json};

/// The demo's own bound on each of its waits; the report must come well
/// within [`REPORT_WAIT`].
const DEMO_TIMEOUT: &str = "30s";
const REPORT_WAIT: Duration = Duration::from_secs(120);
const PAGE_WAIT: Duration = Duration::from_secs(15);
const NARROW: u32 = 380;

/// `otelops demo` left running after its report; SIGKILLed if the test
/// fails (its services die with it: PR_SET_PDEATHSIG).
struct RunningDemo {
    child: Option<Child>,
    report: Value,
}

impl RunningDemo {
    fn start(work_dir: &std::path::Path) -> RunningDemo {
        for name in ["parker-fares", "parker-booking"] {
            common::parker_service(name);
        }
        let stderr = std::fs::File::create(work_dir.join("demo.stderr")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_otelops"))
            .args(["demo", "--output", "json", "--timeout", DEMO_TIMEOUT])
            .arg("--work-dir")
            .arg(work_dir)
            .args([
                "--booking-listen",
                "127.0.0.1:0",
                "--fares-listen",
                "127.0.0.1:0",
            ])
            .args([
                "--grpc-listen",
                "127.0.0.1:0",
                "--http-listen",
                "127.0.0.1:0",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn otelops demo");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // The report is one pretty-printed JSON value; the demo then waits
        // for a signal, so read exactly one value.
        std::thread::spawn(move || {
            let first = serde_json::Deserializer::from_reader(stdout)
                .into_iter::<Value>()
                .next();
            let _ = tx.send(first);
        });
        let mut demo = RunningDemo {
            child: Some(child),
            report: Value::Null,
        };
        let report = rx
            .recv_timeout(REPORT_WAIT)
            .ok()
            .flatten()
            .and_then(Result::ok);
        let Some(report) = report else {
            drop(demo);
            let err = std::fs::read_to_string(work_dir.join("demo.stderr")).unwrap_or_default();
            panic!("otelops demo printed no report within {REPORT_WAIT:?}; stderr:\n{err}");
        };
        demo.report = report;
        demo
    }

    /// SIGTERM, as Ctrl-C would, then a bounded wait for the exit.
    fn stop(mut self) {
        let child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        let out = common::finish(child, Duration::from_secs(30), "otelops demo");
        assert!(
            out.status.success(),
            "otelops demo exited with {}",
            out.status
        );
    }
}

impl Drop for RunningDemo {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `js` until it is true (bounded); an evaluation that fails because
/// the page is navigating counts as not yet.
fn wait_true(page: &Page, js: &str) {
    let deadline = Instant::now() + PAGE_WAIT;
    while page.try_eval(js) != Ok(json!(true)) {
        assert!(Instant::now() < deadline, "never true: {js}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn listed(page: &Page) -> Value {
    page.eval("Array.from(document.querySelectorAll('tr.trace')).map(r => r.dataset.traceId)")
}

/// A JSON array of strings, as strings.
fn strings(value: Value) -> Vec<String> {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"))
}

fn no_horizontal_overflow(page: &Page, what: &str) {
    page.set_viewport(NARROW, 800);
    wait_true(page, &format!("window.innerWidth === {NARROW}"));
    let widths = page.eval(
        "({ page: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: window.innerWidth })",
    );
    assert!(
        widths["page"].as_u64() <= widths["view"].as_u64()
            && widths["body"].as_u64() <= widths["view"].as_u64(),
        "{what} overflows at {NARROW}px: {widths}"
    );
}

fn assert_no_console_errors(page: &Page, what: &str) {
    let errors = page.console_errors();
    assert!(errors.is_empty(), "{what}: console errors {errors:#?}");
}

#[test]
fn after_the_demo_the_view_finds_opens_and_maps_its_traces() {
    let art = Artifacts::new("ui/demo");
    let work = tempfile::tempdir().unwrap();
    let demo = RunningDemo::start(work.path());
    let ui = demo.report["endpoints"]["ui"]
        .as_str()
        .expect("endpoints.ui")
        .to_owned();
    assert!(
        ui.starts_with("http://127.0.0.1:") && ui.ends_with("/ui/"),
        "{ui}"
    );
    let faulted = demo.report["trace"]["trace_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let retry = demo.report["trace"]["retry_trace_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let span_count = demo.report["trace"]["spans"].as_u64().unwrap();
    let mut services: Vec<String> =
        serde_json::from_value(demo.report["trace"]["services"].clone()).unwrap();
    services.sort();
    assert_eq!(services, ["parker-booking", "parker-fares"]);

    let chrome = Browser::launch();

    // The search lists the booking traces, newest first.
    let page = chrome.open(&ui);
    page.wait_for("tr.trace", PAGE_WAIT);
    let ids = strings(listed(&page));
    assert!(ids.contains(&faulted) && ids.contains(&retry), "{ids:?}");
    let starts = strings(
        page.eval("Array.from(document.querySelectorAll('tr.trace time')).map(t => t.textContent)"),
    );
    assert!(
        starts.windows(2).all(|w| w[0] >= w[1]),
        "not newest first: {starts:?}"
    );
    assert_eq!(
        page.eval(&format!(
            "document.querySelector('tr[data-trace-id=\"{faulted}\"] a').textContent"
        )),
        json!("process booking")
    );
    page.screenshot(&art.path("search.png"));

    // Live: a trace sent now shows up without a reload (the marker would
    // not survive one).
    let fresh = "5eed".repeat(8);
    page.eval(&format!(
        r#"window.notReloaded = true;
        fetch('/v1/traces', {{ method: 'POST', headers: {{ 'content-type': 'application/json' }},
          body: JSON.stringify({{ resourceSpans: [{{ resource: {{ attributes: [{{ key: 'service.name', value: {{ stringValue: 'late-service' }} }}] }},
            scopeSpans: [{{ spans: [{{ traceId: '{fresh}', spanId: '5eed5eed5eed5eed', name: 'arrived later', kind: 2,
              startTimeUnixNano: String(Date.now() * 1e6), endTimeUnixNano: String(Date.now() * 1e6 + 5e6) }}] }}] }}] }}) }})
          .then(r => r.status)"#
    ));
    page.wait_for(&format!("tr[data-trace-id=\"{fresh}\"]"), PAGE_WAIT);
    assert_eq!(page.eval("window.notReloaded"), json!(true));
    assert_eq!(
        listed(&page)[0],
        json!(fresh),
        "the newest trace comes first"
    );

    // Errors only, through the form: exactly the failed-then-retried trace.
    page.click("input[name=errors]");
    page.click("form.search button[type=submit]");
    wait_true(
        &page,
        "location.search.includes('errors=on') && document.readyState === 'complete'",
    );
    assert_eq!(listed(&page), json!([faulted]));
    page.screenshot(&art.path("search-errors.png"));
    assert_no_console_errors(&page, "search");

    // Keyboard: Tab until the trace link has the focus (it shows a focus
    // ring), Enter opens it.
    let mut reached = false;
    for _ in 0..40 {
        page.press_key("Tab");
        if page.eval("document.activeElement.matches('tr.trace a')") == json!(true) {
            reached = true;
            break;
        }
    }
    assert!(reached, "Tab never reached a trace link");
    assert_ne!(
        page.eval("getComputedStyle(document.activeElement).outlineStyle"),
        json!("none"),
        "the focused link has no visible focus style"
    );
    page.press_key("Enter");
    wait_true(
        &page,
        &format!(
            "location.pathname === '/ui/traces/{faulted}' && document.readyState === 'complete'"
        ),
    );

    // The trace view: the demo's span count, both services, errors marked.
    page.wait_for("li.span", PAGE_WAIT);
    assert_eq!(
        page.eval("document.querySelectorAll('li.span').length"),
        json!(span_count)
    );
    assert_eq!(
        page.eval("document.getElementById('span-count').textContent"),
        json!(span_count.to_string())
    );
    let shown = page.eval(
        "Array.from(new Set(Array.from(document.querySelectorAll('li.span')).map(s => s.dataset.service))).sort()",
    );
    assert_eq!(shown, json!(services));
    assert!(
        page.eval("document.querySelectorAll('li.span.error rect.error').length")
            .as_u64()
            > Some(0)
    );
    assert_eq!(
        page.eval("document.getElementById('traceparent').value.split('-')[1]"),
        json!(faulted)
    );
    // Copy: onto the clipboard, or (headless may deny it) selected for Ctrl+C.
    page.click("button[data-copy=traceparent]");
    wait_true(
        &page,
        "document.querySelector('button[data-copy]').textContent !== 'Copy'",
    );
    let copied = page.eval(
        "(() => { const b = document.querySelector('button[data-copy]').textContent;
           const i = document.getElementById('traceparent');
           // 'Copied' only once clipboard.writeText resolved.
           if (b === 'Copied') return true;
           return b === 'Press Ctrl+C' && i.selectionStart === 0 && i.selectionEnd === i.value.length; })()",
    );
    assert_eq!(copied, json!(true));
    // Open the failed span in parker-fares, as a click on its row does.
    let fares_error = "li.span.error[data-service=\"parker-fares\"]";
    page.click(&format!("{fares_error} summary"));
    wait_true(
        &page,
        &format!("document.querySelector('{fares_error} details').open"),
    );
    page.set_viewport(1280, 1400);
    page.screenshot(&art.path("trace.png"));
    no_horizontal_overflow(&page, "trace view");
    page.screenshot(&art.path("trace-narrow.png"));
    assert_no_console_errors(&page, "trace view");

    // The service map has the booking → fares edge, in the table and the SVG.
    let map = chrome.open(&format!("{ui}map"));
    let edge = "[data-from=\"parker-booking\"][data-to=\"parker-fares\"]";
    map.wait_for(&format!("tr.edge{edge}"), PAGE_WAIT);
    assert!(
        map.eval(&format!(
            "document.querySelector('tr.edge{edge} td.calls').textContent"
        ))
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap()
            >= 1
    );
    assert_eq!(
        map.eval(&format!(
            "!!document.querySelector('svg.map g.edge{edge} line')"
        )),
        json!(true)
    );
    map.screenshot(&art.path("map.png"));
    no_horizontal_overflow(&map, "service map");
    assert_no_console_errors(&map, "service map");

    // The booking worker's traces (README's screenshot).
    let bookings = chrome.open(&format!("{ui}?name=process+booking"));
    bookings.wait_for("tr.trace", PAGE_WAIT);
    bookings.screenshot(&art.path("search-bookings.png"));
    assert_no_console_errors(&bookings, "search (bookings)");

    // The search at a phone's width.
    let narrow = chrome.open(&ui);
    narrow.wait_for("tr.trace", PAGE_WAIT);
    no_horizontal_overflow(&narrow, "search");
    narrow.screenshot(&art.path("search-narrow.png"));
    assert_no_console_errors(&narrow, "search (narrow)");

    drop(chrome);
    demo.stop();
}

/// README's screenshots (copied from this test's artifacts) are there.
#[test]
fn the_readme_screenshots_are_pngs() {
    let readme = std::fs::read_to_string(common::repo_root().join("README.md")).unwrap();
    for name in ["docs/img/ui-search.png", "docs/img/ui-trace.png"] {
        assert!(readme.contains(name), "README does not show {name}");
        let png =
            std::fs::read(common::repo_root().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is not a PNG");
    }
}
