#!/usr/bin/env bash
# Run the real `otelcol-parker validate` on every config in this corpus and
# print EXPECTED.md's table rows (exit code + the error's last line), so the
# record can be regenerated after a collector upgrade:
#   OTELCOL_PARKER=target/otelcol-parker deploy/collector/test-configs/validate-all.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${OTELCOL_PARKER:-$(command -v otelcol-parker || true)}"
[[ -n "$bin" && -x "$bin" ]] || {
  echo "validate-all: set OTELCOL_PARKER (run scripts/build-collector, which builds it)" >&2
  exit 1
}
echo "| file | expect | exit | key part of the error (last line of stderr) |"
echo "|---|---|---|---|"
for f in "$here"/valid-minimal.yaml "$here"/downstream-sink.yaml "$here"/memory-limited.yaml "$here"/broken/*.yaml "$here"/warn/*.yaml; do
  rel="${f#"$here"/}"
  expect="$(sed -n 's/^# expect: //p' "$f" | head -n1)"
  status=0
  err="$("$bin" validate --config "$f" 2>&1 >/dev/null)" || status=$?
  last="$(printf '%s\n' "$err" | sed '/^[[:space:]]*$/d' | tail -n1)"
  printf '| `%s` | `%s` | %s | %s |\n' "$rel" "${expect:--}" "$status" "${last:+\`$last\`}"
done
