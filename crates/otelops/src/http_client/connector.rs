//! The TCP side of [`super::HttpClient`]: a direct connection, or — only with
//! `--proxy-from-env` — an HTTP CONNECT tunnel through the proxy that
//! `HTTP(S)_PROXY`/`ALL_PROXY`/`NO_PROXY` name. TLS runs inside the tunnel,
//! end to end with the target.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Clone)]
pub(crate) struct Connector {
    direct: HttpConnector,
    /// `Some` only when proxies from the environment were asked for.
    proxies: Option<Arc<Matcher>>,
}

impl Connector {
    pub(crate) fn new(connect_timeout: Duration, proxy_from_env: bool) -> Connector {
        let mut direct = HttpConnector::new();
        // The TLS layer above hands https URIs down to this connector.
        direct.enforce_http(false);
        direct.set_connect_timeout(Some(connect_timeout));
        direct.set_nodelay(true);
        Connector {
            direct,
            proxies: proxy_from_env.then(|| Arc::new(Matcher::from_env())),
        }
    }
}

/// The tunnel takes the target port from the URI and assumes 443 when none
/// is written; an `http://host/` target means port 80.
fn with_port(dst: Uri) -> Uri {
    if dst.port().is_some() || dst.scheme_str() != Some("http") {
        return dst;
    }
    let host = dst.host().unwrap_or_default();
    format!("http://{host}:80/").parse().unwrap_or(dst)
}

impl Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let intercept = self.proxies.as_ref().and_then(|m| m.intercept(&dst));
        let mut direct = self.direct.clone();
        match intercept {
            None => Box::pin(async move { direct.call(dst).await.map_err(Into::into) }),
            Some(proxy) => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), direct);
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Box::pin(async move {
                    std::future::poll_fn(|cx| tunnel.poll_ready(cx)).await?;
                    Ok(tunnel.call(with_port(dst)).await?)
                })
            }
        }
    }
}
