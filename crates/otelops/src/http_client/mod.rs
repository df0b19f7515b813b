//! Every HTTP call otelops makes goes through [`HttpClient`], so the same
//! rules hold everywhere:
//!
//! - only loopback targets unless `--allow-remote` ([`checked_url`]), checked
//!   again on every request; redirects are never followed (a redirect could
//!   lead off loopback);
//! - a connect timeout and a whole-request timeout;
//! - environment proxies are ignored unless `--proxy-from-env`;
//! - https with rustls on the `ring` provider (`--cacert`, `--client-cert`,
//!   `--client-key`);
//! - the bearer token (`--token-file`/`--token-env`) goes only over https or
//!   to loopback, is never printed, and errors name its source only.
//!
//! It is a small hyper client rather than reqwest because reqwest's rustls
//! features either build aws-lc or (without a provider) make every other
//! crate's `reqwest::Client` in the workspace panic, as features unify; see
//! crates/telemetry/Cargo.toml. hyper-util, hyper-rustls and rustls on ring
//! are in the tree already (parker-telemetry, reqwest, tonic), so this added
//! no crate to Cargo.lock. The OTLP/gRPC check gets the same rules through
//! [`HttpClient::grpc_channel`] and [`HttpClient::bearer`].

mod args;
mod connector;
mod tls;
mod token;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
pub use url::Url;

pub use args::HttpArgs;
pub(crate) use tls::tls_failure;
pub use tls::{TlsError, TlsFiles};
pub use token::{BearerToken, TokenError, TokenSource};

use connector::Connector;
use tls::LoadedTls;

/// Bodies larger than this are cut off with an error: nothing otelops reads
/// (metric pages, trace lists, health documents) comes near it.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

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
    #[error("{url}: TLS handshake failed: {reason}")]
    Tls { url: String, reason: String },
    #[error(
        "refusing to send the bearer token from the {token_source} to `{url}` over plain http: \
         tokens go only over https or to loopback"
    )]
    TokenOverPlainHttp {
        url: String,
        token_source: TokenSource,
    },
    #[error("{url}: HTTP {status}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    TlsSetup(#[from] TlsError),
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
            reason: "scheme must be http or https".into(),
        });
    }
    let host = parsed.host().ok_or_else(|| HttpError::BadUrl {
        url: url.into(),
        reason: "no host".into(),
    })?;
    if !is_loopback(&parsed) && !allow_remote {
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

/// What a client is allowed to do; [`HttpArgs::options`] builds it from flags.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub allow_remote: bool,
    /// Bound on the whole request, body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub proxy_from_env: bool,
    pub tls: TlsFiles,
    pub token: Option<TokenSource>,
    /// Write header names in title case (`TraceParent`), for the W3C check's
    /// case-insensitivity cases.
    pub title_case_headers: bool,
}

impl HttpOptions {
    /// Loopback only, no proxy, no token, Mozilla roots; `timeout` for both
    /// connecting and the request.
    pub fn loopback(timeout: Duration) -> HttpOptions {
        HttpOptions {
            allow_remote: false,
            timeout,
            connect_timeout: timeout,
            proxy_from_env: false,
            tls: TlsFiles::default(),
            token: None,
            title_case_headers: false,
        }
    }
}

/// A response read to the end.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// The one HTTP client (see the module docs for its rules). Cheap to clone.
#[derive(Clone)]
pub struct HttpClient(std::sync::Arc<Shared>);

