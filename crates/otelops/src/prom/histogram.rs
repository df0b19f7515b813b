//! Cumulative histograms (`_bucket{le=…}`, `_sum`, `_count`) and quantiles.

use super::{Family, Labels};

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Histogram {
    /// (upper bound, cumulative count), sorted by bound; the last is `+Inf`.
    pub buckets: Vec<(f64, f64)>,
    pub sum: f64,
    pub count: f64,
}

impl Histogram {
    /// Every series of a histogram family whose labels pass `keep`, merged
    /// into one (bucket counts with the same bound are added).
    pub fn from_family(family: &Family, keep: impl Fn(&Labels) -> bool) -> Option<Histogram> {
        let mut h = Histogram::default();
        let mut seen = false;
        for s in &family.samples {
            if !keep(&s.labels) || !s.value.is_finite() {
                continue;
            }
            if s.name.ends_with("_bucket") {
                let Some(le) = s.labels.get("le").and_then(parse_le) else {
                    continue;
                };
                seen = true;
                match h.buckets.iter_mut().find(|(b, _)| *b == le) {
                    Some(slot) => slot.1 += s.value,
                    None => h.buckets.push((le, s.value)),
                }
            } else if s.name.ends_with("_sum") {
                h.sum += s.value;
            } else if s.name.ends_with("_count") {
                h.count += s.value;
                seen = true;
            }
        }
        h.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        seen.then_some(h)
    }

    /// `self - earlier`: what was observed between two scrapes. A counter reset
    /// (any count going down) returns `self` unchanged, as Prometheus does.
    pub fn delta(&self, earlier: &Histogram) -> Histogram {
        if self.count < earlier.count {
            return self.clone();
        }
        let buckets = self
            .buckets
            .iter()
            .map(|&(le, c)| {
                let before = earlier
                    .buckets
                    .iter()
                    .find(|(b, _)| *b == le)
                    .map_or(0.0, |x| x.1);
                (le, (c - before).max(0.0))
            })
            .collect();
        Histogram {
            buckets,
            sum: self.sum - earlier.sum,
            count: self.count - earlier.count,
        }
    }

    /// The q-quantile (0..=1) by linear interpolation inside the bucket, the
    /// way PromQL's `histogram_quantile` does. None when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self
            .buckets
            .last()
            .map_or(self.count, |b| b.1.max(self.count));
        if total <= 0.0 || self.buckets.is_empty() {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total;
        let mut prev_bound = 0.0_f64;
        let mut prev_count = 0.0_f64;
        for &(bound, count) in &self.buckets {
            if count >= rank {
                if bound.is_infinite() {
                    // Above the highest finite bound: report that bound.
                    return Some(prev_bound);
                }
                let in_bucket = count - prev_count;
                if in_bucket <= 0.0 {
                    return Some(bound);
                }
                return Some(prev_bound + (bound - prev_bound) * ((rank - prev_count) / in_bucket));
            }
            prev_bound = bound;
            prev_count = count;
        }
        Some(prev_bound)
    }

    pub fn mean(&self) -> Option<f64> {
        (self.count > 0.0).then(|| self.sum / self.count)
    }
}

fn parse_le(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        _ => s.parse().ok(),
    }
}
