//! Every OTEL_* variable parsed from a key/value source, and the error
//! message of each malformed value.

mod common;

use common::{config, config_error};
use parker_telemetry::config::{Compression, ExporterKind, Propagator, Protocol, SamplerConfig};
use std::time::Duration;

#[test]
fn defaults_follow_the_spec() {
    let c = config(&[]);
    assert!(!c.sdk_disabled);
    assert_eq!(c.service_name, None);
    assert!(c.resource_attributes.is_empty());
    assert_eq!(c.traces.exporter, ExporterKind::Otlp);
    assert_eq!(c.traces.otlp.protocol, Protocol::HttpProtobuf);
    assert_eq!(c.traces.otlp.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(c.metrics.otlp.endpoint, "http://localhost:4318/v1/metrics");
    assert_eq!(c.logs.otlp.endpoint, "http://localhost:4318/v1/logs");
    assert_eq!(c.traces.otlp.timeout, Duration::from_secs(10));
    assert_eq!(c.traces.otlp.compression, Compression::None);
    assert!(c.traces.otlp.headers.is_empty());
    assert_eq!(c.sampler, SamplerConfig::ParentBasedAlwaysOn);
    assert_eq!(c.span_batch.schedule_delay, Duration::from_millis(5000));
    assert_eq!(c.span_batch.export_timeout, Duration::from_millis(30000));
    assert_eq!(c.span_batch.max_queue_size, 2048);
    assert_eq!(c.span_batch.max_export_batch_size, 512);
    assert_eq!(c.log_batch.schedule_delay, Duration::from_millis(1000));
    assert_eq!(c.metric_export_interval, Duration::from_millis(60000));
    assert_eq!(c.metric_export_timeout, Duration::from_millis(30000));
    assert_eq!(
        c.propagators,
        vec![Propagator::TraceContext, Propagator::Baggage]
    );
    assert_eq!(c.log_filter, "info");
}

#[test]
fn sdk_disabled_accepts_true_and_false_case_insensitively() {
    assert!(config(&[("OTEL_SDK_DISABLED", "TRUE")]).sdk_disabled);
    assert!(!config(&[("OTEL_SDK_DISABLED", "false")]).sdk_disabled);
}

#[test]
fn sdk_disabled_rejects_other_values() {
    assert_eq!(
        config_error(&[("OTEL_SDK_DISABLED", "yes")]),
        r#"OTEL_SDK_DISABLED="yes": expected true or false"#
    );
}

#[test]
fn empty_values_count_as_unset() {
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", ""),
        ("OTEL_SDK_DISABLED", " "),
    ]);
    assert_eq!(c.traces.otlp.protocol, Protocol::HttpProtobuf);
    assert!(!c.sdk_disabled);
}

#[test]
fn service_name_is_read() {
    assert_eq!(
        config(&[("OTEL_SERVICE_NAME", "booking")])
            .service_name
            .as_deref(),
        Some("booking")
    );
}

#[test]
fn resource_attributes_are_percent_decoded_in_order() {
    let c = config(&[(
        "OTEL_RESOURCE_ATTRIBUTES",
        "team=fares%20team, deployment.environment.name=prod",
    )]);
    assert_eq!(
        c.resource_attributes,
        vec![
            ("team".to_owned(), "fares team".to_owned()),
            ("deployment.environment.name".to_owned(), "prod".to_owned())
        ]
    );
}

#[test]
fn resource_attributes_pair_without_equals_is_an_error() {
    assert_eq!(
        config_error(&[("OTEL_RESOURCE_ATTRIBUTES", "a=1,broken")]),
        r#"OTEL_RESOURCE_ATTRIBUTES="a=1,broken": expected key=value pairs separated by commas, values percent-encoded (entry 2 has no '=')"#
    );
}

#[test]
fn resource_attributes_bad_percent_encoding_is_an_error() {
    let e = config_error(&[("OTEL_RESOURCE_ATTRIBUTES", "a=100%")]);
    assert!(
        e.starts_with(r#"OTEL_RESOURCE_ATTRIBUTES="a=100%": expected key=value pairs"#),
        "{e}"
    );
    assert!(e.contains("not valid percent-encoded UTF-8"), "{e}");
}

#[test]
fn protocol_values() {
    assert_eq!(
        config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])
            .traces
            .otlp
            .protocol,
        Protocol::Grpc
    );
    assert_eq!(
        config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")])
            .logs
            .otlp
            .protocol,
        Protocol::HttpJson
    );
}

