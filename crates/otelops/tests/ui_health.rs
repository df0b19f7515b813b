//! The web view's collector health page against the real otelcol-parker:
//! `otelops receive --ui --metrics-url` scrapes the collector while spans go
//! through it, and `/ui/health` plots the `monitor` figures over time
//! (queue %, refused %, send-failed %, memory vs the limit given,
//! throughput) with the guide's WARN/CRIT lines, looked at in headless Chromium (screenshot under
//! `$PARKER_TEST_ARTIFACTS/ui/health/`).

#[path = "common/browser.rs"]
mod browser;
mod common;
#[path = "common/receive.rs"]
mod receive_support;
#[path = "common/collector/mod.rs"]
mod support;

use std::time::Duration;

use receive_support::Running;
use serde_json::json;
use support::artifacts::Artifacts;
use support::collector::{self, Collector, Ports};
use support::sender;

const TAG: u8 = 0x68;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_page_plots_the_collectors_figures_with_the_guides_thresholds() {
    let art = Artifacts::new("ui/health");
    let ports = Ports::free();
    let sink = support::sink::Sink::start(ports.downstream).await;
    let config = collector::render("healthy.yaml", &ports, &[], &art);
    let _col = Collector::start(config, ports, &art).await;
    let metrics = ports.metrics_url();
    let running = Running::start(&[
        "--ui",
        "--metrics-url",
        &metrics,
        "--metrics-interval",
        "300ms",
        "--container-memory-mib",
        "2000",
    ]);

    // Spans through the collector between scrapes, so the rates move.
    for _ in 0..3 {
        let sent = sender::http_many(&ports.otlp_http_url(), TAG, 5, 10).await;
        assert_eq!(sent.accepted.len(), 50, "{:?}", sent.statuses);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    sink.wait_unique(150, Duration::from_secs(20)).await;
    let url = running.http_url("/ui/health");
    let page = support::wait_until(
        "three scrapes with throughput",
        Duration::from_secs(20),
        || {
            let url = url.clone();
            async move {
                let page = reqwest::get(&url)
                    .await
                    .map_err(|e| e.to_string())?
                    .text()
                    .await
                    .map_err(|e| e.to_string())?;
                let kept = regex::Regex::new(r"; (\d+) scrapes kept").unwrap();
                let n: usize = kept
                    .captures(&page)
                    .map(|c| c[1].parse().unwrap())
                    .unwrap_or(0);
                let throughput = &page[page
                    .find(r#"data-title="Throughput""#)
                    .ok_or("no throughput plot")?..];
                (n >= 3 && throughput.contains("<polyline"))
                    .then_some(page.clone())
                    .ok_or(page)
            }
        },
    )
    .await;
    assert!(!page.contains("Last scrape failed"), "{page}");
    assert!(
        page.contains(r#"<p id="status" class="ok">Now: OK</p>"#),
        "{page}"
    );
    for title in [
        "Queue utilisation",
        "Refused",
        "Send failed",
        "Memory vs limit",
        "Throughput",
    ] {
        assert!(
            page.contains(&format!(r#"data-title="{title}""#)),
            "no {title} plot: {page}"
        );
    }
    // The guide's lines: queue 80/95 %, refused and send-failed 1/5 %,
    // memory 80/90 % of the 2000 MiB given.
    for (title, warn, crit) in [
        ("Queue utilisation", 80, 95),
        ("Refused", 1, 5),
        ("Send failed", 1, 5),
        ("Memory vs limit", 1600, 1800),
    ] {
        let plot = &page[page.find(&format!(r#"data-title="{title}""#)).unwrap()..];
        let plot = &plot[..plot.find("</figure>").unwrap()];
        assert!(
            plot.contains(&format!(r#"class="limit warn" data-value="{warn}""#)),
            "{title}: {plot}"
        );
        assert!(
            plot.contains(&format!(r#"class="limit crit" data-value="{crit}""#)),
            "{title}: {plot}"
        );
    }
    // RSS and the limit it is judged against, both plotted.
    let memory = &page[page.find(r#"data-title="Memory vs limit""#).unwrap()..];
    let memory = &memory[..memory.find("</figure>").unwrap()];
    for label in ["rss", "limit"] {
        assert!(
            memory.contains(&format!(r#"data-label="{label}" points=""#)),
            "no {label} line: {memory}"
        );
    }
    // The collector's receiver and exporter both plotted in the throughput.
    let throughput = &page[page.find(r#"data-title="Throughput""#).unwrap()..];
    assert!(
        throughput.contains("receiver otlp") && throughput.contains("exporter otlp"),
        "{throughput}"
    );

    let shot = art.path("health.png");
    let errors = tokio::task::spawn_blocking(move || {
        let chrome = browser::Browser::launch();
        let page = chrome.open(&url);
        page.wait_for("figure.plot polyline", Duration::from_secs(10));
        assert_eq!(
            page.eval("document.querySelectorAll('figure.plot').length"),
            json!(5)
        );
        page.set_viewport(1280, 1000);
        page.screenshot(&shot);
        page.set_viewport(380, 800);
        let wide = page.eval("document.documentElement.scrollWidth > window.innerWidth");
        assert_eq!(wide, json!(false), "the health page overflows at 380px");
        page.console_errors()
    })
    .await
    .unwrap();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    running.stop();
}
