#!/usr/bin/env bash
# Whole-process comparison: a 16-miner LOW prompt (1000 x 289 paths each) scored from files by
# `synth-city score` (or the sn50 `score_prompt` example, which does the same work) vs the
# validator's way (numpy + properscoring crps_ensemble per column). Checks first that both print
# the same numbers, to the bit. numpy runs on one core, so the scorer is timed on one core
# (`taskset -c 0`, both programs pinned) and on every core (unpinned; it scores files in parallel).
# Needs: python3 with numpy, properscoring, numba; hyperfine; a built binary
# (cargo build -p synth-city --profile ci, or cargo build -p sn50 --profile ci --example score_prompt).
# Usage: benches/sn50/run_bench.sh [BIN]     (RUNS=5, EXPORT=file.json for hyperfine's numbers)
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
uptime
hyperfine -N --warmup 1 --runs "${RUNS:-5}" --export-json "${EXPORT:-/dev/null}" \
  -n rust-1core "taskset -c 0 $bin score ${args[*]} --json" \
  -n rust-2cores "$bin score ${args[*]} --json" \
  -n python-1core "taskset -c 0 python3 $here/validator_ref.py ${args[*]}" \
  -n python "python3 $here/validator_ref.py ${args[*]}"
uptime
