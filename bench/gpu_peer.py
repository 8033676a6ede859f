#!/usr/bin/env python3
"""The transformers + PEFT half of bench/gpu.sh: the same random model, sequences, batch
order, LoRA settings and optimizer as the tunedeck run in WORK, on the GPU, with SDPA
attention and (non-reentrant) gradient checkpointing. Prints one JSON line.

usage: gpu_peer.py WORK STEPS BATCH SEQ [DEVICE DTYPE]   (default cuda bfloat16)
"""

import json
import math
import os
import sys
import time

import torch
import transformers
import peft

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import splitmix_order  # tunedeck's shuffle, reproduced  # noqa: E402

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def main():
    work, steps, batch, seq = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    device = sys.argv[5] if len(sys.argv) > 5 else "cuda"
    dtype = getattr(torch, sys.argv[6] if len(sys.argv) > 6 else "bfloat16")
    cuda = device == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    model_dir = os.path.join(work, "model")
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    enc = lambda t: tok(t, add_special_tokens=False).input_ids
    seqs = []
    for line in open(os.path.join(work, "data", "train.jsonl")):
        r = json.loads(line)
        prompt = r["instruction"] + ("\n" + r["input"] if r.get("input") else "")
        p = enc(f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n")
        a = enc(r["output"] + "<|im_end|>")
        # tunedeck's (LLaMA-Factory's) truncation for a short prompt and a long answer.
        a = a[: max(seq - len(p), 0)]
        seqs.append((p + a, [-100] * len(p) + a))

    model = transformers.AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=dtype, attn_implementation="sdpa"
    ).to(device)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    cfg = peft.LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM")
    model = peft.get_peft_model(model, cfg)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8)
    per_epoch = max(1, math.ceil(len(seqs) / batch))
    losses, times, tokens = [], [], []
    sync()
    start = time.perf_counter()
    for step in range(steps):
        order = splitmix_order(len(seqs), 42, step // per_epoch, [len(s[0]) for s in seqs])
        w = step % per_epoch
        rows = [seqs[i] for i in order[w * batch:(w + 1) * batch]]
        t = max(len(s[0]) for s in rows)
        ids = torch.tensor([s[0] + [tok.pad_token_id] * (t - len(s[0])) for s in rows]).to(device)
        labels = torch.tensor([s[1] + [-100] * (t - len(s[1])) for s in rows]).to(device)
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())  # synchronises
        times.append(time.perf_counter() - start)
        tokens.append(sum(len(s[0]) for s in rows))
    # Steady state, as for tunedeck: from the end of step 2 to the last step.
    tps = sum(tokens[2:]) / (times[-1] - times[1]) if steps > 2 else float("nan")
    print(json.dumps({
        "tokens_per_s": tps,
        "losses": losses,
        "max_memory_allocated_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
    }))


if __name__ == "__main__":
    main()
