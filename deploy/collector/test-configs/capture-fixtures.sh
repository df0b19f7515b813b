#!/usr/bin/env bash
# Record real otelcol-parker responses as test fixtures for otelops:
# runs valid-minimal.yaml (+ downstream-sink.yaml as its downstream) on
# loopback, sends OTLP/JSON over HTTP with curl, and saves
#   otelcol-vX.Y-health.json                   health_check v1 body (200)
#   otelcol-vX.Y-metrics.prom                  :8888/metrics after 15 spans, 1 point, 2 logs all sent
#   otelcol-vX.Y-metrics-downstream-down.prom  downstream stopped, 30 more spans queued/retrying
#   otelcol-vX.Y-metrics-send-failed.prom      after retry_on_failure gave up (max_elapsed_time 60s)
#   otelcol-vX.Y-metrics-detailed.prom         same flow as the first, telemetry level "detailed"
#   otelcol-vX.Y-metrics-memory-limited.prom   memory-limited.yaml after 5 refused traces (15 spans)
#   otelcol-vX.Y-otlp-http-refused.txt         the receiver's HTTP answer to a refused export
# into OUT_DIR (default crates/otelops/tests/fixtures), X.Y being the binary's
# release (0.161 for otelcol-parker 0.161.0-parker). The v0.165 recordings
# (with healthcheckv2's otelcol-v0.165-healthv2-status.json) were made by this
# script's previous version, before the distribution moved to v0.161.0.
#
# Usage: OTELCOL_PARKER=target/otelcol-parker deploy/collector/test-configs/capture-fixtures.sh [OUT_DIR]
# Takes ~90 s (it waits for the exporter's retries to run out). Uses the fixed
# loopback ports of valid-minimal.yaml; they must be free.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
out="${1:-$repo/crates/otelops/tests/fixtures}"
bin="${OTELCOL_PARKER:-$repo/target/otelcol-parker}"
[[ -x "$bin" ]] || { echo "capture-fixtures: $bin missing; run scripts/build-collector" >&2; exit 1; }
mkdir -p "$out"
work="$(mktemp -d "${TMPDIR:-/tmp}/otelcol-fixtures.XXXXXX")"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

release="$("$bin" --version | awk '{print $3}' | cut -d. -f1,2)"
[[ "$release" =~ ^[0-9]+\.[0-9]+$ ]] || { echo "capture-fixtures: cannot read the release from $bin --version" >&2; exit 1; }
prefix="otelcol-v$release"

for port in 4317 4318 4319 4320 8888 8889 13133 55679 1777; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "capture-fixtures: 127.0.0.1:$port is in use; stop whatever listens there" >&2
    exit 1
  fi
done