#[test]
fn unknown_protocol_names_the_choices() {
    assert_eq!(
        config_error(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpcc")]),
        r#"OTEL_EXPORTER_OTLP_PROTOCOL="grpcc": expected grpc, http/protobuf or http/json"#
    );
}

#[test]
fn per_signal_protocol_wins_and_is_named_in_errors() {
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/protobuf"),
    ]);
    assert_eq!(c.traces.otlp.protocol, Protocol::Grpc);
    assert_eq!(c.metrics.otlp.protocol, Protocol::HttpProtobuf);
    assert_eq!(
        config_error(&[("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "udp")]),
        r#"OTEL_EXPORTER_OTLP_LOGS_PROTOCOL="udp": expected grpc, http/protobuf or http/json"#
    );
}

#[test]
fn generic_http_endpoint_gets_the_signal_path() {
    let c = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://otel.example:4318/")]);
    assert_eq!(
        c.traces.otlp.endpoint,
        "https://otel.example:4318/v1/traces"
    );
    assert_eq!(
        c.metrics.otlp.endpoint,
        "https://otel.example:4318/v1/metrics"
    );
}

#[test]
fn per_signal_http_endpoint_is_used_as_is() {
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://traces:9999/custom",
        ),
    ]);
    assert_eq!(c.traces.otlp.endpoint, "http://traces:9999/custom");
    assert_eq!(c.logs.otlp.endpoint, "http://base:4318/v1/logs");
}

#[test]
fn grpc_endpoint_has_no_path_appended_and_defaults_to_4317() {
    let c = config(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]);
    assert_eq!(c.traces.otlp.endpoint, "http://localhost:4317");
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
    ]);
    assert_eq!(c.traces.otlp.endpoint, "http://c:4317");
}

#[test]
fn insecure_picks_the_scheme_of_a_grpc_endpoint_without_one() {
    let base = [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
    ];
    assert_eq!(config(&base).traces.otlp.endpoint, "https://collector:4317");
    let mut insecure = base.to_vec();
    insecure.push(("OTEL_EXPORTER_OTLP_INSECURE", "true"));
    assert_eq!(
        config(&insecure).traces.otlp.endpoint,
        "http://collector:4317"
    );
    let mut bad = base.to_vec();
    bad.push(("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "maybe"));
    assert_eq!(
        config_error(&bad),
        r#"OTEL_EXPORTER_OTLP_TRACES_INSECURE="maybe": expected true or false"#
    );
}

#[test]
fn malformed_endpoint_is_an_error() {
    assert_eq!(
        config_error(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")]),
        r#"OTEL_EXPORTER_OTLP_ENDPOINT="not a url": expected an http:// or https:// URL"#
    );
    assert_eq!(
        config_error(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://x/v1/traces")]),
        r#"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="ftp://x/v1/traces": expected an http:// or https:// URL"#
    );
}

#[test]
fn headers_are_percent_decoded_and_per_signal_wins() {
    let c = config(&[
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer%20s3cret,x-tenant=parker",
        ),
        ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "x-logs=1"),
    ]);
    assert_eq!(
        c.traces.otlp.headers.get("authorization"),
        Some("Bearer s3cret")
    );
    assert_eq!(c.traces.otlp.headers.get("x-tenant"), Some("parker"));
    assert_eq!(c.logs.otlp.headers.get("x-logs"), Some("1"));
    assert_eq!(c.logs.otlp.headers.get("authorization"), None);
}

#[test]
fn header_values_are_redacted_in_debug_and_display() {
    let c = config(&[(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "authorization=Bearer%20s3cret",
    )]);
    let debug = format!("{c:?}");
    assert!(!debug.contains("s3cret"), "{debug}");
    assert!(debug.contains("authorization=<redacted>"), "{debug}");
    assert_eq!(
        c.traces.otlp.headers.to_string(),
        "[authorization=<redacted>]"
    );
}

#[test]
fn malformed_headers_name_the_variable_but_never_the_value() {
    let e = config_error(&[(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "authorization=Bearer s3cret,oops",
    )]);
    assert_eq!(
        e,
        "OTEL_EXPORTER_OTLP_HEADERS: entry 2 has no '='; expected key=value pairs separated by commas, values percent-encoded (value not shown: it may hold a secret)"
    );
    let e = config_error(&[("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "bad key=s3cret")]);
    assert!(
        e.starts_with(
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS: entry 1: \"bad key\" is not a valid header name"
        ),
        "{e}"
    );
    assert!(!e.contains("s3cret"), "{e}");
    let e = config_error(&[("OTEL_EXPORTER_OTLP_HEADERS", "k=%ZZs3cret")]);
    assert!(!e.contains("s3cret"), "{e}");
    assert!(e.contains("not valid percent-encoded UTF-8"), "{e}");
}

#[test]
fn timeout_is_milliseconds() {
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "100"),
    ]);
    assert_eq!(c.traces.otlp.timeout, Duration::from_millis(2500));
    assert_eq!(c.metrics.otlp.timeout, Duration::from_millis(100));
    assert_eq!(
        config_error(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")]),
        r#"OTEL_EXPORTER_OTLP_TIMEOUT="10s": expected a whole number of milliseconds"#
    );
}

#[test]
fn compression_gzip_or_none() {
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "none"),
    ]);
    assert_eq!(c.traces.otlp.compression, Compression::Gzip);
    assert_eq!(c.logs.otlp.compression, Compression::None);
    assert_eq!(
        config_error(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli")]),
        r#"OTEL_EXPORTER_OTLP_COMPRESSION="brotli": expected gzip or none"#
    );
}

#[test]
fn certificate_paths_are_kept_with_their_variable() {
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ca.pem"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
            "/etc/client.pem",
        ),
        ("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/etc/client.key"),
    ]);
    let ca = c.traces.otlp.certificate.as_ref().expect("CA");
    assert_eq!(
        (ca.var.as_str(), ca.path.to_str()),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", Some("/etc/ca.pem"))
    );
    let cert = c
        .traces
        .otlp
        .client_certificate
        .as_ref()
        .expect("client cert");
    assert_eq!(cert.var, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE");
    assert!(c.metrics.otlp.client_certificate.is_none());
}

