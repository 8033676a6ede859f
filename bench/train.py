#!/usr/bin/env python3
"""`just bench-train`: LoRA training speed and memory, tunedeck against transformers + PEFT,
side by side on the same model, data, batches, LoRA init, schedule and optimizer.

Both start from one PEFT-initialised adapter (B made non-zero so that every parameter learns
from step 1), train STEPS optimizer steps on the bundled demo's training split with the same
batch order (tunedeck's SplitMix64 shuffle, reproduced here), and report training tokens/s
(load time excluded), peak resident memory (each run in its own process), and the loss at
every step: speed bought with different maths does not count, so the losses must agree.
Runs alternate, RUNS of each; medians are reported.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

# BENCH_SHAPE=qwen2.5-0.5b trains a randomly initialised model of that shape instead (written
# by `tunedeck model init-random`, with SmolLM2's tokenizer); the children inherit its path
# through BENCH_MODEL_DIR.
SHAPE = os.environ.get("BENCH_SHAPE", "smollm2-135m")
MODEL = os.environ.get("BENCH_MODEL_DIR", "models/smollm2-135m-instruct")
DATASET = "datasets/security-review/records.jsonl"
STEPS = int(os.environ.get("BENCH_STEPS", 8))
RUNS = int(os.environ.get("BENCH_RUNS", 3))
BATCH = 4
RANK = 16
ALPHA = 32
LR = 3e-4
SEED = 42
CUTOFF = 512
# float32, or bfloat16: base weights in bfloat16 with float32 LoRA weights on both sides
# (PEFT's default autocast_adapter_dtype), which CPUs with AMX run several times faster.
# autocast: tunedeck's bfloat16 base against the peer's float32 model run under
# torch.autocast("cpu", bfloat16), PyTorch's documented CPU mixed precision.
DTYPE = os.environ.get("BENCH_DTYPE", "float32")
AUTOCAST = DTYPE == "autocast"
OUR_DTYPE = "bfloat16" if AUTOCAST else DTYPE
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
BIN = "target/release/tunedeck"
MODEL_TOKENIZER = "models/smollm2-135m-instruct"

PRESET = """
model = "{model}"
template = "chatml"
lora_rank = {RANK}
lora_alpha = {ALPHA}
lora_dropout = 0.0
lora_target = "all"
learning_rate = {LR}
lr_scheduler_type = "cosine"
warmup_ratio = 0.1
max_steps = {STEPS}
per_device_train_batch_size = {BATCH}
gradient_accumulation_steps = 1
cutoff_len = {CUTOFF}
group_by_length = true
max_grad_norm = 1.0
weight_decay = 0.0
logging_steps = 1
eval_steps = 0
save_steps = 0
device = "cpu"
dtype = "{DTYPE}"
seed = {SEED}
# As the peer trains: every layer's activations kept (the preset default recomputes them).
gradient_checkpointing = false
"""


def splitmix_order(n, seed, epoch, lengths):
    """tunedeck's per-epoch shuffle with group_by_length (src/train/schedule.rs)."""
    mask = (1 << 64) - 1
    state = (seed * 1_000_003 + epoch) & mask

    def nxt():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & mask
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    idx = list(range(n))
    for i in range(n - 1, 0, -1):
        j = nxt() % (i + 1)
        idx[i], idx[j] = idx[j], idx[i]
    window = BATCH * 8
    out = []
    for w in range(0, n, window):
        out += sorted(idx[w:w + window], key=lambda i: -lengths[i])
    return out


def peer(split_dir, init_adapter):
    """transformers + PEFT on the same batches; prints one JSON line."""
    import math
    import torch
    import transformers
    import peft

    tok = transformers.AutoTokenizer.from_pretrained(MODEL)
    model = transformers.AutoModelForCausalLM.from_pretrained(MODEL, dtype=getattr(torch, "float32" if AUTOCAST else DTYPE))
    model = peft.PeftModel.from_pretrained(model, init_adapter, is_trainable=True)
    model.train()
    records = [json.loads(l) for l in open(os.path.join(split_dir, "train.jsonl"))]
    enc = lambda t: tok(t, add_special_tokens=False).input_ids
    seqs = []
    for r in records:
        prompt = r["instruction"] + ("\n" + r["input"] if r.get("input") else "")
        p = enc(f"<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n")
        a = enc(r["output"] + "<|im_end|>")
        seqs.append((p + a, [-100] * len(p) + a))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=0.0, betas=(0.9, 0.999), eps=1e-8)
    sched = transformers.get_cosine_schedule_with_warmup(opt, math.ceil(0.1 * STEPS), STEPS)
    per_epoch = max(1, math.ceil(len(seqs) / BATCH))
    losses, tokens = [], 0
    start = time.perf_counter()
    for step in range(STEPS):
        order = splitmix_order(len(seqs), SEED, step // per_epoch, [len(s[0]) for s in seqs])
        w = step % per_epoch
        batch = [seqs[i] for i in order[w * BATCH:(w + 1) * BATCH]]
        t = max(len(s[0]) for s in batch)
        ids = torch.tensor([s[0] + [tok.pad_token_id] * (t - len(s[0])) for s in batch])
        labels = torch.tensor([s[1] + [-100] * (t - len(s[1])) for s in batch])
        mask = torch.tensor([[1] * len(s[0]) + [0] * (t - len(s[0])) for s in batch])
        tokens += sum(len(s[0]) for s in batch)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=AUTOCAST):
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        losses.append(loss.item())
    secs = time.perf_counter() - start
    print(json.dumps({"tokens": tokens, "seconds": secs, "losses": losses, "threads": torch.get_num_threads()}))


