#!/usr/bin/env bash
# Whole-process comparison: a 16-miner LOW prompt (1000 x 289 paths each) scored from files by
# `synth-city score` vs the validator's way (numpy + properscoring crps_ensemble per column).
# Also checks that both print the same numbers, to the bit.
# Needs: python3 with numpy, properscoring, numba; hyperfine; a built binary
# (cargo build -p synth-city --profile ci). Usage: benches/sn50/run_bench.sh [BIN]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/synth-city/target}/ci/synth-city}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
python3 "$here/gen_inputs.py" "$dir" --miners 16 --prompt low --seed 1
preds=()
for f in "$dir"/miner*.json; do preds+=(--prediction "$f"); done
args=("${preds[@]}" --real "$dir/real.json" --time-increment 300 --prompt low)
"$bin" score "${args[@]}" --json > "$dir/rust.json"
python3 "$here/validator_ref.py" "${args[@]}" > "$dir/python.json"
python3 "$here/compare.py" "$dir/rust.json" "$dir/python.json"
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "${EXPORT:-/dev/null}" \
  -n rust "$bin score ${args[*]} --json" \
  -n python "python3 $here/validator_ref.py ${args[*]}"