start() { # start NAME CONFIG -> pid in $started
  PARKER_FILE_STORAGE_DIR="$work/file_storage" "$bin" --config "$2" >"$work/$1.log" 2>&1 &
  started=$!
  pids+=("$started")
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

wait_for() { # wait_for WHAT CMD... : poll up to 15 s
  local what="$1" i
  shift
  for i in $(seq 1 150); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "capture-fixtures: timed out waiting for $what" >&2
  tail -n 20 "$work"/*.log >&2
  exit 1
}
metric_value() { # metric_value 'series-prefix' -> value of first match
  curl -sf --max-time 2 http://127.0.0.1:8888/metrics | grep -F "$1" | head -n1 | awk '{print $NF}'
}
metric_is() { [[ "$(metric_value "$1")" == "$2" ]]; }
metric_present() { curl -sf --max-time 2 http://127.0.0.1:8888/metrics | grep -qF "$1"; }

# OTLP/JSON payloads. Trace ids are fixed so fixtures are reproducible in shape.
send_trace() { # send_trace N -> one trace, a server root span and two client children
  local n tid
  n="$(printf '%02x' "$1")"
  tid="5b8efff798038103d269b633813fc6${n}"
  curl -sf --max-time 5 -H 'Content-Type: application/json' http://127.0.0.1:4318/v1/traces -d @- >/dev/null <<JSON
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"parker-booking"}}]},
 "scopeSpans":[{"scope":{"name":"capture-fixtures"},"spans":[
  {"traceId":"$tid","spanId":"eee19b7ec3c1b1${n}","name":"POST /bookings","kind":2,
   "startTimeUnixNano":"1764086400000000000","endTimeUnixNano":"1764086400005000000",
   "attributes":[{"key":"http.request.method","value":{"stringValue":"POST"}}]},
  {"traceId":"$tid","spanId":"aaa19b7ec3c1b1${n}","parentSpanId":"eee19b7ec3c1b1${n}","name":"fares.quote","kind":3,
   "startTimeUnixNano":"1764086400001000000","endTimeUnixNano":"1764086400002000000"},
  {"traceId":"$tid","spanId":"bbb19b7ec3c1b1${n}","parentSpanId":"eee19b7ec3c1b1${n}","name":"fares.order","kind":3,
   "startTimeUnixNano":"1764086400002000000","endTimeUnixNano":"1764086400004000000"}]}]}]}
JSON
}
send_metric_and_logs() {
  curl -sf --max-time 5 -H 'Content-Type: application/json' http://127.0.0.1:4318/v1/metrics -d @- >/dev/null <<'JSON'
{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"parker-booking"}}]},
 "scopeMetrics":[{"scope":{"name":"capture-fixtures"},"metrics":[{"name":"parker.bookings","sum":{"aggregationTemporality":2,"isMonotonic":true,
  "dataPoints":[{"asInt":"3","startTimeUnixNano":"1764086400000000000","timeUnixNano":"1764086401000000000"}]}}]}]}]}
JSON
  curl -sf --max-time 5 -H 'Content-Type: application/json' http://127.0.0.1:4318/v1/logs -d @- >/dev/null <<'JSON'
{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"parker-booking"}}]},
 "scopeLogs":[{"scope":{"name":"capture-fixtures"},"logRecords":[
  {"timeUnixNano":"1764086400000000000","severityText":"INFO","severityNumber":9,"body":{"stringValue":"booking confirmed"}},
  {"timeUnixNano":"1764086400000000000","severityText":"WARN","severityNumber":13,"body":{"stringValue":"fare provider slow"}}]}]}]}
JSON
}

echo "capture-fixtures: $("$bin" --version)" >&2

# --- 1. healthy flow ---------------------------------------------------------
start sink "$here/downstream-sink.yaml"; sink=$started
start main "$here/valid-minimal.yaml"; main=$started
wait_for "health_check 200" curl -sf --max-time 1 http://127.0.0.1:13133/
wait_for "downstream ready" curl -sf --max-time 1 http://127.0.0.1:8889/metrics
curl -sf --max-time 2 http://127.0.0.1:13133/ >"$out/$prefix-health.json"
for i in 1 2 3 4 5; do send_trace "$i"; done
send_metric_and_logs
# The otlp_grpc/otlp_http exporter series carry server_address/server_port (and
# url_path for otlp_http) labels too, hence the prefix match.
wait_for "15 spans sent" metric_is 'otelcol_exporter_sent_spans{exporter="otlp_grpc",' 15
wait_for "2 log records sent" metric_is 'otelcol_exporter_sent_log_records{exporter="otlp_grpc",' 2
wait_for "1 point sent" metric_is 'otelcol_exporter_sent_metric_points{exporter="otlp_http",' 1
curl -sf --max-time 2 http://127.0.0.1:8888/metrics >"$out/$prefix-metrics.prom"

# --- 2. downstream stopped: queue fills, retries run out ---------------------
stop "$sink"
# Separate batches (batch timeout 200ms) so more requests than the 4 queue
# consumers exist and some wait in the queue.
for i in $(seq 16 25); do send_trace "$i"; sleep 0.3; done
wait_for "spans queued" metric_present 'otelcol_exporter_queue_size{data_type="traces",exporter="otlp_grpc"} '
sleep 2
curl -sf --max-time 2 http://127.0.0.1:8888/metrics >"$out/$prefix-metrics-downstream-down.prom"
echo "capture-fixtures: waiting up to 90 s for retry_on_failure (max_elapsed_time 60s) to give up" >&2
for _ in $(seq 1 90); do
  metric_present 'otelcol_exporter_send_failed_spans{' && break
  sleep 1
done
metric_present 'otelcol_exporter_send_failed_spans{' ||
  { echo "capture-fixtures: no send_failed_spans after 90 s" >&2; exit 1; }
sleep 1
curl -sf --max-time 2 http://127.0.0.1:8888/metrics >"$out/$prefix-metrics-send-failed.prom"
stop "$main"

# --- 3. telemetry level "detailed" (export latency histograms) ---------------
rm -rf "$work/file_storage"
sed 's/^      level: normal$/      level: detailed/' "$here/valid-minimal.yaml" >"$work/detailed.yaml"
grep -q 'level: detailed' "$work/detailed.yaml" || { echo "capture-fixtures: could not switch level" >&2; exit 1; }
start sink "$here/downstream-sink.yaml"; sink=$started
start main "$work/detailed.yaml"; main=$started
wait_for "health_check 200" curl -sf --max-time 1 http://127.0.0.1:13133/
wait_for "downstream ready" curl -sf --max-time 1 http://127.0.0.1:8889/metrics
for i in 1 2 3 4 5; do send_trace "$i"; done
send_metric_and_logs
wait_for "15 spans sent (detailed)" metric_is 'otelcol_exporter_sent_spans{exporter="otlp_grpc",' 15
curl -sf --max-time 2 http://127.0.0.1:8888/metrics >"$out/$prefix-metrics-detailed.prom"
stop "$main"
stop "$sink"

# --- 4. memory_limiter refusing everything -----------------------------------
start main "$here/memory-limited.yaml"; main=$started
wait_for "metrics endpoint" curl -sf --max-time 1 http://127.0.0.1:8888/metrics
# Let the limiter's first check (100ms) see the heap above its limit.
sleep 1
# Status line, the headers that matter, and the body of one refused export.
curl -s --max-time 5 -i -H 'Content-Type: application/json' http://127.0.0.1:4318/v1/traces \
  -d '{"resourceSpans":[{"resource":{},"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc6ff","spanId":"eee19b7ec3c1b1ff","name":"refused","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]}]}' |
  tr -d '\r' | grep -v -i '^date:' >"$out/$prefix-otlp-http-refused.txt"
grep -q '^HTTP/1.1 503' "$out/$prefix-otlp-http-refused.txt" ||
  { echo "capture-fixtures: expected a 503 refusal, got:" >&2; cat "$out/$prefix-otlp-http-refused.txt" >&2; exit 1; }
for i in 1 2 3 4 5; do send_trace "$i" || true; done # curl -f: each 503 is expected
wait_for "16 spans refused" metric_is 'otelcol_receiver_refused_spans{receiver="otlp",transport="http"}' 16
curl -sf --max-time 2 http://127.0.0.1:8888/metrics >"$out/$prefix-metrics-memory-limited.prom"
stop "$main"
echo "capture-fixtures: wrote fixtures to $out" >&2