def child_rss_run(cmd):
    """Run cmd as a child; return (stdout, peak RSS MiB) measured by wait4 for that child only."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err.decode()}")
    return out.decode(), usage.ru_maxrss / 1024


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--peer":
        return peer(sys.argv[2], sys.argv[3])
    import torch
    import transformers
    import peft

    global MODEL
    with tempfile.TemporaryDirectory() as tmp:
        if SHAPE != "smollm2-135m" and "BENCH_MODEL_DIR" not in os.environ:
            MODEL = os.path.join(tmp, "model")
            subprocess.run([BIN, "model", "init-random", "--shape", SHAPE, "--tokenizer", MODEL_TOKENIZER,
                            "--out", MODEL, "--dtype", "float32"], check=True, capture_output=True)
            os.environ["BENCH_MODEL_DIR"] = MODEL
        split = os.path.join(tmp, "data")
        subprocess.run([BIN, "data", "split", DATASET, "--out", split], check=True, capture_output=True)
        # One shared initial adapter, written by PEFT; B is made non-zero so A learns at once.
        torch.manual_seed(0)
        base = transformers.AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32)
        cfg = peft.LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM")
        pm = peft.get_peft_model(base, cfg)
        with torch.no_grad():
            for n, p in pm.named_parameters():
                if "lora_B" in n:
                    p.normal_(0.0, 1e-3)
        init = os.path.join(tmp, "init")
        pm.save_pretrained(init)
        del pm, base
        preset = os.path.join(tmp, "bench.toml")
        open(preset, "w").write(PRESET.format(
            model=os.path.abspath(MODEL), RANK=RANK, ALPHA=ALPHA, LR=LR, STEPS=STEPS, BATCH=BATCH,
            CUTOFF=CUTOFF, DTYPE=OUR_DTYPE, SEED=SEED))

        ours, theirs = [], []
        for r in range(RUNS):
            out_dir = os.path.join(tmp, f"run{r}")
            _, rss = child_rss_run([BIN, "train", "--preset", preset, "--data", split, "--out", out_dir, "--init-adapter", init])
            log = [json.loads(l) for l in open(os.path.join(out_dir, "trainer_log.jsonl"))]
            steps = [e for e in log if "loss" in e]
            last = steps[-1]
            ours.append({"tps": last["total_tokens"] / last["elapsed_time"], "rss": rss, "losses": [e["loss"] for e in steps]})
            out, rss = child_rss_run([sys.executable, __file__, "--peer", split, init])
            res = json.loads(out.strip().splitlines()[-1])
            theirs.append({"tps": res["tokens"] / res["seconds"], "rss": rss, "losses": res["losses"]})
            print(f"run {r + 1}: tunedeck {ours[-1]['tps']:.0f} tok/s {ours[-1]['rss']:.0f} MiB | "
                  f"transformers+PEFT {theirs[-1]['tps']:.0f} tok/s {theirs[-1]['rss']:.0f} MiB", flush=True)

    med = lambda xs, k: statistics.median(x[k] for x in xs)
    a, b = med(ours, "tps"), med(theirs, "tps")
    name = "SmolLM2-135M-Instruct" if SHAPE == "smollm2-135m" else f"random {SHAPE} shape"
    print(f"\n{name}, LoRA r={RANK} on all 7 projections, batch {BATCH}, {STEPS} steps, "
          f"{DTYPE}, CPU, {torch.get_num_threads()} threads, {RUNS} alternated runs each")
    print(f"tunedeck           {a:7.1f} tokens/s  peak RSS {med(ours, 'rss'):6.0f} MiB")
    print(f"transformers+PEFT  {b:7.1f} tokens/s  peak RSS {med(theirs, 'rss'):6.0f} MiB")
    print(f"ratio tunedeck/peer: speed {a / b:.2f}x, memory {med(ours, 'rss') / med(theirs, 'rss'):.2f}x")
    # Each run's pair ran back to back, so its ratio is the one least moved by this shared
    # host drifting faster or slower over the minutes the benchmark takes.
    pairs = [x["tps"] / y["tps"] for x, y in zip(ours, theirs)]
    print(f"speed ratio per run: {', '.join(f'{r:.2f}x' for r in pairs)} (median {statistics.median(pairs):.2f}x)")
    la, lb = ours[0]["losses"], theirs[0]["losses"]
    print("loss per step (tunedeck | peer): " + ", ".join(f"{x:.4f}|{y:.4f}" for x, y in zip(la, lb)))
    worst = max(abs(x - y) / abs(y) for x, y in zip(la, lb))
    print(f"largest relative loss difference: {worst:.2e}")


if __name__ == "__main__":
    sys.exit(main())
