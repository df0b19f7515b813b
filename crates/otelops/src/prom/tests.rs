use super::*;

#[test]
fn help_and_type_group_samples_into_a_family() {
    let page = parse(
        "# HELP otelcol_exporter_queue_size Current size of the retry queue (in batches)\n\
         # TYPE otelcol_exporter_queue_size gauge\n\
         otelcol_exporter_queue_size{exporter=\"otlp\",data_type=\"traces\"} 7\n",
    )
    .unwrap();
    let f = page.family("otelcol_exporter_queue_size").unwrap();
    assert_eq!(f.kind, MetricType::Gauge);
    assert_eq!(
        f.help.as_deref(),
        Some("Current size of the retry queue (in batches)")
    );
    assert_eq!(f.samples[0].labels.get("data_type"), Some("traces"));
    assert_eq!(f.samples[0].value, 7.0);
}

#[test]
fn label_values_unescape_quotes_backslashes_newlines_and_keep_commas() {
    let page = parse(r#"m{a="x\"y",b="c\\d",c="e\nf",d="1,2=3",} 1"#).unwrap();
    let l = &page.family("m").unwrap().samples[0].labels;
    assert_eq!(l.get("a"), Some("x\"y"));
    assert_eq!(l.get("b"), Some("c\\d"));
    assert_eq!(l.get("c"), Some("e\nf"));
    assert_eq!(l.get("d"), Some("1,2=3"));
}

#[test]
fn help_text_unescapes_backslash_n() {
    let page = parse("# HELP m first\\nsecond \\\\ end\nm 1\n").unwrap();
    assert_eq!(
        page.family("m").unwrap().help.as_deref(),
        Some("first\nsecond \\ end")
    );
}

#[test]
fn total_suffix_and_unit_suffix_reach_the_current_name() {
    let page = parse(
        "# TYPE otelcol_receiver_accepted_spans_total counter\n\
         otelcol_receiver_accepted_spans_total{receiver=\"otlp\"} 5\n\
         # TYPE otelcol_process_memory_rss_bytes gauge\n\
         otelcol_process_memory_rss_bytes 1024\n\
         # TYPE otelcol_process_cpu_seconds counter\n\
         otelcol_process_cpu_seconds_total 2.5\n",
    )
    .unwrap();
    assert_eq!(
        page.family("otelcol_receiver_accepted_spans")
            .unwrap()
            .samples[0]
            .value,
        5.0
    );
    assert_eq!(
        page.family("otelcol_process_memory_rss").unwrap().samples[0].value,
        1024.0
    );
    assert_eq!(
        page.family("otelcol_process_cpu_seconds").unwrap().samples[0].value,
        2.5
    );
}

#[test]
fn quoted_utf8_metric_names_with_dots_are_found_by_underscored_name() {
    let page = parse(
        "# TYPE \"http.client.request.duration\" histogram\n\
         {\"http.client.request.duration_bucket\",le=\"0.5\"} 3\n\
         {\"http.client.request.duration_bucket\",le=\"+Inf\"} 4\n\
         {\"http.client.request.duration_count\"} 4\n",
    )
    .unwrap();
    let f = page.family("http_client_request_duration").unwrap();
    assert_eq!(f.kind, MetricType::Histogram);
    assert_eq!(f.samples.len(), 3);
}

#[test]
fn histogram_buckets_sum_count_and_quantiles() {
    let page = parse(
        "# TYPE b histogram\n\
         b_bucket{le=\"10\"} 10\n\
         b_bucket{le=\"100\"} 90\n\
         b_bucket{le=\"1000\"} 100\n\
         b_bucket{le=\"+Inf\"} 100\n\
         b_sum 9000\n\
         b_count 100\n",
    )
    .unwrap();
    let h = Histogram::from_family(page.family("b").unwrap(), |_| true).unwrap();
    assert_eq!(h.count, 100.0);
    assert_eq!(h.sum, 9000.0);
    // p50: rank 50 falls in (10,100] holding 80 → 10 + 90 * 40/80 = 55.
    assert_eq!(h.quantile(0.5), Some(55.0));
    // p99: rank 99 in (100,1000] holding 10 → 100 + 900 * 9/10 = 910.
    assert_eq!(h.quantile(0.99), Some(910.0));
}

#[test]
fn histogram_delta_subtracts_earlier_scrape() {
    let a = Histogram {
        buckets: vec![(1.0, 2.0), (f64::INFINITY, 4.0)],
        sum: 4.0,
        count: 4.0,
    };
    let b = Histogram {
        buckets: vec![(1.0, 5.0), (f64::INFINITY, 10.0)],
        sum: 12.0,
        count: 10.0,
    };
    let d = b.delta(&a);
    assert_eq!(d.buckets, vec![(1.0, 3.0), (f64::INFINITY, 6.0)]);
    assert_eq!(d.count, 6.0);
}

#[test]
fn special_values_and_timestamps_parse() {
    let page = parse("a +Inf\nb -Inf 1700000000000\nc NaN\nd 1.5e+07\n").unwrap();
    assert!(page.family("a").unwrap().samples[0].value.is_infinite());
    assert_eq!(
        page.family("b").unwrap().samples[0].timestamp_ms,
        Some(1_700_000_000_000)
    );
    assert!(page.family("c").unwrap().samples[0].value.is_nan());
    assert_eq!(page.family("d").unwrap().samples[0].value, 1.5e7);
}

#[test]
fn garbage_value_reports_line_and_column() {
    let err = parse("ok 1\nbad{a=\"b\"} twelve\n").unwrap_err();
    assert_eq!((err.line, err.column), (2, 12));
    assert!(err.message.contains("twelve"), "{err}");
}

#[test]
fn unterminated_label_set_is_an_error() {
    let err = parse("m{a=\"b\" 1\n").unwrap_err();
    assert_eq!(err.line, 1);
    assert!(err.message.contains("expected `,` or `}`"), "{err}");
}

#[test]
fn unknown_escape_is_an_error_at_the_backslash() {
    let err = parse(r#"m{a="x\qy"} 1"#).unwrap_err();
    assert_eq!(err.column, 7);
}

#[test]
fn html_page_is_rejected_not_skipped() {
    let err = parse("<html><body>502 Bad Gateway</body></html>\n").unwrap_err();
    assert_eq!((err.line, err.column), (1, 1));
}

#[test]
fn unknown_type_is_an_error() {
    let err = parse("# TYPE m countr\nm 1\n").unwrap_err();
    assert!(err.message.contains("countr"));
}

#[test]
fn comments_blank_lines_and_eof_are_ignored() {
    let page = parse("# just a comment\n\n  \nm 1\n# EOF\nthis is not read\n").unwrap();
    assert_eq!(page.series_count(), 1);
}

#[test]
fn recorded_v090_page_parses_every_series() {
    let text = include_str!("../../tests/fixtures/otelcol-v0.90-service-labels.prom");
    let page = parse(text).unwrap();
    assert_eq!(page.series_count(), 9);
    let q = page.family("otelcol_exporter_queue_capacity").unwrap();
    assert_eq!(q.samples[0].labels.get("exporter"), Some("otlp"));
    assert_eq!(q.samples[0].value, 1000.0);
}

#[test]
fn recorded_v090_opencensus_page_parses_every_series() {
    let text = include_str!("../../tests/fixtures/otelcol-v0.90-opencensus.prom");
    let page = parse(text).unwrap();
    let lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .count();
    assert_eq!(page.series_count(), lines);
    let rss = page.family("otelcol_process_memory_rss").unwrap();
    assert_eq!(rss.kind, MetricType::Gauge);
    assert_eq!(
        rss.samples[0].labels.get("service_name"),
        Some("otelcorecol")
    );
}
