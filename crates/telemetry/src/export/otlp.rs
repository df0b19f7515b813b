//! OTLP exporters built from [`OtlpConfig`], every setting passed explicitly
//! (endpoint, protocol, timeout, headers/metadata, compression, TLS, retry)
//! so the env file behaves exactly like the real environment.

use super::outage::Outage;
use super::traces::{TraceExporter, Transport};
use crate::InitError;
use crate::config::{Compression, OtlpConfig, PemFile, Protocol, RetryConfig, Signal};
use bytes::Bytes;
use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::tonic_types::metadata::MetadataMap;
use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig, Identity};
use opentelemetry_otlp::{
    LogExporter, MetricExporter, SpanExporter, WithExportConfig, WithHttpConfig, WithTonicConfig,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};

/// PEM material read from the files the config names.
struct Tls {
    ca: Option<Vec<u8>>,
    /// (certificate chain, private key)
    identity: Option<(Vec<u8>, Vec<u8>)>,
    ca_file: Option<PemFile>,
    identity_files: Option<(PemFile, PemFile)>,
}

fn read_pem(file: &PemFile) -> Result<Vec<u8>, InitError> {
    std::fs::read(&file.path).map_err(|source| InitError::CertificateUnreadable {
        var: file.var.clone(),
        path: file.path.clone(),
        source,
    })
}

fn load_tls(cfg: &OtlpConfig) -> Result<Tls, InitError> {
    let ca = cfg.certificate.as_ref().map(read_pem).transpose()?;
    let identity = match (&cfg.client_certificate, &cfg.client_key) {
        (Some(c), Some(k)) => Some((read_pem(c)?, read_pem(k)?)),
        _ => None,
    };
    Ok(Tls {
        ca,
        identity,
        ca_file: cfg.certificate.clone(),
        identity_files: cfg.client_certificate.clone().zip(cfg.client_key.clone()),
    })
}

fn bad_pem(file: &PemFile, problem: impl Into<String>) -> InitError {
    InitError::CertificateInvalid {
        var: file.var.clone(),
        path: file.path.clone(),
        problem: problem.into(),
    }
}

impl Tls {
    /// Checks the PEM files parse, so a bad file fails `init` rather than
    /// every export.
    fn validate(&self) -> Result<(), InitError> {
        if let (Some(pem), Some(file)) = (&self.ca, &self.ca_file) {
            certs(pem, file)?;
        }
        if let (Some((cert, key)), Some((cert_file, key_file))) =
            (&self.identity, &self.identity_files)
        {
            certs(cert, cert_file)?;
            PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| bad_pem(key_file, format!("no usable PEM private key ({e})")))?;
        }
        Ok(())
    }
}

fn certs(pem: &[u8], file: &PemFile) -> Result<Vec<CertificateDer<'static>>, InitError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad_pem(file, format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(bad_pem(file, "contains no PEM certificate"));
    }
    Ok(certs)
}

fn is_https(cfg: &OtlpConfig) -> bool {
    cfg.endpoint.starts_with("https://")
}

fn exporter_error(signal: Signal, e: opentelemetry_otlp::ExporterBuildError) -> InitError {
    InitError::Exporter {
        signal,
        message: e.to_string(),
    }
}

/// The configured headers (already percent-decoded), as sent.
fn header_map(cfg: &OtlpConfig) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    for (k, v) in cfg.headers.iter() {
        // Validated when the config was parsed.
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            headers.append(name, value);
        }
    }
    headers
}

