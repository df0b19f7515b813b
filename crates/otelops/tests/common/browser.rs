//! Headless Chromium (Debian's `chromium`, `$CHROMIUM`) driven over the
//! DevTools protocol, for tests that look at a page as a person would: the
//! HTML reports render with no console errors, their plots have data, a
//! screenshot is kept under the test artifacts.
//!
//! Include it as `#[path = "common/browser.rs"] mod browser;` next to
//! `mod common;`. The API is blocking (headless_chrome runs its own
//! threads), so call it from a plain `#[test]` or `spawn_blocking`.
//!
//! Only loopback and `file://` URLs are opened, and the browser cannot
//! resolve any other host name: a page that reaches for a CDN fails to load
//! that resource, which shows up in `console_errors()`.
#![allow(dead_code)] // each test file uses a different part

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::{Emulation, Log, Page as Cdp, Runtime};

/// A running headless Chromium with a profile directory of its own.
pub struct Browser {
    inner: headless_chrome::Browser,
    // Dropped after `inner` (field order), so Chromium is gone first.
    _profile: tempfile::TempDir,
}

/// One tab with a page loaded, recording its errors from before the load.
pub struct Page {
    tab: Arc<headless_chrome::Tab>,
    errors: Arc<Mutex<Vec<String>>>,
}

/// `$CHROMIUM`, then `chromium` on PATH; panics with how to get it.
pub fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| crate::common::on_path("chromium"))
        .expect("chromium not found (CHROMIUM, PATH): run ./scripts/test, which installs Debian's chromium")
}

impl Browser {
    /// Starts Chromium headless with a fresh temporary profile.
    pub fn launch() -> Browser {
        let profile = tempfile::tempdir().expect("chromium profile dir");
        let user_data_dir = format!("--user-data-dir={}", profile.path().display());
        // This machine reaches loopback only: without the background
        // networking, component update and sync flags Chromium keeps trying
        // Google's servers. The resolver rule makes every other host name
        // fail, so a page's external asset is an error, not a silent wait.
        let args = [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]",
            user_data_dir.as_str(),
        ];
        let options = headless_chrome::LaunchOptions::default_builder()
            .path(Some(chromium()))
            .headless(true)
            .sandbox(false)
            .window_size(Some((1280, 900)))
            // The default (30 s) closes the connection while a slow test
            // is still between two calls.
            .idle_browser_timeout(Duration::from_secs(600))
            .args(args.iter().map(std::ffi::OsStr::new).collect())
            .build()
            .expect("chromium launch options");
        let inner = headless_chrome::Browser::new(options)
            .unwrap_or_else(|e| panic!("launching {}: {e:#}", chromium().display()));
        Browser {
            inner,
            _profile: profile,
        }
    }

    /// A new tab showing `url` (loopback http(s) or file:// only), loaded.
    pub fn open(&self, url: &str) -> Page {
        assert_local(url);
        let tab = self.inner.new_tab().expect("new chromium tab");
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        tab.add_event_listener(Arc::new(move |event: &Event| {
            if let Some(error) = error_of(event) {
                sink.lock().unwrap().push(error);
            }
        }))
        .expect("chromium event listener");
        // Runtime: console.error and uncaught exceptions; Log: the browser's
        // own errors, among them every resource that failed to load.
        tab.enable_runtime().expect("Runtime.enable");
        tab.enable_log().expect("Log.enable");
        tab.navigate_to(url)
            .and_then(|t| t.wait_until_navigated())
            .unwrap_or_else(|e| panic!("opening {url}: {e:#}"));
        Page { tab, errors }
    }
}