#[test]
fn client_certificate_without_key_is_an_error() {
    assert_eq!(
        config_error(&[("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/etc/client.pem")]),
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=/etc/client.pem: a client certificate needs a key: set OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY or OTEL_EXPORTER_OTLP_CLIENT_KEY"
    );
}

#[test]
fn exporters_otlp_console_none() {
    let c = config(&[
        ("OTEL_TRACES_EXPORTER", "console"),
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_LOGS_EXPORTER", "otlp"),
    ]);
    assert_eq!(
        (c.traces.exporter, c.metrics.exporter, c.logs.exporter),
        (
            ExporterKind::Console,
            ExporterKind::None,
            ExporterKind::Otlp
        )
    );
    assert_eq!(
        config_error(&[("OTEL_METRICS_EXPORTER", "prometheus")]),
        r#"OTEL_METRICS_EXPORTER="prometheus": expected otlp, console or none"#
    );
}

#[test]
fn samplers_and_their_ratio() {
    let s = |name: &str, arg: &str| {
        config(&[
            ("OTEL_TRACES_SAMPLER", name),
            ("OTEL_TRACES_SAMPLER_ARG", arg),
        ])
        .sampler
    };
    assert_eq!(s("always_on", ""), SamplerConfig::AlwaysOn);
    assert_eq!(s("always_off", ""), SamplerConfig::AlwaysOff);
    assert_eq!(s("traceidratio", "0.25"), SamplerConfig::TraceIdRatio(0.25));
    assert_eq!(s("traceidratio", ""), SamplerConfig::TraceIdRatio(1.0));
    assert_eq!(
        s("parentbased_always_on", ""),
        SamplerConfig::ParentBasedAlwaysOn
    );
    assert_eq!(
        s("parentbased_always_off", ""),
        SamplerConfig::ParentBasedAlwaysOff
    );
    assert_eq!(
        s("parentbased_traceidratio", "0"),
        SamplerConfig::ParentBasedTraceIdRatio(0.0)
    );
}

#[test]
fn sampler_errors() {
    assert_eq!(
        config_error(&[("OTEL_TRACES_SAMPLER", "jaeger_remote")]),
        r#"OTEL_TRACES_SAMPLER="jaeger_remote": expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio"#
    );
    assert_eq!(
        config_error(&[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "1.5")
        ]),
        r#"OTEL_TRACES_SAMPLER_ARG="1.5": expected a number between 0 and 1 inclusive"#
    );
    assert_eq!(
        config_error(&[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "half")
        ]),
        r#"OTEL_TRACES_SAMPLER_ARG="half": expected a number between 0 and 1 inclusive"#
    );
}

