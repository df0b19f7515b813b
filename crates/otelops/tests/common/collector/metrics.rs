//! A deliberately small reader of the Prometheus text page, independent of
//! otelops' own parser so the scenarios check otelops against something it
//! did not compute. Sums the series of one metric whose labels match.

#[derive(Debug, Clone)]
pub struct Page {
    pub text: String,
}

impl Page {
    /// Sum of `name{…}` samples whose labels include every `(key, value)`
    /// in `labels`; a missing series counts as 0 (the collector creates
    /// series lazily).
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (series, value) = l.rsplit_once(' ')?;
                let (n, lbls) = match series.split_once('{') {
                    Some((n, rest)) => (n, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                if n != name {
                    return None;
                }
                let ok = labels
                    .iter()
                    .all(|(k, v)| lbls.split(',').any(|p| p == format!("{k}=\"{v}\"")));
                ok.then(|| value.parse::<f64>().ok()).flatten()
            })
            // + 0.0: an empty f64 sum is -0.0, which prints as "-0".
            .sum::<f64>()
            + 0.0
    }

    pub fn has(&self, name: &str) -> bool {
        self.text.lines().any(|l| {
            !l.starts_with('#')
                && (l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        })
    }
}
