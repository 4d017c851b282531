#!/usr/bin/env bash
# Random prompts (LOW and HIGH, with missing real prices) scored by `synth-city score` and by
# the Python reference; every float must be identical. Usage: benches/sn50/crosscheck.sh [BIN] [N]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/synth-city/target}/ci/synth-city}"
n="${2:-10}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
for seed in $(seq 1 "$n"); do
  for prompt in low high; do
    inc=$([ "$prompt" = low ] && echo 300 || echo 60)
    rm -f "$dir"/*.json
    python3 "$here/gen_inputs.py" "$dir" --miners 4 --prompt "$prompt" --paths "${PATHS:-300}" --seed "$seed" --missing 0.1
    preds=()
    for f in "$dir"/miner*.json; do preds+=(--prediction "$f"); done
    args=("${preds[@]}" --real "$dir/real.json" --time-increment "$inc" --prompt "$prompt")
    "$bin" score "${args[@]}" --json > "$dir/rust.out"
    python3 "$here/validator_ref.py" "${args[@]}" > "$dir/python.out"
    echo -n "seed $seed $prompt: "
    python3 "$here/compare.py" "$dir/rust.out" "$dir/python.out"
  done
done
