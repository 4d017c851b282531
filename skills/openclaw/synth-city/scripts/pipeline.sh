#!/bin/sh
# Starts the research pipeline and waits for it to end, printing the final status.
# Usage: pipeline.sh [ASSET] [TIMEFRAME] [MAX_EXPERIMENTS]   (defaults BTC 5m, bridge default)
# Waits at most SYNTH_PIPELINE_WAIT seconds (default 3600), then prints the last status and
# exits 3 (the pipeline goes on; check /pipeline/status later). Exits 1 when the bridge refuses
# the request or the pipeline ends failed or stopped, 2 when the bridge is unreachable.
set -u
here="$(dirname "$0")"
asset="${1:-BTC}"
tf="${2:-5m}"
max="${3:-}"
case "$asset" in *[!A-Za-z0-9_.-]*|'') echo "pipeline.sh: bad asset '$asset'" >&2; exit 1 ;; esac
case "$tf" in *[!A-Za-z0-9]*|'') echo "pipeline.sh: bad timeframe '$tf'" >&2; exit 1 ;; esac
body="{\"asset\": \"$asset\", \"timeframe\": \"$tf\""
if [ -n "$max" ]; then
  case "$max" in *[!0-9]*) echo "pipeline.sh: MAX_EXPERIMENTS must be a number, got '$max'" >&2; exit 1 ;; esac
  body="$body, \"max_experiments\": $max"
fi
body="$body}"
answer="$("$here/sc.sh" POST /pipeline/run "$body")"
rc=$?
if [ "$rc" -ne 0 ]; then
  printf '%s\n' "$answer"
  exit "$rc"
fi
wait_s="${SYNTH_PIPELINE_WAIT:-3600}"
case "$wait_s" in *[!0-9]*|'') wait_s=3600 ;; esac
start="$(date +%s)"
while :; do
  status="$("$here/sc.sh" GET /pipeline/status)"
  rc=$?
  if [ "$rc" -ne 0 ]; then printf '%s\n' "$status"; exit "$rc"; fi
  if printf '%s' "$status" | grep -Eq '"status"[[:space:]]*:[[:space:]]*"(queued|running)"'; then
    if [ $(( $(date +%s) - start )) -ge "$wait_s" ]; then
      printf '%s\n' "$status"
      echo "pipeline.sh: still running after ${wait_s} s" >&2
      exit 3
    fi
    sleep 5
    continue
  fi
  printf '%s\n' "$status"
  if printf '%s' "$status" | grep -Eq '"status"[[:space:]]*:[[:space:]]*"completed"'; then
    exit 0
  fi
  exit 1
done
