#!/usr/bin/env bash
# Sweep wall time with 1 and 2 local workers (README "Measured", docs/compute.md).
#
# Each worker is a `synth-city worker` process on 127.0.0.1 with one slot; with PIN=1 (the
# default) worker k is pinned to CPU core k (taskset), so that on a 2-core machine the two
# workers behave like two 1-core machines instead of two processes fighting over the same
# cores. The same sweep (4 neural presets, BTC 5m synthetic, 2 epochs, 256 windows, 4 prompts,
# --force so nothing is reused) runs once through 1 worker and once through 2, each in a fresh
# data directory; wall time and the CRPS column are printed.
#
#   BIN=target/ci/synth-city benches/compute/sweep_scaling.sh
set -euo pipefail
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/ci/synth-city}
PIN=${PIN:-1}
PRESETS=${PRESETS:-mlp_gbm,lstm_student_t,gru_mixture,transformer_sde}
unset SYNTH_CITY_WORKER_TOKEN SYNTH_CITY_WORKERS
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ "${KEEP:-0}" = 1 ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

start_worker() { # k port
  local k=$1 port=$2 pin=()
  [ "$PIN" = 1 ] && pin=(taskset -c "$k")
  SYNTH_CITY_HOME="$work/w$k" "${pin[@]}" "$BIN" worker --listen "127.0.0.1:$port" --slots 1 \
    --device cpu >"$work/w$k.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$port/v1/health" >/dev/null && return 0
    sleep 0.2
  done
  echo "worker $k did not start" >&2; cat "$work/w$k.log" >&2; exit 3
}

sweep() { # label workers
  local label=$1 workers=$2
  local t0 t1
  t0=$(date +%s.%N)
  SYNTH_CITY_HOME="$work/c-$label" SYNTH_CITY_WORKERS="$workers" "$BIN" sweep \
    --presets "$PRESETS" --assets BTC --timeframe 5m --synthetic --epochs 2 \
    --max-windows 256 --max-prompts 4 --force --json >"$work/$label.json"
  t1=$(date +%s.%N)
  printf '%s: %.1f s\n' "$label" "$(echo "$t1 - $t0" | bc)"
}

start_worker 0 7181
start_worker 1 7182
sweep one-worker "http://127.0.0.1:7181"
sweep two-workers "http://127.0.0.1:7181,http://127.0.0.1:7182"
# The same results both ways (CRPS per run), and each run's training time.
python3 - "$work/one-worker.json" "$work/two-workers.json" <<'PY'
import json, sys
one, two = (json.load(open(f))["results"] for f in sys.argv[1:3])
for a, b in zip(one, two):
    print(f"  {a['model']:<16} train {a['train_secs']:5.1f} s / {b['train_secs']:5.1f} s")
same = [a["model_crps"] for a in one] == [b["model_crps"] for b in two]
print(f"CRPS {'identical' if same else 'DIFFERENT'} over {len(one)} runs")
PY