fn tonic_builder<B: WithExportConfig + WithTonicConfig>(
    builder: B,
    cfg: &OtlpConfig,
    tls: &Tls,
    retry: &RetryConfig,
    export_timeout: Duration,
    signal: Signal,
    outage: &Arc<Outage>,
) -> Result<B, InitError> {
    let headers = header_map(cfg);
    // The interceptor runs once per attempt of the SDK's retry loop: how
    // the outage tracker learns that a batch is being retried, and how a
    // retry is refused once shutdown has begun (an interceptor's error is
    // final: the SDK does not retry it).
    let attempts = outage.clone();
    let count_attempt =
        move |request: tonic::Request<()>| -> Result<tonic::Request<()>, tonic::Status> {
            if attempts.refuses_retry() {
                return Err(tonic::Status::cancelled(
                    "shutting down: the failed export is not retried",
                ));
            }
            attempts.attempt();
            Ok(request)
        };
    // Metadata, compression and the retry policy apply to a channel we
    // supply as to one the SDK builds; the endpoint and TLS do not (they
    // are the channel's), see `grpc_channel`.
    let mut b = builder
        .with_endpoint(cfg.endpoint.clone())
        .with_timeout(retry_budget(cfg, export_timeout))
        .with_metadata(MetadataMap::from_headers(headers))
        .with_retry_policy(retry.otlp_policy())
        .with_interceptor(count_attempt)
        .with_channel(grpc_channel(cfg, tls, signal)?);
    if cfg.compression == Compression::Gzip {
        b = b.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    Ok(b)
}

/// The tonic channel, as opentelemetry-otlp would build it (same endpoint,
/// same TLS config, lazily connected) but timing each request with
/// OTEL_EXPORTER_OTLP_TIMEOUT, where the SDK's `with_timeout` would also
/// set the batch's retry budget (see `retry_budget`). The SDK ignores
/// `with_tls_config` once given a channel, so TLS/mTLS is set here.
/// Must run inside a tokio runtime's context (`connect_lazy` spawns).
fn grpc_channel(cfg: &OtlpConfig, tls: &Tls, signal: Signal) -> Result<Channel, InitError> {
    let invalid = |what: &str, e: &dyn std::error::Error| InitError::Exporter {
        signal,
        message: format!("{what} for gRPC endpoint '{}': {e}", cfg.endpoint),
    };
    let mut endpoint =
        Endpoint::from_shared(cfg.endpoint.clone()).map_err(|e| invalid("invalid endpoint", &e))?;
    if is_https(cfg) {
        let mut tls_config = ClientTlsConfig::new();
        tls_config = match &tls.ca {
            Some(pem) => tls_config.ca_certificate(Certificate::from_pem(pem)),
            None => tls_config.with_webpki_roots(),
        };
        if let Some((cert, key)) = &tls.identity {
            tls_config = tls_config.identity(Identity::from_pem(cert, key));
        }
        endpoint = endpoint
            .tls_config(tls_config)
            .map_err(|e| invalid("unusable TLS config", &e))?;
    }
    Ok(endpoint.timeout(cfg.timeout).connect_lazy())
}

/// How long opentelemetry-otlp's exporters keep retrying one batch.
///
/// Over HTTP and gRPC alike, it uses its `with_timeout` both as that budget
/// and (unless given a client or channel) as the per-request timeout. One
/// value for both loses batches: a collector that refuses (503, UNAVAILABLE)
/// or restarts for longer than OTEL_EXPORTER_OTLP_TIMEOUT gets the batch
/// dropped whatever the retry policy allows, and a retry that lands on a
/// kept-alive connection to a collector gone silent spends the whole budget
/// in one attempt. So the HTTP client and the gRPC channel we pass time each
/// request with OTEL_EXPORTER_OTLP_TIMEOUT, and the batch may retry for the
/// processor's export timeout (OTEL_BSP/BLRP/METRIC_EXPORT_TIMEOUT) less one
/// request, so that the last attempt still ends before `OnRuntime` cuts the
/// export off.
fn retry_budget(cfg: &OtlpConfig, export_timeout: Duration) -> Duration {
    export_timeout.saturating_sub(cfg.timeout).max(cfg.timeout)
}

fn http_builder<B: WithExportConfig + WithHttpConfig>(
    builder: B,
    cfg: &OtlpConfig,
    tls: &Tls,
    retry: &RetryConfig,
    export_timeout: Duration,
    outage: &Arc<Outage>,
) -> Result<B, InitError> {
    let protocol = match cfg.protocol {
        Protocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        _ => opentelemetry_otlp::Protocol::HttpBinary,
    };
    // `with_headers` percent-decodes values once more; ours are decoded
    // already, so escape '%' to get the exact value on the wire.
    let headers: HashMap<String, String> = cfg
        .headers
        .iter()
        .map(|(k, v)| (k.to_owned(), v.replace('%', "%25")))
        .collect();
    let mut b = builder
        .with_endpoint(cfg.endpoint.clone())
        .with_protocol(protocol)
        .with_timeout(retry_budget(cfg, export_timeout))
        .with_headers(headers)
        .with_retry_policy(retry.otlp_policy())
        .with_http_client(Observed {
            inner: http_client(cfg, tls)?,
            outage: outage.clone(),
        });
    if cfg.compression == Compression::Gzip {
        b = b.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    Ok(b)
}

/// A hyper client over rustls (ring), trusting the configured CA (or the
/// webpki roots) and presenting the client identity for mTLS.
fn http_client(
    cfg: &OtlpConfig,
    tls: &Tls,
) -> Result<
    HyperClient<hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>>,
    InitError,
> {
    let mut roots = rustls::RootCertStore::empty();
    match (&tls.ca, &tls.ca_file) {
        (Some(pem), Some(file)) => {
            for cert in certs(pem, file)? {
                roots
                    .add(cert)
                    .map_err(|e| bad_pem(file, format!("unusable CA certificate ({e})")))?;
            }
        }
        _ => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| InitError::Tls(e.to_string()))?
        .with_root_certificates(roots);
    let config = match (&tls.identity, &tls.identity_files) {
        (Some((cert, key)), Some((cert_file, key_file))) => {
            let chain = certs(cert, cert_file)?;
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| bad_pem(key_file, format!("no usable PEM private key ({e})")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad_pem(key_file, format!("key does not fit the certificate ({e})")))?
        }
        _ => builder.with_no_client_auth(),
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .build();
    // The per-request timeout: it covers the whole exchange (connect,
    // request, response and its body), see `retry_budget`.
    Ok(HyperClient::new(connector, cfg.timeout, None))
}

/// An HTTP client that tells the outage tracker about each attempt of the
/// SDK's retry loop and whether it failed (no response, or a status that
/// is not a success).
#[derive(Debug)]
struct Observed<C> {
    inner: C,
    outage: Arc<Outage>,
}

#[async_trait::async_trait]
impl<C: HttpClient> HttpClient for Observed<C> {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, HttpError> {
        self.outage.attempt();
        let response = self.inner.send_bytes(request).await;
        if matches!(&response, Ok(r) if r.status().is_success()) {
            self.outage.attempt_succeeded();
        } else {
            self.outage.attempt_failed();
        }
        response
    }
}

/// A span exporter: ours (`traces.rs`, `wire.rs`) for gRPC and
/// HTTP/protobuf, opentelemetry-otlp's for HTTP/JSON (not a hot path).
/// Made once at init and moved straight into the batch processor, so
/// its size does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum OtlpSpanExporter {
    Wire(TraceExporter),
    Json(SpanExporter),
}

pub(crate) fn span_exporter(
    cfg: &OtlpConfig,
    retry: &RetryConfig,
    export_timeout: Duration,
    outage: &Arc<Outage>,
) -> Result<OtlpSpanExporter, InitError> {
    let tls = load_tls(cfg)?;
    tls.validate()?;
    let gzip = cfg.compression == Compression::Gzip;
    let transport = match cfg.protocol {
        Protocol::Grpc => Transport::grpc(
            grpc_channel(cfg, &tls, Signal::Traces)?,
            MetadataMap::from_headers(header_map(cfg)),
            gzip,
        ),
        Protocol::HttpProtobuf => Transport::HttpProtobuf {
            client: Arc::new(http_client(cfg, &tls)?),
            uri: cfg.endpoint.parse().map_err(|e| InitError::Exporter {
                signal: Signal::Traces,
                message: format!("invalid endpoint '{}': {e}", cfg.endpoint),
            })?,
            headers: header_map(cfg),
            gzip,
        },
        Protocol::HttpJson => {
            return http_builder(
                SpanExporter::builder().with_http(),
                cfg,
                &tls,
                retry,
                export_timeout,
                outage,
            )?
            .build()
            .map(OtlpSpanExporter::Json)
            .map_err(|e| exporter_error(Signal::Traces, e));
        }
    };
    Ok(OtlpSpanExporter::Wire(TraceExporter::new(
        transport,
        cfg.endpoint.clone(),
        *retry,
        retry_budget(cfg, export_timeout),
        outage.clone(),
    )))
}

pub(crate) fn metric_exporter(
    cfg: &OtlpConfig,
    retry: &RetryConfig,
    export_timeout: Duration,
    outage: &Arc<Outage>,
) -> Result<MetricExporter, InitError> {
    let tls = load_tls(cfg)?;
    tls.validate()?;
    let built = match cfg.protocol {
        Protocol::Grpc => tonic_builder(
            MetricExporter::builder().with_tonic(),
            cfg,
            &tls,
            retry,
            export_timeout,
            Signal::Metrics,
            outage,
        )?
        .build(),
        _ => http_builder(
            MetricExporter::builder().with_http(),
            cfg,
            &tls,
            retry,
            export_timeout,
            outage,
        )?
        .build(),
    };
    built.map_err(|e| exporter_error(Signal::Metrics, e))
}

pub(crate) fn log_exporter(
    cfg: &OtlpConfig,
    retry: &RetryConfig,
    export_timeout: Duration,
    outage: &Arc<Outage>,
) -> Result<LogExporter, InitError> {
    let tls = load_tls(cfg)?;
    tls.validate()?;
    let built = match cfg.protocol {
        Protocol::Grpc => tonic_builder(
            LogExporter::builder().with_tonic(),
            cfg,
            &tls,
            retry,
            export_timeout,
            Signal::Logs,
            outage,
        )?
        .build(),
        _ => http_builder(
            LogExporter::builder().with_http(),
            cfg,
            &tls,
            retry,
            export_timeout,
            outage,
        )?
        .build(),
    };
    built.map_err(|e| exporter_error(Signal::Logs, e))
}
