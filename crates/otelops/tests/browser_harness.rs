//! The browser harness (tests/common/browser.rs) against real headless
//! Chromium: it reports every kind of page error it promises to (so a
//! report test that sees none means the page had none), and its eval,
//! wait, click, viewport and screenshot calls act on the page.

#[path = "common/browser.rs"]
mod browser;
mod common;

use std::time::Duration;

use browser::Browser;

fn file_url(path: &std::path::Path) -> String {
    url::Url::from_file_path(path).unwrap().to_string()
}

#[test]
fn reports_console_errors_exceptions_and_failed_loads_and_acts_on_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.html");
    std::fs::write(
        &broken,
        r#"<!doctype html><html><head><title>broken</title>
<link rel="stylesheet" href="https://cdn.example.com/style.css"></head>
<body><img src="missing.png" alt="">
<script>console.error("bad thing", 42); throw new Error("boom");</script>
</body></html>"#,
    )
    .unwrap();
    let clean = dir.path().join("clean.html");
    std::fs::write(
        &clean,
        r#"<!doctype html><html><head><title>clean</title></head><body>
<button id="b" onclick="setTimeout(() => { const p = document.createElement('p'); p.id = 'done'; document.body.append(p); }, 200)">go</button>
<svg width="100" height="50"><circle cx="10" cy="10" r="3"/><circle cx="20" cy="20" r="3"/></svg>
</body></html>"#,
    )
    .unwrap();

    let chrome = Browser::launch();

    let page = chrome.open(&file_url(&broken));
    // Failed loads are reported asynchronously; wait until all three kinds
    // arrived (bounded), then name what is missing.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let has_all = |errors: &[String]| {
        errors
            .iter()
            .any(|e| e.contains("console.error: bad thing 42"))
            && errors
                .iter()
                .any(|e| e.contains("uncaught exception") && e.contains("boom"))
            && errors.iter().any(|e| e.contains("missing.png"))
            && errors.iter().any(|e| e.contains("cdn.example.com"))
    };
    while !has_all(&page.console_errors()) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let errors = page.console_errors();
    assert!(has_all(&errors), "errors seen: {errors:#?}");

    let page = chrome.open(&file_url(&clean));
    assert_eq!(page.eval("document.title"), serde_json::json!("clean"));
    assert_eq!(
        page.eval("document.querySelectorAll('svg circle').length"),
        serde_json::json!(2)
    );
    assert_eq!(
        page.eval("new Promise(r => setTimeout(() => r({ok: [1, 2]}), 50))"),
        serde_json::json!({"ok": [1, 2]})
    );
    page.click("#b");
    page.wait_for("#done", Duration::from_secs(10));
    page.set_viewport(640, 480);
    assert_eq!(page.eval("window.innerWidth"), serde_json::json!(640));
    let shot = dir.path().join("shots/clean.png");
    page.screenshot(&shot);
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        page.console_errors().is_empty(),
        "clean page had errors: {:?}",
        page.console_errors()
    );
}
