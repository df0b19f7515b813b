//! Alerts on state changes: which checks changed status since the last
//! evaluation, and the JSON we POST to a webhook.

use std::collections::BTreeMap;

use serde::Serialize;

use super::evaluate::{Report, Status};
use crate::http_client::{HttpClient, HttpError, Url, truncate};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub scope: String,
    pub check: String,
    pub from: Status,
    pub to: Status,
    /// None when the check no longer applies (e.g. enqueue failures stopped).
    pub value: Option<f64>,
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
/// as OK then; a non-OK check that vanished is reported as back to OK).
/// None when nothing changed.
pub fn changes(before: &State, before_status: Status, r: &Report, ts_ms: u64) -> Option<Alert> {
    let mut changes: Vec<Change> = r
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
                value: Some(c.value),
                unit: c.unit.to_string(),
                rule: c.rule.clone(),
            })
        })
        .collect();
    for ((scope, check), from) in before {
        let present = r
            .checks
            .iter()
            .any(|c| &c.scope == scope && &c.name == check);
        if *from != Status::Ok && !present {
            changes.push(Change {
                scope: scope.clone(),
                check: check.clone(),
                from: *from,
                to: Status::Ok,
                value: None,
                unit: String::new(),
                rule: "no longer applies".into(),
            });
        }
    }
    (!changes.is_empty() || before_status != r.status).then_some(Alert {
        source: "otelops",
        status: r.status,
        previous_status: before_status,
        ts_ms,
        changes,
    })
}

pub async fn post(client: &HttpClient, url: &Url, alert: &Alert) -> Result<(), HttpError> {
    let resp = client.post_json(url, alert).await?;
    if !resp.is_success() {
        return Err(HttpError::Status {
            url: url.to_string(),
            status: resp.status,
            body: truncate(&resp.text(), 200),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::evaluate::{Inputs, Thresholds, evaluate};
    use crate::monitor::snapshot;

    fn report(page: &str) -> Report {
        let s = snapshot(&crate::prom::parse(page).unwrap());
        evaluate(
            &Inputs {
                current: &s,
                previous: None,
                memory_limit_mib: None,
            },
            &Thresholds::GUIDE,
        )
    }

    #[test]
    fn no_alert_while_nothing_changes() {
        let r = report("otelcol_exporter_sent_spans{exporter=\"otlp\"} 10\n");
        assert!(changes(&state_of(&r), r.status, &r, 0).is_none());
    }

    #[test]
    fn a_check_that_vanishes_is_reported_back_to_ok() {
        let dropped = report("otelcol_exporter_enqueue_failed_spans{exporter=\"otlp\"} 3\n");
        assert_eq!(dropped.status, Status::Warn);
        let clean = report("otelcol_exporter_sent_spans{exporter=\"otlp\"} 10\n");
        let alert = changes(&state_of(&dropped), dropped.status, &clean, 1).unwrap();
        assert_eq!(
            (alert.previous_status, alert.status),
            (Status::Warn, Status::Ok)
        );
        assert_eq!(alert.changes[0].check, "enqueue failed");
        assert_eq!(alert.changes[0].value, None);
    }
}
