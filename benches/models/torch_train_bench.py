#!/usr/bin/env python3
"""PyTorch counterpart of crates/models/benches/neural.rs (train_step_b32_t256_d64).

Same work per step as the Rust bench: input Linear(1 -> 64); backbone = one of
  lstm2         2-layer LSTM (hidden 64), no residual
  transformer2  2-layer pre-norm Transformer encoder (4 heads, FFN 256, GELU, sinusoidal
                positions, final LayerNorm, no dropout)
  and every other family with synth-city's block defaults (crates/models/src/blocks/*.rs):
  gru           1-layer GRU (nn.GRU, hidden 64) + residual
  tcn           4 gated dilated causal Conv1d layers (kernel 3, dilation 1, 2, 4, 8, 64 -> 128
                channels, tanh * sigmoid gate, Linear(64, 64) residual projection)
  mamba         pre-LN Mamba block (expand 2, d_state 16, d_conv 4, dt rank 4) with a
                straightforward pure-PyTorch selective scan (a reference implementation in the
                manner of mamba-ssm's selective_scan_ref: a Python loop over time on
                materialised (B, T, D, N) tensors, unbound once rather than indexed per step;
                not mamba-ssm's CUDA kernels)
  timesnet      1 TimesBlock (torch.fft.rfft amplitudes, top-2 periods, 1D -> 2D folding,
                Inception Conv2d kernels 1 and 3, GELU, d_ff 64, softmax-weighted sum) + LayerNorm
head = LayerNorm + Linear(64 -> 2) on the last step,
sigma = scale * exp(clamp(0.1*raw)), mu = 0.1*scale*tanh(0.1*raw); closed-form Gaussian CRPS
in bps over 60 targets; AdamW(lr 1e-3, wd 1e-4) with global-norm clipping at 1.0; f32, CPU.

Usage: python3 torch_train_bench.py [--threads N] [--steps N] [--seconds S] [--flush-denormal]
                                   [--models lstm2,transformer2,gru,tcn,mamba,timesnet] [--gemm]
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


class Gru(nn.Module):
    """synth-city `gru` defaults: one layer, residual."""

    def __init__(self, d):
        super().__init__()
        self.gru = nn.GRU(d, d, num_layers=1, batch_first=True)

    def forward(self, x):
        return x + self.gru(x)[0]


class Tcn(nn.Module):
    """synth-city `tcn` defaults: kernel 3, 4 layers, layer i dilation 2^i, causal (left pad)."""

    def __init__(self, d, k=3, layers=4):
        super().__init__()
        self.d, self.k = d, k
        self.convs = nn.ModuleList(nn.Conv1d(d, 2 * d, k, dilation=2**i) for i in range(layers))
        self.res = nn.ModuleList(nn.Linear(d, d) for _ in range(layers))

    def forward(self, h):
        for i, (conv, res) in enumerate(zip(self.convs, self.res)):
            xc = nn.functional.pad(h.transpose(1, 2), ((self.k - 1) * 2**i, 0))
            y = conv(xc)
            z = (torch.tanh(y[:, :self.d]) * torch.sigmoid(y[:, self.d:])).transpose(1, 2)
            h = h + res(z)
        return h


class Mamba(nn.Module):
    """synth-city `mamba` defaults (expand 2, d_state 16, d_conv 4, dt rank ceil(d/16)), pre-LN,
    residual. The selective scan is a straightforward pure-PyTorch reference implementation (a
    loop over time, as mamba-ssm's selective_scan_ref), not mamba-ssm's CUDA kernels."""

    def __init__(self, d, expand=2, n=16, k=4):
        super().__init__()
        di, self.rank, self.n, self.di, self.k = d * expand, -(-d // 16), n, d * expand, k
        self.ln = nn.LayerNorm(d)
        self.in_proj = nn.Linear(d, 2 * di, bias=False)
        self.conv = nn.Conv1d(di, di, k, groups=di)
        self.x_proj = nn.Linear(di, self.rank + 2 * n, bias=False)
        self.dt_proj = nn.Linear(self.rank, di)
        self.a_log = nn.Parameter(torch.zeros(di, n))
        self.register_buffer("a_base", torch.arange(1, n + 1, dtype=torch.float32).repeat(di, 1))
        self.d_skip = nn.Parameter(torch.ones(di))
        self.out_proj = nn.Linear(di, d)

    def forward(self, x):
        xs, z = self.in_proj(self.ln(x)).split(self.di, dim=-1)
        xc = self.conv(nn.functional.pad(xs.transpose(1, 2), (self.k - 1, 0)))
        xc = nn.functional.silu(xc).transpose(1, 2)  # (B, T, D)
        u, bm, cm = self.x_proj(xc).split([self.rank, self.n, self.n], dim=-1)
        dt = nn.functional.softplus(self.dt_proj(u))  # (B, T, D)
        a = -(self.a_log.exp() * self.a_base)  # (D, N)
        da = torch.exp(dt.unsqueeze(-1) * a)  # (B, T, D, N)
        dbx = (dt * xc).unsqueeze(-1) * bm.unsqueeze(2)  # (B, T, D, N)
        h = x.new_zeros(x.shape[0], self.di, self.n)
        ys = []
        # unbind, not da[:, t]: an indexed slice's backward writes a gradient of the whole
        # (B, T, D, N) tensor per step (O(T^2)); unbind's backward is one stack.
        for da_t, dbx_t, c_t in zip(da.unbind(1), dbx.unbind(1), cm.unbind(1)):
            h = da_t * h + dbx_t
            ys.append(torch.einsum("bdn,bn->bd", h, c_t))
        y = torch.stack(ys, dim=1) + xc * self.d_skip
        return x + self.out_proj(y * nn.functional.silu(z))


class Inception(nn.Module):
    def __init__(self, cin, cout, kernels):
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(cin, cout, 2 * i + 1, padding=i)
                                   for i in range(kernels))

    def forward(self, x):
        return torch.stack([c(x) for c in self.convs], dim=0).mean(0)


class TimesNet(nn.Module):
    """synth-city `timesnet` defaults: 1 TimesBlock, top_k 2, Inception kernels 1 and 3,
    d_ff = d; each TimesBlock followed by LayerNorm (as the reference TimesNet model)."""

    def __init__(self, d, top_k=2, kernels=2):
        super().__init__()
        self.k = top_k
        self.conv1 = Inception(d, d, kernels)
        self.conv2 = Inception(d, d, kernels)
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        b, t, d = x.shape
        amp = torch.fft.rfft(x, dim=1).abs().mean(-1)  # (B, F)
        freq = amp.detach().mean(0)
        freq[0] = float("-inf")
        top = torch.topk(freq, self.k).indices
        w = torch.softmax(amp[:, top], dim=1)  # (B, k)
        acc = x
        for i, f in enumerate(top.tolist()):
            p = t // f
            length = -(-t // p) * p
            xp = nn.functional.pad(x, (0, 0, 0, length - t)) if length > t else x
            img = xp.reshape(b, length // p, p, d).permute(0, 3, 1, 2)
            y = self.conv2(nn.functional.gelu(self.conv1(img)))
            y = y.permute(0, 2, 3, 1).reshape(b, length, d)[:, :t]
            acc = acc + y * w[:, i, None, None]
        return self.norm(acc)


FAMILIES = {"gru": Gru, "tcn": Tcn, "mamba": Mamba, "timesnet": TimesNet}
MODELS = ["lstm2", "transformer2", *FAMILIES]


class Model(nn.Module):
    def __init__(self, kind, d=64, t=256):
        super().__init__()
        self.kind = kind
        self.inp = nn.Linear(1, d)
        if kind == "lstm2":
            self.backbone = nn.LSTM(d, d, num_layers=2, batch_first=True)
        elif kind in FAMILIES:
            self.backbone = FAMILIES[kind](d)
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
        elif self.kind in FAMILIES:
            h = self.backbone(h)
        else:
            h = self.norm(self.backbone(h + self.pe))
        return self.head(h[:, -1], scale)


def bench(kind, steps, seconds):
    """Steps/s and the backbone's parameter count (compare with synth-city's block table)."""
    torch.manual_seed(0)
    m = Model(kind)
    params = sum(p.numel() for p in m.backbone.parameters())
    if kind == "transformer2":
        params += sum(p.numel() for p in m.norm.parameters())
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
    done = 0
    while done < steps and (done < 3 or time.perf_counter() - t0 < seconds):
        step()
        done += 1
    dt = time.perf_counter() - t0
    return done / dt, params


# (name, m, k, n): the shapes of crates/models/benches/neural.rs's gemm_f32 group.
GEMM_SHAPES = [("square_1024", 1024, 1024, 1024), ("lstm_step_32x64x256", 32, 64, 256),
               ("lstm_input_8192x64x256", 8192, 64, 256), ("qkv_8192x64x192", 8192, 64, 192),
               ("ffn_in_8192x64x256", 8192, 64, 256), ("ffn_out_8192x256x64", 8192, 256, 64),
               ("head_scores_256x16x256", 256, 16, 256), ("head_pv_256x256x16", 256, 256, 16)]


def gemm_gflops(m, k, n, seconds=1.0):
    """Sustained GFLOP/s of torch.matmul (m, k) x (k, n), f32, into a preallocated output."""
    a, b, out = torch.randn(m, k), torch.randn(k, n), torch.empty(m, n)
    for _ in range(3):
        torch.matmul(a, b, out=out)
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        torch.matmul(a, b, out=out)
        done += 1
    return 2 * m * k * n * done / (time.perf_counter() - t0) / 1e9


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
    ap.add_argument("--seconds", type=float, default=20.0,
                    help="stop a model's timing after this long (at least 3 steps)")
    ap.add_argument("--models", default=",".join(MODELS),
                    help="comma-separated, from " + ",".join(MODELS))
    ap.add_argument("--flush-denormal", action="store_true",
                    help="torch.set_flush_denormal(True): flush-to-zero + denormals-are-zero")
    ap.add_argument("--gemm", action="store_true",
                    help="also print torch.matmul GFLOP/s for the Rust bench's gemm_f32 shapes")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    flushed = torch.set_flush_denormal(True) if a.flush_denormal else False
    out = {"torch": torch.__version__, "threads": a.threads, "cpu": cpu(),
           "isa": torch.backends.cpu.get_cpu_capability(),
           "denormals": "FTZ+DAZ" if flushed else "IEEE"}
    for kind in a.models.split(","):
        if kind not in MODELS:
            ap.error(f"unknown model {kind!r}; one of {','.join(MODELS)}")
        rate, params = bench(kind, a.steps, a.seconds)
        out[kind + "_steps_per_s"] = round(rate, 3)
        out[kind + "_params"] = params
    if a.gemm:
        for name, m, k, n in GEMM_SHAPES:
            out["gemm_gflops_" + name] = round(gemm_gflops(m, k, n), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
