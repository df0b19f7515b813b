//! The weekly trend the guide asks for: per metric in the history, min / avg /
//! max over the period and whether it is rising, falling or flat.

use std::collections::BTreeMap;

use serde::Serialize;

use super::evaluate::Status;
use super::history::Record;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Rising,
    Falling,
    Flat,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricTrend {
    pub metric: String,
    pub samples: usize,
    pub min: f64,
    pub avg: f64,
    pub max: f64,
    pub first: f64,
    pub last: f64,
    pub direction: Direction,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trends {
    pub records: usize,
    pub from_ms: Option<u64>,
    pub to_ms: Option<u64>,
    pub status_counts: BTreeMap<String, usize>,
    pub metrics: Vec<MetricTrend>,
}

/// Direction compares the mean of the later half with the earlier half: a
/// change of more than 10 % of the value range (and at least 1 % of the mean)
/// counts; smaller moves are flat. Halves, not first/last points, so
/// one spike does not decide the trend.
pub fn trends(records: &[Record]) -> Trends {
    let mut series: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut status_counts = BTreeMap::new();
    for r in records {
        *status_counts.entry(r.status.to_string()).or_insert(0) += 1;
        for (k, v) in &r.values {
            series.entry(k.as_str()).or_default().push(*v);
        }
    }
    for s in [Status::Ok, Status::Warn, Status::Crit] {
        status_counts.entry(s.to_string()).or_insert(0);
    }
    let metrics = series
        .into_iter()
        .map(|(metric, v)| {
            let min = v.iter().copied().fold(f64::INFINITY, f64::min);
            let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let avg = v.iter().sum::<f64>() / v.len() as f64;
            MetricTrend {
                metric: metric.to_string(),
                samples: v.len(),
                min,
                avg,
                max,
                first: v[0],
                last: v[v.len() - 1],
                direction: direction(&v, min, max),
            }
        })
        .collect();
    Trends {
        records: records.len(),
        from_ms: records.first().map(|r| r.ts_ms),
        to_ms: records.last().map(|r| r.ts_ms),
        status_counts,
        metrics,
    }
}

fn direction(v: &[f64], min: f64, max: f64) -> Direction {
    if v.len() < 2 {
        return Direction::Flat;
    }
    let mid = v.len() / 2;
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let (early, late) = (mean(&v[..mid]), mean(&v[v.len() - mid..]));
    // The range, but never less than a tenth of the mean: noise of 0.01 MiB
    // on 38 MiB of RSS is not a trend.
    let avg = mean(v);
    let scale = (max - min).max(avg.abs() * 0.1).max(f64::EPSILON);
    let change = (late - early) / scale;
    if change > 0.1 {
        Direction::Rising
    } else if change < -0.1 {
        Direction::Falling
    } else {
        Direction::Flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ts: u64, status: Status, q: f64) -> Record {
        Record {
            ts_ms: ts,
            status,
            values: BTreeMap::from([("q".to_string(), q)]),
        }
    }

    #[test]
    fn rising_series_reports_min_avg_max_and_rising() {
        let t = trends(&[
            rec(1, Status::Ok, 10.0),
            rec(2, Status::Ok, 20.0),
            rec(3, Status::Warn, 90.0),
        ]);
        let m = &t.metrics[0];
        assert_eq!((m.min, m.max, m.avg), (10.0, 90.0, 40.0));
        assert_eq!(m.direction, Direction::Rising);
        assert_eq!(t.status_counts["WARN"], 1);
        assert_eq!(t.status_counts["CRIT"], 0);
    }

    #[test]
    fn falling_and_flat_series() {
        let f = trends(&[rec(1, Status::Ok, 90.0), rec(2, Status::Ok, 10.0)]);
        assert_eq!(f.metrics[0].direction, Direction::Falling);
        let flat = trends(&[
            rec(1, Status::Ok, 50.0),
            rec(2, Status::Ok, 50.0),
            rec(3, Status::Ok, 50.0),
        ]);
        assert_eq!(flat.metrics[0].direction, Direction::Flat);
    }

    #[test]
    fn tiny_noise_on_a_large_value_is_flat() {
        let t = trends(&[rec(1, Status::Ok, 38.38), rec(2, Status::Ok, 38.39)]);
        assert_eq!(t.metrics[0].direction, Direction::Flat);
        let t = trends(&[rec(1, Status::Ok, 38.0), rec(2, Status::Ok, 40.0)]);
        assert_eq!(t.metrics[0].direction, Direction::Rising);
    }

    #[test]
    fn a_single_spike_in_the_middle_is_flat() {
        let v = [10.0, 10.0, 95.0, 10.0, 10.0];
        let recs: Vec<_> = v
            .iter()
            .enumerate()
            .map(|(i, q)| rec(i as u64, Status::Ok, *q))
            .collect();
        assert_eq!(trends(&recs).metrics[0].direction, Direction::Flat);
    }
}
