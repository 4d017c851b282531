"""Writes a synthetic SN50 prompt for benchmarking and cross-checking the scorer:
N miners' prediction files (simulation_output JSON, prices rounded to 8 significant digits)
plus the real prices (JSON array, null for missing points).

Usage: python gen_inputs.py OUT_DIR [--miners 16] [--prompt low|high] [--paths 1000] [--seed 1]
       [--missing 0.02]
"""

import argparse
import json
import os

import numpy as np


def round8(x):
    # 8 significant digits (7 below 1, where the leading 0 counts); integral values as ints.
    digits = 8 if abs(x) >= 1 else 7
    v = float(f"{x:.{digits - 1}e}")
    return int(v) if v.is_integer() else v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--miners", type=int, default=16)
    ap.add_argument("--prompt", choices=["low", "high"], default="low")
    ap.add_argument("--paths", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--missing", type=float, default=0.02)
    a = ap.parse_args()
    inc, length = (300, 86400) if a.prompt == "low" else (60, 3600)
    points = length // inc + 1
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    s0 = 67000.0 * (1 + 0.05 * rng.standard_normal())
    sigma = 0.0054 * np.sqrt(inc / 3600)
    real = s0 * np.exp(np.cumsum(np.concatenate(([0.0], sigma * rng.standard_normal(points - 1)))))
    real_list = [None if (0 < k < points - 1 and rng.random() < a.missing) else round8(x)
                 for k, x in enumerate(real)]
    with open(os.path.join(a.out, "real.json"), "w") as f:
        json.dump(real_list, f)
    start = 1778767560
    for m in range(a.miners):
        vol = sigma * (0.5 + rng.random())
        steps = vol * rng.standard_normal((a.paths, points - 1))
        start_price = s0 * (1 + 0.001 * rng.standard_normal())
        paths = start_price * np.exp(np.cumsum(np.hstack([np.zeros((a.paths, 1)), steps]), axis=1))
        out = [start, inc] + [[round8(x) for x in row] for row in paths]
        with open(os.path.join(a.out, f"miner{m:02d}.json"), "w") as f:
            json.dump({"simulation_input": {}, "simulation_output": out}, f)


if __name__ == "__main__":
    main()