#[test]
fn span_batch_variables() {
    let c = config(&[
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "2000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "16"),
    ]);
    assert_eq!(c.span_batch.schedule_delay, Duration::from_millis(100));
    assert_eq!(c.span_batch.export_timeout, Duration::from_millis(2000));
    assert_eq!(
        (
            c.span_batch.max_queue_size,
            c.span_batch.max_export_batch_size
        ),
        (64, 16)
    );
}

#[test]
fn batch_bigger_than_queue_is_an_error() {
    assert_eq!(
        config_error(&[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "10"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "20")
        ]),
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=20: must not exceed OTEL_BSP_MAX_QUEUE_SIZE (10)"
    );
    assert_eq!(
        config_error(&[("OTEL_BLRP_MAX_QUEUE_SIZE", "10")]),
        "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE=512: must not exceed OTEL_BLRP_MAX_QUEUE_SIZE (10)"
    );
}

#[test]
fn batch_counts_must_be_positive_whole_numbers() {
    assert_eq!(
        config_error(&[("OTEL_BSP_MAX_QUEUE_SIZE", "0")]),
        r#"OTEL_BSP_MAX_QUEUE_SIZE="0": expected a whole number greater than 0"#
    );
    assert_eq!(
        config_error(&[("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "-1")]),
        r#"OTEL_BLRP_MAX_EXPORT_BATCH_SIZE="-1": expected a whole number greater than 0"#
    );
    assert_eq!(
        config_error(&[("OTEL_BLRP_SCHEDULE_DELAY", "1.5")]),
        r#"OTEL_BLRP_SCHEDULE_DELAY="1.5": expected a whole number of milliseconds"#
    );
}

#[test]
fn log_batch_variables() {
    let c = config(&[
        ("OTEL_BLRP_SCHEDULE_DELAY", "20"),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "300"),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "8"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "4"),
    ]);
    assert_eq!(c.log_batch.schedule_delay, Duration::from_millis(20));
    assert_eq!(c.log_batch.export_timeout, Duration::from_millis(300));
    assert_eq!(
        (
            c.log_batch.max_queue_size,
            c.log_batch.max_export_batch_size
        ),
        (8, 4)
    );
}

#[test]
fn metric_interval_and_timeout() {
    let c = config(&[
        ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "500"),
    ]);
    assert_eq!(c.metric_export_interval, Duration::from_millis(1000));
    assert_eq!(c.metric_export_timeout, Duration::from_millis(500));
    assert_eq!(
        config_error(&[("OTEL_METRIC_EXPORT_INTERVAL", "0")]),
        r#"OTEL_METRIC_EXPORT_INTERVAL="0": expected a whole number of milliseconds greater than 0"#
    );
    assert_eq!(
        config_error(&[("OTEL_METRIC_EXPORT_TIMEOUT", "soon")]),
        r#"OTEL_METRIC_EXPORT_TIMEOUT="soon": expected a whole number of milliseconds"#
    );
}

#[test]
fn propagators_list_and_none() {
    assert_eq!(
        config(&[("OTEL_PROPAGATORS", "baggage")]).propagators,
        vec![Propagator::Baggage]
    );
    assert_eq!(
        config(&[("OTEL_PROPAGATORS", "tracecontext, baggage, tracecontext")]).propagators,
        vec![Propagator::TraceContext, Propagator::Baggage]
    );
    assert!(
        config(&[("OTEL_PROPAGATORS", "none")])
            .propagators
            .is_empty()
    );
    assert_eq!(
        config_error(&[("OTEL_PROPAGATORS", "tracecontext,b3")]),
        r#"OTEL_PROPAGATORS="tracecontext,b3": expected a comma-separated list of tracecontext, baggage or none ("b3" is not supported)"#
    );
}

#[test]
fn rust_log_is_validated() {
    assert_eq!(
        config(&[("RUST_LOG", "warn,booking=debug")]).log_filter,
        "warn,booking=debug"
    );
    let e = config_error(&[("RUST_LOG", "booking=loud")]);
    assert!(
        e.starts_with(r#"RUST_LOG="booking=loud": expected tracing filter directives"#),
        "{e}"
    );
}

#[test]
fn error_reports_its_variable() {
    let e = parker_telemetry::TelemetryConfig::from_source(&common::vars(&[(
        "OTEL_BSP_SCHEDULE_DELAY",
        "x",
    )]))
    .expect_err("malformed");
    assert_eq!(e.variable(), Some("OTEL_BSP_SCHEDULE_DELAY"));
}
