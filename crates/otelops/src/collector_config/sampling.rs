//! Tail sampling in the profiles: which traces each environment keeps, as
//! the `tail_sampling` processor's policies, and the processor's model.
//!
//! The policy is the guide's: every trace with an error, every trace slower
//! than a threshold, traces touching a critical service at a higher rate,
//! the rest at the environment's rate. Tail sampling decides once a trace's
//! spans have arrived, so the processor must see every span of a trace: it
//! runs on the tier where they meet (one collector, or the gateway tier of
//! `docs/scale.md`), never on a per-node agent.

use serde::{Deserialize, Serialize};

use super::profile::Profile;

/// What a profile keeps, before it becomes policies.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingPlan {
    /// Share of ordinary traces kept, percent.
    pub rate_percent: f64,
    /// `service.name`s whose traces are kept at `critical_rate_percent`.
    pub critical_services: Vec<String>,
    pub critical_rate_percent: f64,
    /// Every trace at least this long (first start to last end) is kept.
    pub slow_threshold_ms: u64,
    pub decision_wait: &'static str,
    pub num_traces: u64,
    pub expected_new_traces_per_sec: u64,
}

/// The services whose traces matter most: a failed or slow booking costs a
/// traveller a flight, so parker-booking is sampled higher everywhere.
pub const DEFAULT_CRITICAL_SERVICES: [&str; 1] = ["parker-booking"];

/// The plan for `profile`; `None` where everything is kept (development,
/// where the probabilistic sampler at 100 % stays and no trace waits).
pub fn plan(profile: Profile) -> Option<SamplingPlan> {
    let critical_services = DEFAULT_CRITICAL_SERVICES.map(str::to_owned).to_vec();
    // decision_wait: parker-telemetry's batch processor sends a span up to
    // 5 s after it ends (OTEL_BSP_SCHEDULE_DELAY) and a booking's spans come
    // from two services; 10 s lets the last span of a 1–2 s trace arrive
    // before the decision. num_traces: a trace stays in memory about
    // decision_wait (plus one decision tick), so the processor holds about
    // rate × 10 s traces; 5× that leaves room for bursts before a trace is
    // dropped too early (the `OtelcolTailSamplingDroppedTooEarly` alert).
    // expected_new_traces_per_sec only sizes the maps up front.
    match profile {
        Profile::Development => None,
        Profile::Staging => Some(SamplingPlan {
            rate_percent: profile.sampling_percentage(),
            critical_services,
            critical_rate_percent: 75.0,
            slow_threshold_ms: 1000,
            decision_wait: "10s",
            num_traces: 10_000,
            expected_new_traces_per_sec: 200,
        }),
        Profile::Production => Some(SamplingPlan {
            rate_percent: profile.sampling_percentage(),
            critical_services,
            critical_rate_percent: 50.0,
            slow_threshold_ms: 1000,
            decision_wait: "10s",
            num_traces: 50_000,
            expected_new_traces_per_sec: 1000,
        }),
    }
}

impl SamplingPlan {
    /// The processor for this plan. Policies are OR-ed: a trace is kept when
    /// any one keeps it. Both probabilistic policies hash the trace id with
    /// the same (default) salt, so the traces the lower rate keeps are a
    /// subset of the higher rate's: a critical trace is kept at exactly the
    /// critical rate, not at the union of the two.
    pub fn processor(&self) -> TailSampling {
        TailSampling {
            decision_wait: self.decision_wait.into(),
            num_traces: self.num_traces,
            expected_new_traces_per_sec: self.expected_new_traces_per_sec,
            policies: vec![
                Policy::new(
                    "errors",
                    Rule::StatusCode {
                        status_code: StatusCode {
                            status_codes: vec!["ERROR".into()],
                        },
                    },
                ),
                Policy::new(
                    "slow",
                    Rule::Latency {
                        latency: Latency {
                            threshold_ms: self.slow_threshold_ms,
                        },
                    },
                ),
                Policy::new(
                    "critical-services",
                    Rule::And {
                        and: And {
                            and_sub_policy: vec![
                                Policy::new(
                                    "critical-service",
                                    Rule::StringAttribute {
                                        string_attribute: StringAttribute {
                                            key: "service.name".into(),
                                            values: self.critical_services.clone(),
                                        },
                                    },
                                ),
                                Policy::probabilistic("critical-rate", self.critical_rate_percent),
                            ],
                        },
                    },
                ),
                Policy::probabilistic("environment-rate", self.rate_percent),
            ],
        }
    }
}

/// The `tail_sampling` processor's settings we use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TailSampling {
    pub decision_wait: String,
    pub num_traces: u64,
    pub expected_new_traces_per_sec: u64,
    pub policies: Vec<Policy>,
}

/// One named policy; its `type` and settings come from [`Rule`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    #[serde(flatten)]
    pub rule: Rule,
}

impl Policy {
    fn new(name: &str, rule: Rule) -> Policy {
        Policy {
            name: name.into(),
            rule,
        }
    }

    fn probabilistic(name: &str, sampling_percentage: f64) -> Policy {
        Policy::new(
            name,
            Rule::Probabilistic {
                probabilistic: Probabilistic {
                    sampling_percentage,
                },
            },
        )
    }
}

/// The policy types our profiles use, written as the collector reads them:
/// `type: status_code` next to a `status_code:` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Rule {
    StatusCode { status_code: StatusCode },
    Latency { latency: Latency },
    StringAttribute { string_attribute: StringAttribute },
    Probabilistic { probabilistic: Probabilistic },
    And { and: And },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusCode {
    pub status_codes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub threshold_ms: u64,
}

/// Matches resource attributes as well as span attributes, so
/// `service.name` selects every trace with a span from that service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StringAttribute {
    pub key: String,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probabilistic {
    pub sampling_percentage: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct And {
    pub and_sub_policy: Vec<Policy>,
}
