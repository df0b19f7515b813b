//! Talking to a collector over HTTP: one client setup, the loopback rule, and
//! errors that name the URL and what went wrong.

use std::time::{Duration, Instant};

use reqwest::Url;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid URL `{url}`: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("refusing non-loopback target `{url}` (host {host}): pass --allow-remote to reach it")]
    NotLoopback { url: String, host: String },
    #[error("{url}: no answer within {timeout:?}")]
    Timeout { url: String, timeout: Duration },
    #[error("{url}: cannot connect ({reason})")]
    Connect { url: String, reason: String },
    #[error("{url}: HTTP {status}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url}: {reason}")]
    Other { url: String, reason: String },
}

/// Parse `url` and refuse anything but 127.0.0.0/8, ::1 or `localhost`
/// unless `allow_remote`: our tools never touch other hosts by default.
pub fn checked_url(url: &str, allow_remote: bool) -> Result<Url, HttpError> {
    let parsed = Url::parse(url).map_err(|e| HttpError::BadUrl {
        url: url.into(),
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(HttpError::BadUrl {
            url: url.into(),
            reason: "scheme must be http".into(),
        });
    }
    let host = parsed.host().ok_or_else(|| HttpError::BadUrl {
        url: url.into(),
        reason: "no host".into(),
    })?;
    let loopback = match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if !loopback && !allow_remote {
        return Err(HttpError::NotLoopback {
            url: url.into(),
            host: host.to_string(),
        });
    }
    Ok(parsed)
}

/// Same rule for a bare host (`--collector HOST`).
pub fn checked_host(host: &str, allow_remote: bool) -> Result<String, HttpError> {
    let bracketed = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    checked_url(&format!("http://{bracketed}/"), allow_remote)?;
    Ok(bracketed)
}

pub fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        // Environment proxies must never see loopback collector traffic.
        .no_proxy()
        .build()
        .expect("reqwest client without TLS or proxies always builds")
}

pub(crate) fn classify(url: &Url, timeout: Duration, e: reqwest::Error) -> HttpError {
    let url = url.to_string();
    if e.is_timeout() {
        HttpError::Timeout { url, timeout }
    } else if e.is_connect() {
        let mut reason = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            reason = s.to_string();
            src = s.source();
        }
        HttpError::Connect { url, reason }
    } else {
        HttpError::Other {
            url,
            reason: e.to_string(),
        }
    }
}

/// GET a page; non-2xx is an error carrying the body's first bytes.
pub async fn get_text(
    client: &reqwest::Client,
    url: &Url,
    timeout: Duration,
) -> Result<(String, Duration), HttpError> {
    let started = Instant::now();
    let resp = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| classify(url, timeout, e))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| classify(url, timeout, e))?;
    if !status.is_success() {
        return Err(HttpError::Status {
            url: url.to_string(),
            status: status.as_u16(),
            body: truncate(&body, 200),
        });
    }
    Ok((body, started.elapsed()))
}

pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_pass_and_others_are_refused() {
        assert!(checked_url("http://127.0.0.1:8888/metrics", false).is_ok());
        assert!(checked_url("http://localhost:8888/metrics", false).is_ok());
        assert!(checked_url("http://[::1]:8888/metrics", false).is_ok());
        let err = checked_url("http://10.0.0.5:8888/metrics", false).unwrap_err();
        assert!(err.to_string().contains("--allow-remote"), "{err}");
        assert!(checked_url("http://10.0.0.5:8888/metrics", true).is_ok());
        assert!(checked_host("::1", false).is_ok());
        assert!(checked_host("example.com", false).is_err());
    }

    #[test]
    fn garbage_urls_are_bad_urls() {
        assert!(matches!(
            checked_url("not a url", false),
            Err(HttpError::BadUrl { .. })
        ));
        assert!(matches!(
            checked_url("ftp://127.0.0.1/", false),
            Err(HttpError::BadUrl { .. })
        ));
    }
}
