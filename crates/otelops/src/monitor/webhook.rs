//! Alerts on state changes: which checks changed status since the last
//! evaluation, and the JSON we POST to a webhook.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::evaluate::{Report, Status};
use crate::http_client::{self, HttpError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub scope: String,
    pub check: String,
    pub from: Status,
    pub to: Status,
    pub value: f64,
    pub unit: String,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub source: &'static str,
    pub status: Status,
    pub previous_status: Status,
    pub ts_ms: u64,
    pub changes: Vec<Change>,
}

/// Statuses by `(scope, check)`; what `watch` remembers between rounds.
pub type State = BTreeMap<(String, String), Status>;

pub fn state_of(r: &Report) -> State {
    r.checks
        .iter()
        .map(|c| ((c.scope.clone(), c.name.clone()), c.status))
        .collect()
}

/// Checks whose status differs from `before` (a check not seen before counts
/// as OK then; one that vanished is not reported). None when nothing changed.
pub fn changes(before: &State, before_status: Status, r: &Report, ts_ms: u64) -> Option<Alert> {
    let changes: Vec<Change> = r
        .checks
        .iter()
        .filter_map(|c| {
            let from = before
                .get(&(c.scope.clone(), c.name.clone()))
                .copied()
                .unwrap_or(Status::Ok);
            (from != c.status).then(|| Change {
                scope: c.scope.clone(),
                check: c.name.clone(),
                from,
                to: c.status,
                value: c.value,
                unit: c.unit.to_string(),
                rule: c.rule.clone(),
            })
        })
        .collect();
    (!changes.is_empty() || before_status != r.status).then_some(Alert {
        source: "otelops",
        status: r.status,
        previous_status: before_status,
        ts_ms,
        changes,
    })
}

pub async fn post(url: &reqwest::Url, alert: &Alert, timeout: Duration) -> Result<(), HttpError> {
    let client = http_client::client(timeout);
    let resp = client
        .post(url.clone())
        .json(alert)
        .send()
        .await
        .map_err(|e| http_client::classify(url, timeout, e))?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(HttpError::Status {
            url: url.to_string(),
            status: status.as_u16(),
            body,
        });
    }
    Ok(())
}
