//! Client of the fare provider. Every call goes through
//! `parker_telemetry::http::TracedClient`, so it gets a CLIENT span with
//! `traceparent` injected (one trace across booking → fares) and the
//! `http.client.request.duration` histogram; errors are sorted into
//! transient (retry with backoff) and permanent (fail the booking).

use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry::metrics::Histogram;
use parker_fares::api::{Offer, OfferList, Order, OrderRequest, PROBLEM_SOLD_OUT, Problem};
use parker_telemetry::http::TracedClient;
use reqwest::{Method, StatusCode, Url};

use crate::domain::{Currency, IataCode};

#[derive(Debug, thiserror::Error)]
pub enum FaresError {
    /// Worth retrying: 5xx, 429, timeouts, connection errors.
    #[error("fares provider unavailable: {0}")]
    Transient(String),
    #[error("offer sold out: {0}")]
    SoldOut(String),
    /// The provider refused the request; retrying will not help.
    #[error("fares provider refused the request ({status}): {detail}")]
    Rejected { status: u16, detail: String },
}

#[derive(Clone)]
pub struct FaresClient {
    http: reqwest::Client,
    traced: TracedClient,
    base: Url,
    duration: Histogram<f64>,
}

impl FaresClient {
    pub fn new(base: Url, timeout: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("parker-booking/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            .build()?;
        let duration = opentelemetry::global::meter("parker-booking")
            .f64_histogram("parker.fares.request.duration")
            .with_unit("s")
            .with_description("Duration of calls to the fare provider, retries not included")
            .with_boundaries(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
            .build();
        Ok(FaresClient {
            traced: TracedClient::new(http.clone()),
            http,
            base,
            duration,
        })
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url
    }

    /// Sends one request; `operation` is the low-cardinality name used in
    /// metrics, `template` the route template used in the span name.
    async fn send(
        &self,
        operation: &'static str,
        template: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, FaresError> {
        let request = request
            .build()
            .map_err(|e| FaresError::Transient(format!("building the request: {e}")))?;
        let started = Instant::now();
        let result = self.traced.execute_templated(request, template).await;
        let outcome = match &result {
            Ok(r) if r.status().is_success() => "ok",
            Ok(_) => "error",
            Err(_) => "transport_error",
        };
        self.duration.record(
            started.elapsed().as_secs_f64(),
            &[
                KeyValue::new("parker.fares.operation", operation),
                KeyValue::new("parker.fares.outcome", outcome),
            ],
        );
        let response = result.map_err(|e| FaresError::Transient(describe(&e)))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(error_from(response).await)
    }

    /// Offers for one route and date, priced in `currency`.
    pub async fn search(
        &self,
        origin: IataCode,
        destination: IataCode,
        date: jiff::civil::Date,
        currency: Currency,
    ) -> Result<Vec<Offer>, FaresError> {
        let mut url = self.url("/v1/offers");
        url.query_pairs_mut()
            .append_pair("origin", origin.as_str())
            .append_pair("destination", destination.as_str())
            .append_pair("date", &date.to_string())
            .append_pair("currency", currency.as_str());
        let response = self
            .send("search", "/v1/offers", self.http.request(Method::GET, url))
            .await?;
        let list: OfferList = read_json(response).await?;
        Ok(list.offers)
    }

    /// Places (or finds, by `order_key`) an order.
    pub async fn order(&self, request: &OrderRequest) -> Result<Order, FaresError> {
        let builder = self.http.post(self.url("/v1/orders")).json(request);
        read_json(self.send("order", "/v1/orders", builder).await?).await
    }

    /// Confirms an order; idempotent at the provider.
    pub async fn confirm(&self, order_id: &str) -> Result<Order, FaresError> {
        let url = self.url(&format!("/v1/orders/{order_id}/confirm"));
        let builder = self.http.post(url);
        read_json(
            self.send("confirm", "/v1/orders/{id}/confirm", builder)
                .await?,
        )
        .await
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "request timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        e.to_string()
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, FaresError> {
    let status = response.status().as_u16();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| FaresError::Transient(format!("reading the response: {}", describe(&e))))?;
    serde_json::from_slice(&bytes).map_err(|e| FaresError::Rejected {
        status,
        detail: format!("unexpected response body: {e}"),
    })
}

async fn error_from(response: reqwest::Response) -> FaresError {
    let status = response.status();
    let problem: Option<Problem> = response
        .bytes()
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let detail = problem
        .as_ref()
        .map_or_else(|| status.to_string(), |p| p.detail.clone());
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        return FaresError::Transient(format!("{status}: {detail}"));
    }
    if problem.as_ref().is_some_and(|p| p.kind == PROBLEM_SOLD_OUT) {
        return FaresError::SoldOut(detail);
    }
    FaresError::Rejected {
        status: status.as_u16(),
        detail,
    }
}
