#!/bin/sh
# Validates, then runs one experiment. Usage: run-experiment.sh '{"preset":"garch_t","asset":"ETH"}'
# The argument is the experiment (what /experiments/create answers as `experiment`, or its
# shortcuts). When the bridge refuses it (bad JSON, unknown fields) or validation finds errors,
# prints the bridge's answer and exits 1 without running; 2 when the bridge is unreachable.
set -u
here="$(dirname "$0")"
spec="${1:?usage: run-experiment.sh SPEC_JSON}"
answer="$("$here/sc.sh" POST /experiments/validate "{\"experiment\": $spec}")"
rc=$?
if [ "$rc" -ne 0 ]; then
  printf '%s\n' "$answer"
  echo "run-experiment.sh: the bridge refused the experiment; nothing was run" >&2
  exit "$rc"
fi
if printf '%s' "$answer" | grep -Eq '"valid"[[:space:]]*:[[:space:]]*false'; then
  printf '%s\n' "$answer"
  echo "run-experiment.sh: the experiment is not valid (see errors); nothing was run" >&2
  exit 1
fi
exec "$here/sc.sh" POST /experiments/run "{\"experiment\": $spec}"
