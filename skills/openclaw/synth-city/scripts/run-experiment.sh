#!/bin/sh
# Validates, then runs one experiment. Usage: run-experiment.sh '{"preset":"garch_t","asset":"ETH"}'
set -eu
here="$(dirname "$0")"
spec="${1:?usage: run-experiment.sh SPEC_JSON}"
"$here/sc.sh" POST /experiments/validate "{\"experiment\": $spec}" >/dev/null
"$here/sc.sh" POST /experiments/run "{\"experiment\": $spec}"
