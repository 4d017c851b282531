"""The SN50 validator's CRPS and prompt scoring, written the way the validator runs it
(numpy + properscoring.crps_ensemble per column; synth/validator/crps_calculation.py and
reward.compute_prompt_scores at synth-subnet ec8a625, as described in
shared/research/synth-subnet.md §4). Used to cross-check and benchmark `synth-city score`.

Usage: python validator_ref.py --prediction F [--prediction F ...] --real F
                               --time-increment S --prompt low|high
Prints the same JSON as `synth-city score --json`.
"""

import argparse
import json
import sys

import numpy as np
from properscoring import crps_ensemble

LOW_INTERVALS = {"5min": 300, "30min": 1800, "3hour": 10800, "24hour_abs": 86400}
HIGH_INTERVALS = {
    "1min": 60, "2min": 120, "5min": 300, "15min": 900, "30min": 1800, "60min_abs": 3600,
    **{f"0_{m}min_gaps": m * 60 for m in range(5, 65, 5)},
}


def label_observed_blocks(arr):
    not_nan = ~np.isnan(arr)
    block_start = not_nan & np.concatenate(([True], ~not_nan[:-1]))
    group_numbers = np.cumsum(block_start) - 1
    return np.where(not_nan, group_numbers, -1)


def changes(paths, steps, absolute_price=False, is_gap=False):
    q = paths[:, ::steps]
    if is_gap:
        q = q[:, :2]
    if absolute_price:
        return q[:, 1:]
    return (np.diff(q, axis=1) / q[:, :-1]) * 10000


def calculate_crps_for_miner(sims, real, time_increment, intervals):
    sum_all = 0.0
    details = {}
    for name, seconds in intervals.items():
        steps = int(seconds / time_increment)
        is_abs = name.endswith("_abs")
        is_gap = name.endswith("_gaps")
        if is_abs:
            while len(real[::steps]) == 1 and steps > 1:
                steps -= 1
        if np.any(sims == 0):
            return -1.0, {}
        sim_ch = changes(sims, steps, is_abs, is_gap)
        real_ch = changes(real.reshape(1, -1), steps, is_abs, is_gap)[0]
        labels = label_observed_blocks(real_ch)
        if len(labels) == 0:
            continue
        total_increment = 0.0
        for b in np.unique(labels):
            if b == -1:
                continue
            idx = np.where(labels == b)[0]
            v = np.array([crps_ensemble(real_ch[t], sim_ch[:, t]) for t in idx])
            if is_abs:
                v = v / real[-1] * 10_000
            total_increment += v.sum()
        details[name] = float(total_increment)
        sum_all += float(total_increment)
    return sum_all, details


def miner_score(sims, real, time_increment, intervals):
    try:
        total, details = calculate_crps_for_miner(sims, real, time_increment, intervals)
    except Exception:  # the validator's _crps_worker
        return -1.0, {}
    if np.isnan(total):
        return -1.0, {}
    return total, details


def compute_prompt_scores(scores):
    scores = np.array(scores, dtype=float)
    if np.all(scores == -1):
        return None, None, None
    valid = scores[scores != -1]
    p90 = np.percentile(valid, 90)
    capped = np.minimum(scores, p90)
    capped[scores == -1] = p90
    lowest = np.min(capped)
    return capped - lowest, float(p90), float(lowest)


def load_paths(path):
    with open(path) as f:
        data = json.load(f)
    if isinstance(data, dict):
        data = data["simulation_output"]
    if data and not isinstance(data[0], list):
        data = data[2:]  # adjust_predictions: drop start time and increment
    return np.array(data).astype(float)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prediction", action="append", required=True)
    ap.add_argument("--real", required=True)
    ap.add_argument("--time-increment", type=int, required=True)
    ap.add_argument("--prompt", choices=["low", "high"], required=True)
    a = ap.parse_args()
    intervals = LOW_INTERVALS if a.prompt == "low" else HIGH_INTERVALS
    with open(a.real) as f:
        real = np.array([np.nan if x is None else x for x in json.load(f)], dtype=float)
    results = []
    for p in a.prediction:
        total, details = miner_score(load_paths(p), real, a.time_increment, intervals)
        results.append((p, float(total), details))
    if len(results) == 1:
        _, total, details = results[0]
        out = {"total": total, "intervals": details}
    else:
        prompt, p90, lowest = compute_prompt_scores([r[1] for r in results])
        miners = []
        for i, (p, total, details) in enumerate(results):
            ps = None if prompt is None else float(prompt[i])
            miners.append({"file": p, "total": total, "intervals": details, "prompt_score": ps})
        out = {"miners": miners, "percentile90": p90, "lowest": lowest}
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