#[derive(Clone)]
struct Shared {
    inner: Client<HttpsConnector<Connector>, Full<Bytes>>,
    /// Also used for gRPC, under tonic's TLS.
    connector: Connector,
    allow_remote: bool,
    timeout: Duration,
    connect_timeout: Duration,
    token: Option<BearerToken>,
    tls: LoadedTls,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("allow_remote", &self.0.allow_remote)
            .field("timeout", &self.0.timeout)
            .field("token", &self.0.token)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Reads the TLS files and the token now, so a bad file fails before any
    /// request is made.
    pub fn new(opts: &HttpOptions) -> Result<HttpClient, HttpError> {
        let (tls_config, loaded) = opts.tls.load()?;
        let token = opts.token.as_ref().map(BearerToken::load).transpose()?;
        let connector = Connector::new(opts.connect_timeout, opts.proxy_from_env);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector.clone());
        let inner = Client::builder(TokioExecutor::new())
            .http1_title_case_headers(opts.title_case_headers)
            .build(https);
        Ok(HttpClient(std::sync::Arc::new(Shared {
            inner,
            connector,
            allow_remote: opts.allow_remote,
            timeout: opts.timeout,
            connect_timeout: opts.connect_timeout,
            token,
            tls: loaded,
        })))
    }

    /// A loopback-only client with no TLS files or token.
    pub fn loopback(timeout: Duration) -> HttpClient {
        HttpClient::new(&HttpOptions::loopback(timeout))
            .expect("a client without files or a token always builds")
    }

    /// The same client without its token (for endpoints that need none).
    pub fn without_token(&self) -> HttpClient {
        HttpClient(std::sync::Arc::new(Shared {
            token: None,
            ..Shared::clone(&self.0)
        }))
    }

    pub fn timeout(&self) -> Duration {
        self.0.timeout
    }

    /// Where the token came from, when there is one.
    pub fn token_source(&self) -> Option<&TokenSource> {
        self.0.token.as_ref().map(BearerToken::source)
    }

    /// Parses `url` under this client's loopback rule.
    pub fn url(&self, url: &str) -> Result<Url, HttpError> {
        checked_url(url, self.0.allow_remote)
    }

    /// The token to send to `url`: refused over plain http to a non-loopback
    /// host, where anyone on the path could read it.
    pub fn bearer(&self, url: &Url) -> Result<Option<&BearerToken>, HttpError> {
        let Some(token) = &self.0.token else {
            return Ok(None);
        };
        if url.scheme() == "https" || is_loopback(url) {
            Ok(Some(token))
        } else {
            Err(HttpError::TokenOverPlainHttp {
                url: url.to_string(),
                token_source: token.source().clone(),
            })
        }
    }

    pub async fn get(&self, url: &Url) -> Result<Response, HttpError> {
        self.send(Method::GET, url, HeaderMap::new(), Bytes::new())
            .await
    }

    pub async fn post(
        &self,
        url: &Url,
        content_type: &'static str,
        body: impl Into<Bytes>,
    ) -> Result<Response, HttpError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        self.send(Method::POST, url, headers, body.into()).await
    }

    pub async fn post_json<T: serde::Serialize>(
        &self,
        url: &Url,
        value: &T,
    ) -> Result<Response, HttpError> {
        let body = serde_json::to_vec(value).map_err(|e| HttpError::Other {
            url: url.to_string(),
            reason: format!("cannot encode the JSON body: {e}"),
        })?;
        self.post(url, "application/json", body).await
    }

    /// One request under every rule: loopback check, token rule, timeout.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response, HttpError> {
        let url = self.url(url.as_str())?;
        let mut request = Request::builder()
            .method(method)
            .uri(url.as_str())
            .body(Full::new(body))
            .map_err(|e| HttpError::BadUrl {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        *request.headers_mut() = headers;
        if let Some(token) = self.bearer(&url)? {
            request
                .headers_mut()
                .insert(header::AUTHORIZATION, token.header().clone());
        }
        let exchange = async {
            let response = self
                .0
                .inner
                .request(request)
                .await
                .map_err(|e| self.classify(&url, &e))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_BODY_BYTES)
                .collect()
                .await
                .map_err(|e| HttpError::Other {
                    url: url.to_string(),
                    reason: format!("reading the body: {e}"),
                })?
                .to_bytes();
            Ok(Response {
                status: parts.status.as_u16(),
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(self.0.timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(HttpError::Timeout {
                    url: url.to_string(),
                    timeout: self.0.timeout,
                })
            })
    }

    /// GET a page; non-2xx is an error carrying the body's first bytes.
    pub async fn get_text(&self, url: &Url) -> Result<(String, Duration), HttpError> {
        let started = Instant::now();
        let response = self.get(url).await?;
        let body = response.text();
        if !response.is_success() {
            return Err(HttpError::Status {
                url: url.to_string(),
                status: response.status,
                body: truncate(&body, 200),
            });
        }
        Ok((body, started.elapsed()))
    }

    /// A gRPC channel to `url` under the same rules: loopback check, connect
    /// and request timeouts, the same connector (so `--proxy-from-env` holds
    /// here too), and for https the same CA and client certificate. Add the
    /// token with [`HttpClient::bearer`].
    pub async fn grpc_channel(&self, url: &Url) -> Result<tonic::transport::Channel, HttpError> {
        let url = self.url(url.as_str())?;
        let bad = |reason: String| HttpError::BadUrl {
            url: url.to_string(),
            reason,
        };
        let mut endpoint = tonic::transport::Endpoint::from_shared(url.to_string())
            .map_err(|e| bad(e.to_string()))?
            .connect_timeout(self.0.connect_timeout)
            .timeout(self.0.timeout);
        if url.scheme() == "https" {
            use tonic::transport::{Certificate, ClientTlsConfig, Identity};
            let mut tls = ClientTlsConfig::new();
            tls = match &self.0.tls.ca_pem {
                Some(pem) => tls.ca_certificate(Certificate::from_pem(pem)),
                None => tls.with_webpki_roots(),
            };
            if let Some((cert, key)) = &self.0.tls.identity_pem {
                tls = tls.identity(Identity::from_pem(cert, key));
            }
            endpoint = endpoint.tls_config(tls).map_err(|e| bad(e.to_string()))?;
        }
        endpoint
            .connect_with_connector(self.0.connector.clone())
            .await
            .map_err(|e| self.classify(&url, &e))
    }

    /// Sorts a failed request or gRPC connect into TLS, timeout, connect or
    /// other, with the innermost cause as the reason.
    fn classify(&self, url: &Url, e: &(dyn std::error::Error + 'static)) -> HttpError {
        let url = url.to_string();
        if let Some(reason) = tls::tls_failure(e) {
            return HttpError::Tls { url, reason };
        }
        let reason = root_cause(e);
        let connect = e
            .downcast_ref::<hyper_util::client::legacy::Error>()
            .is_none_or(hyper_util::client::legacy::Error::is_connect);
        if reason.contains("timed out") || reason.contains("timeout") {
            HttpError::Timeout {
                url,
                timeout: self.0.connect_timeout,
            }
        } else if connect {
            HttpError::Connect { url, reason }
        } else {
            HttpError::Other { url, reason }
        }
    }
}

/// The innermost error's message (what the OS or the peer said).
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
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
