#!/usr/bin/env python3
"""Where a tunedeck bfloat16 LoRA training step's time goes, op by op.

tch has no profiler, so this re-expresses one step of tunedeck's trainer in the same ATen
calls, in the same order (src/model/llama.rs, src/model/linear.rs's `LoraBranch::autocast`,
src/train/loss.rs: logits at labelled positions only, the head's gradient pushed through the
decoder once) and runs `torch.profiler` over it in PyTorch 2.11 on the same libtorch. It is a
profiling aid for BENCHMARKS.md, not a trainer: tunedeck's own speed comes from
`just bench-train`.

SmolLM2-135M-Instruct in bfloat16, LoRA r=16 (float32 master weights) on all seven
projections, batch 4 x 230 tokens with the last 100 of each labelled, 2 threads.

.venv/bin/python bench/step_profile.py
"""

import json
import math
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch.profiler import ProfilerActivity, profile

MODEL = "models/smollm2-135m-instruct"
BATCH, T, LABELLED, RANK, SCALE = 4, 230, 100, 16, 2.0
PROJ = {"q": "self_attn", "k": "self_attn", "v": "self_attn", "o": "self_attn",
        "gate": "mlp", "up": "mlp", "down": "mlp"}

torch.set_num_threads(2)
torch.manual_seed(0)
bf = torch.bfloat16
cfg = json.load(open(f"{MODEL}/config.json"))
W = {k: v.to(bf) for k, v in load_file(f"{MODEL}/model.safetensors").items()}
L, H, KVH = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
D, EPS = cfg["hidden_size"] // H, cfg["rms_norm_eps"]
weight = {(i, n): W[f"model.layers.{i}.{p}.{n}_proj.weight"] for i in range(L) for n, p in PROJ.items()}
lora = {key: ((torch.randn(RANK, w.shape[1]) * 0.02).requires_grad_(),
              (torch.randn(w.shape[0], RANK) * 0.01).requires_grad_()) for key, w in weight.items()}


def linear(x, i, n):
    """The frozen projection plus its branch: one GEMM for x·Aᵀ, one addmm for y + h·(B·s)ᵀ."""
    y = F.linear(x, weight[(i, n)])
    a, b = lora[(i, n)]
    h = F.linear(x, a.to(bf))
    return torch.addmm(y.reshape(-1, y.shape[-1]), h.reshape(-1, RANK), (b * SCALE).to(bf).t()).view(y.shape)


def rms_norm(x, w):
    xf = x.float()
    var = xf.pow(2).mean(-1, keepdim=True)
    return (xf * (var + EPS).rsqrt()).to(x.dtype) * w


def rotate_half(x):
    a, b = x.chunk(2, -1)
    return torch.cat([-b, a], -1)


inv = (torch.arange(0, D, 2).float() / D * -math.log(cfg["rope_theta"])).exp()
freqs = torch.outer(torch.arange(T, dtype=torch.float), inv)
emb = torch.cat([freqs, freqs], -1)
cos, sin = emb.cos().to(bf), emb.sin().to(bf)
ids = torch.randint(0, cfg["vocab_size"], (BATCH, T))
labels = ids.clone()
labels[:, :T - LABELLED] = -100


def step():
    x = F.embedding(ids, W["model.embed_tokens.weight"])
    for i in range(L):
        h = rms_norm(x, W[f"model.layers.{i}.input_layernorm.weight"])
        q = linear(h, i, "q").view(BATCH, T, H, D).transpose(1, 2)
        k = linear(h, i, "k").view(BATCH, T, KVH, D).transpose(1, 2)
        v = linear(h, i, "v").view(BATCH, T, KVH, D).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        x = x + linear(y.transpose(1, 2).reshape(BATCH, T, H * D), i, "o")
        h = rms_norm(x, W[f"model.layers.{i}.post_attention_layernorm.weight"])
        x = x + linear(F.silu(linear(h, i, "gate")) * linear(h, i, "up"), i, "down")
    hidden = rms_norm(x, W["model.norm.weight"])
    keep = labels[:, 1:] != -100
    states, targets = hidden[:, :-1][keep], labels[:, 1:][keep]
    cut = states.detach().requires_grad_()
    logits = F.linear(cut, W["model.embed_tokens.weight"]).float()
    (F.cross_entropy(logits, targets, reduction="sum") / len(targets)).backward()
    states.backward(cut.grad)


def main():
    for _ in range(2):
        step()
    start = time.perf_counter()
    for _ in range(3):
        step()
    secs = (time.perf_counter() - start) / 3
    print(f"one step: {secs * 1e3:.0f} ms, {BATCH * T / secs:.0f} tokens/s")
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=16))


if __name__ == "__main__":
    main()
