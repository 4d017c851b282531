#!/usr/bin/env python3
"""PyTorch counterpart of crates/models/benches/neural.rs (train_step_b32_t256_d64).

Same work per step as the Rust bench: input Linear(1 -> 64); backbone = 2-layer LSTM
(hidden 64) or a 2-layer pre-norm Transformer encoder (4 heads, FFN 256, GELU, sinusoidal
positions, final LayerNorm, no dropout); head = LayerNorm + Linear(64 -> 2) on the last step,
sigma = scale * exp(clamp(0.1*raw)), mu = 0.1*scale*tanh(0.1*raw); closed-form Gaussian CRPS
in bps over 60 targets; AdamW(lr 1e-3, wd 1e-4) with global-norm clipping at 1.0; f32, CPU.

Usage: python3 torch_train_bench.py [--threads N] [--steps N] [--flush-denormal]
Prints steps/s for each model as JSON, with the CPU model, its SIMD flags and the denormal mode
(--flush-denormal: torch.set_flush_denormal(True), flush-to-zero + denormals-are-zero, as the
Rust side's training does; the fair comparison).
"""
import argparse
import json
import math
import time

import torch
from torch import nn


class Head(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln = nn.LayerNorm(d)
        self.proj = nn.Linear(d, 2)

    def forward(self, h, scale):
        p = self.proj(self.ln(h)) * 0.1
        mu = torch.tanh(p[:, :1]) * 0.1 * scale
        sigma = torch.exp(p[:, 1:].clamp(-6, 4)) * scale
        return mu - 0.5 * sigma**2, sigma


def gaussian_crps(mu, sigma, y):
    mu, sigma, y = mu * 1e4, sigma * 1e4, y * 1e4
    z = (y - mu) / sigma
    cdf = 0.5 * (1 + torch.erf(z / math.sqrt(2)))
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return (sigma * (z * (2 * cdf - 1) + 2 * pdf - 1 / math.sqrt(math.pi))).mean()


def sinusoidal(t, d):
    pos = torch.arange(t, dtype=torch.float32)[:, None]
    i = torch.arange(d)[None, :]
    freq = 1.0 / (10000 ** ((2 * (i // 2)).float() / d))
    a = pos * freq
    return torch.where(i % 2 == 0, torch.sin(a), torch.cos(a))


class Model(nn.Module):
    def __init__(self, kind, d=64, t=256):
        super().__init__()
        self.kind = kind
        self.inp = nn.Linear(1, d)
        if kind == "lstm2":
            self.backbone = nn.LSTM(d, d, num_layers=2, batch_first=True)
        else:
            layer = nn.TransformerEncoderLayer(d, 4, 256, dropout=0.0, activation="gelu",
                                               batch_first=True, norm_first=True)
            self.backbone = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.register_buffer("pe", sinusoidal(t, d))
        self.head = Head(d)

    def forward(self, x, scale):
        h = self.inp(x)
        if self.kind == "lstm2":
            h, _ = self.backbone(h)
        else:
            h = self.norm(self.backbone(h + self.pe))
        return self.head(h[:, -1], scale)


def bench(kind, steps):
    torch.manual_seed(0)
    m = Model(kind)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=1e-4)
    x = torch.randn(32, 256, 1)
    y = 0.001 * torch.randn(32, 60)
    scale = torch.full((32, 1), 0.001)

    def step():
        opt.zero_grad(set_to_none=True)
        mu, sigma = m(x, scale)
        loss = gaussian_crps(mu.expand(-1, 60), sigma.expand(-1, 60), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = time.perf_counter() - t0
    return steps / dt


SIMD_FLAGS = ["avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_bf16",
              "avx512_vnni", "amx_tile", "amx_bf16"]


def cpu():
    """The CPU model and the SIMD flags the kernels can use (Linux /proc/cpuinfo)."""
    model, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                if model != "unknown" and flags:
                    break
    except OSError:
        pass
    return f"{model} [{' '.join(f for f in SIMD_FLAGS if f in flags)}]"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--flush-denormal", action="store_true",
                    help="torch.set_flush_denormal(True): flush-to-zero + denormals-are-zero")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    flushed = torch.set_flush_denormal(True) if a.flush_denormal else False
    out = {"torch": torch.__version__, "threads": a.threads, "cpu": cpu(),
           "isa": torch.backends.cpu.get_cpu_capability(),
           "denormals": "FTZ+DAZ" if flushed else "IEEE"}
    for kind in ["lstm2", "transformer2"]:
        out[kind + "_steps_per_s"] = round(bench(kind, a.steps), 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
