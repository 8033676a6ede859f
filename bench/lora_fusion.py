#!/usr/bin/env python3
"""Would fusing the LoRA path pay on this CPU? Times, with PyTorch's GEMMs (the same
MKL/oneDNN kernels libtorch gives tunedeck), every LoRA GEMM of one SmolLM2-135M training step
(forward, input gradient, A and B gradients) two ways: one `x·Aᵀ` per projection, as PEFT and
tunedeck run it, and one per projection group (q/k/v share their input, and so do gate/up),
with A stacked. Prints both totals next to the frozen base GEMMs of the same step.

    .venv/bin/python bench/lora_fusion.py [RANK]
"""

import sys
import time

import torch

torch.set_num_threads(2)
TOKENS = 1200  # batch 4 x ~300, as in bench/train.py's batches
HIDDEN, INTER, KV, LAYERS = 576, 1536, 192, 30
RANK = int(sys.argv[1]) if len(sys.argv) > 1 else 16
# (in, out) of the seven projections, grouped by shared input.
GROUPS = [
    [(HIDDEN, HIDDEN), (HIDDEN, KV), (HIDDEN, KV)],  # q, k, v
    [(HIDDEN, HIDDEN)],  # o
    [(HIDDEN, INTER), (HIDDEN, INTER)],  # gate, up
    [(INTER, HIDDEN)],  # down
]


def ms(f, n=30):
    for _ in range(3):
        f()
    t = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - t) / n * 1e3


def lora_ms(inp, outs, r):
    """Forward (x·Aᵀ, h·Bᵀ) and backward (dh = dy·B, dB = dyᵀ·h, dA = dhᵀ·x, dx = dh·A) of
    projections sharing one input, with A of `r` rows each (stacked when fused)."""
    x = torch.randn(TOKENS, inp)
    a = torch.randn(r, inp)
    h = torch.randn(TOKENS, r)
    total = ms(lambda: x @ a.T) + ms(lambda: h.T @ x) + ms(lambda: h @ a)
    for out in outs:
        b = torch.randn(out, RANK)
        hb = torch.randn(TOKENS, RANK)
        dy = torch.randn(TOKENS, out)
        total += ms(lambda: hb @ b.T) + ms(lambda: dy @ b) + ms(lambda: dy.T @ hb)
    return total


def base_ms(inp, out):
    x = torch.randn(TOKENS, inp)
    w = torch.randn(out, inp)
    dy = torch.randn(TOKENS, out)
    return ms(lambda: x @ w.T) + ms(lambda: dy @ w)


separate = sum(lora_ms(i, [o], RANK) for g in GROUPS for (i, o) in g) * LAYERS
fused = sum(lora_ms(g[0][0], [o for _, o in g], RANK * len(g)) for g in GROUPS) * LAYERS
base = sum(base_ms(i, o) for g in GROUPS for (i, o) in g) * LAYERS
print(f"rank {RANK}, {TOKENS} tokens, {LAYERS} layers, 2 threads")
print(f"frozen base GEMMs (forward + input gradient): {base:7.1f} ms per step")
print(f"LoRA GEMMs, one A per projection:            {separate:7.1f} ms per step")
print(f"LoRA GEMMs, A fused per input group:         {fused:7.1f} ms per step")
print(f"fusion saves {separate - fused:.1f} ms per step")
