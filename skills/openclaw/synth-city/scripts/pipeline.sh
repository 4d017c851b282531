#!/bin/sh
# Starts the research pipeline and waits for it to end, printing the final status.
# Usage: pipeline.sh [ASSET] [TIMEFRAME]   (defaults BTC 5m)
set -eu
here="$(dirname "$0")"
asset="${1:-BTC}"
tf="${2:-5m}"
"$here/sc.sh" POST /pipeline/run "{\"asset\": \"$asset\", \"timeframe\": \"$tf\"}" >/dev/null
while :; do
  status="$("$here/sc.sh" GET /pipeline/status)"
  case "$status" in
    *'"status":"queued"'*|*'"status":"running"'*) sleep 5 ;;
    *) printf '%s\n' "$status"; break ;;
  esac
done