impl Page {
    /// The value of the JavaScript expression `js` (promises awaited);
    /// panics with the exception if it throws.
    pub fn eval(&self, js: &str) -> serde_json::Value {
        self.try_eval(js).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Page::eval`] that returns what went wrong instead of panicking:
    /// while a page navigates, its old document can be gone mid-call.
    pub fn try_eval(&self, js: &str) -> Result<serde_json::Value, String> {
        let reply = self
            .tab
            .call_method(Runtime::Evaluate {
                expression: js.to_string(),
                object_group: None,
                include_command_line_api: None,
                silent: None,
                context_id: None,
                return_by_value: Some(true),
                generate_preview: None,
                user_gesture: None,
                await_promise: Some(true),
                throw_on_side_effect: None,
                timeout: None,
                disable_breaks: None,
                repl_mode: None,
                allow_unsafe_eval_blocked_by_csp: None,
                unique_context_id: None,
                serialization_options: None,
            })
            .map_err(|e| format!("evaluating {js}: {e:#}"))?;
        if let Some(details) = reply.exception_details {
            return Err(format!(
                "evaluating {js} threw: {}",
                exception_text(&details)
            ));
        }
        Ok(reply.result.value.unwrap_or(serde_json::Value::Null))
    }

    /// Waits until an element matches `selector`; panics after `timeout`.
    pub fn wait_for(&self, selector: &str, timeout: Duration) {
        if let Err(e) = self
            .tab
            .wait_for_element_with_custom_timeout(selector, timeout)
        {
            panic!("no element matches {selector} within {timeout:?}: {e:#}");
        }
    }

    /// Clicks the first element matching `selector`.
    pub fn click(&self, selector: &str) {
        self.tab
            .find_element(selector)
            .and_then(|element| element.click().map(|_| ()))
            .unwrap_or_else(|e| panic!("clicking {selector}: {e:#}"));
    }

    /// Presses `key` ("Tab", "Enter", ...) on whatever has the focus, as
    /// the keyboard would (key down, key up).
    pub fn press_key(&self, key: &str) {
        self.tab
            .press_key(key)
            .map(|_| ())
            .unwrap_or_else(|e| panic!("pressing {key}: {e:#}"));
    }

    /// Console errors, uncaught exceptions and failed resource loads seen
    /// since the page was opened, in order.
    pub fn console_errors(&self) -> Vec<String> {
        self.errors.lock().unwrap().clone()
    }

    /// The visible area as a PNG at `path` (parent directories created).
    pub fn screenshot(&self, path: &Path) {
        let png = self
            .tab
            .capture_screenshot(Cdp::CaptureScreenshotFormatOption::Png, None, None, true)
            .expect("chromium screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        }
        std::fs::write(path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// Emulates a `width` × `height` CSS-pixel viewport.
    pub fn set_viewport(&self, width: u32, height: u32) {
        self.tab
            .call_method(Emulation::SetDeviceMetricsOverride {
                width,
                height,
                device_scale_factor: 1.0,
                mobile: false,
                scale: None,
                screen_width: None,
                screen_height: None,
                position_x: None,
                position_y: None,
                dont_set_visible_size: None,
                screen_orientation: None,
                viewport: None,
                display_feature: None,
                device_posture: None,
            })
            .unwrap_or_else(|e| panic!("setting the viewport to {width}x{height}: {e:#}"));
    }
}

/// Panics unless `url` is a file:// URL or http(s) on a loopback host.
fn assert_local(url: &str) {
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let local = match parsed.scheme() {
        "file" => true,
        "http" | "https" => matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")),
        _ => false,
    };
    assert!(
        local,
        "the browser opens loopback or file:// URLs only, not {url}"
    );
}

/// The error an event reports, if it is one.
fn error_of(event: &Event) -> Option<String> {
    match event {
        Event::RuntimeConsoleAPICalled(called)
            if called.params.Type == Runtime::ConsoleAPICalledEventTypeOption::Error =>
        {
            let words: Vec<String> = called
                .params
                .args
                .iter()
                .map(|arg| match &arg.value {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => arg.description.clone().unwrap_or_default(),
                })
                .collect();
            Some(format!("console.error: {}", words.join(" ")))
        }
        Event::RuntimeExceptionThrown(thrown) => Some(format!(
            "uncaught exception: {}",
            exception_text(&thrown.params.exception_details)
        )),
        Event::LogEntryAdded(added) if added.params.entry.level == Log::LogEntryLevel::Error => {
            let entry = &added.params.entry;
            Some(format!(
                "{:?}: {} ({})",
                entry.source,
                entry.text,
                entry.url.as_deref().unwrap_or("-")
            ))
        }
        _ => None,
    }
}

fn exception_text(details: &Runtime::ExceptionDetails) -> String {
    let thrown = details
        .exception
        .as_ref()
        .and_then(|e| e.description.clone())
        .unwrap_or_default();
    format!(
        "{} {} (line {}:{})",
        details.text, thrown, details.line_number, details.column_number
    )
}
