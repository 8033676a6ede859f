#!/usr/bin/env python3
"""`just bench-eval`: evaluation throughput (answers per minute), `tunedeck eval` against the
same work through transformers + PEFT, side by side in one run.

The work is the three-part test on the bundled demo: a seeded sample of training records
(the exam), the sealed test split (the interview) and part of the bundled guard set, each
question answered greedily by the base model and by base + adapter, plus the perplexity of
every guard reference under both. tunedeck runs first; its eval.json gives the exact
questions, in order, which the peer then answers with `generate` (the same chat template,
the same stop token, the same token limit), both sides BENCH_BATCH sequences at a time (the
peer left-padded with an attention mask, as transformers documents batched generation). Model loading is excluded on both sides; plugging
in the adapter is included on both. The answers are compared: throughput bought with
different output does not count.

The adapter is BENCH_ADAPTER when set (e.g. a trained runs/<id>/adapter), else a PEFT LoRA
adapter with small random B so that it changes the answers a little.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

MODEL = "models/smollm2-135m-instruct"
DATASET = "datasets/security-review/records.jsonl"
GUARD = "datasets/guard/general.jsonl"
BIN = "target/release/tunedeck"
EXAM = int(os.environ.get("BENCH_EXAM", 4))
GUARD_N = int(os.environ.get("BENCH_GUARD", 8))
NEW = int(os.environ.get("BENCH_NEW_TOKENS", 64))
# Sequences generated at once on both sides: tunedeck's --batch-size, and the peer's batches
# of `generate` with left padding and an attention mask (its documented batched decoding).
BATCH = int(os.environ.get("BENCH_BATCH", 8))
# Alternated runs of both sides; medians are reported.
RUNS = int(os.environ.get("BENCH_RUNS", 3))
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make_adapter(path):
    import torch
    import transformers
    import peft

    torch.manual_seed(0)
    base = transformers.AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32)
    cfg = peft.LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM")
    pm = peft.get_peft_model(base, cfg)
    with torch.no_grad():
        for n, p in pm.named_parameters():
            if "lora_B" in n:
                p.normal_(0.0, 1e-3)
    pm.save_pretrained(path)


def tunedeck(split, guard, adapter, out):
    cmd = [BIN, "eval", "--model", MODEL, "--adapter", adapter, "--data", split, "--guard", guard,
           "--exam-size", str(EXAM), "--max-new-tokens", str(NEW), "--batch-size", str(BATCH), "--device", "cpu",
           "--out", out]
    subprocess.run(cmd, check=True, capture_output=True)
    return json.load(open(out))


def peer(report, adapter):
    """The same questions through transformers `generate`; returns timing and answers."""
    import torch
    import transformers
    import peft

    tok = transformers.AutoTokenizer.from_pretrained(MODEL)
    model = transformers.AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()
    end = tok.convert_tokens_to_ids("<|im_end|>")
    questions = [(p["part"], i["prompt"], i["reference"]) for p in report["parts"] for i in p["items"]]

    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = "<|im_end|>"
    texts = [tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
             for _, prompt, _ in questions]

    def answer_all(m):
        out, tokens = [], 0
        for at in range(0, len(texts), BATCH):
            chunk = texts[at:at + BATCH]
            enc = tok(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                gen = m.generate(**enc, max_new_tokens=NEW, do_sample=False, eos_token_id=end,
                                 pad_token_id=tok.pad_token_id)
            for row in gen[:, enc.input_ids.shape[1]:].tolist():
                if end in row:
                    row = row[:row.index(end)]
                tokens += len(row)
                out.append(tok.decode(row, skip_special_tokens=True))
        # Guard reference perplexities, batched too (right padding keeps positions exact).
        guard = [(t, ref) for t, (part, _, ref) in zip(texts, questions) if part == "guard"]
        ppl = []
        for at in range(0, len(guard), BATCH):
            chunk = guard[at:at + BATCH]
            prompts = [tok(t, add_special_tokens=False).input_ids for t, _ in chunk]
            refs = [tok(r + "<|im_end|>", add_special_tokens=False).input_ids for _, r in chunk]
            rows = [p + r for p, r in zip(prompts, refs)]
            width = max(map(len, rows))
            ids = torch.tensor([r + [tok.pad_token_id] * (width - len(r)) for r in rows])
            mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
            with torch.no_grad():
                logp = m(input_ids=ids, attention_mask=mask).logits.log_softmax(-1)
            for i, (p, r) in enumerate(zip(prompts, refs)):
                picked = logp[i, len(p) - 1:len(p) + len(r) - 1].gather(1, ids[i, len(p):len(p) + len(r), None])
                ppl.append(float((-picked.mean()).exp()))
        return out, tokens, ppl

    start = time.perf_counter()
    base, t1, p1 = answer_all(model)
    model = peft.PeftModel.from_pretrained(model, adapter).eval()
    tuned, t2, p2 = answer_all(model)
    secs = time.perf_counter() - start
    return {"seconds": secs, "answers": 2 * len(questions), "tokens": t1 + t2, "base": base, "adapter": tuned, "ppl": p1 + p2,
            "threads": torch.get_num_threads()}


def main():
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        split = os.path.join(tmp, "data")
        subprocess.run([BIN, "data", "split", DATASET, "--out", split], check=True, capture_output=True)
        guard = os.path.join(tmp, "guard.jsonl")
        with open(GUARD) as src, open(guard, "w") as dst:
            dst.writelines(src.readlines()[:GUARD_N])
        adapter = os.environ.get("BENCH_ADAPTER")
        if not adapter:
            adapter = os.path.join(tmp, "adapter")
            make_adapter(adapter)
        # Alternated, so that a slow spell of this shared machine falls on both sides.
        for _ in range(RUNS):
            ours = tunedeck(split, guard, adapter, os.path.join(tmp, "eval.json"))
            theirs = peer(ours, adapter)
            runs.append((ours, theirs))

    ours, theirs = runs[-1]
    items = [i for p in ours["parts"] for i in p["items"]]
    mine_apm = [o["timing"]["answers_per_minute"] for o, _ in runs]
    peer_apm = [t["answers"] * 60 / t["seconds"] for _, t in runs]
    apm_a, apm_b = statistics.median(mine_apm), statistics.median(peer_apm)
    print(f"{MODEL}: {len(items)} questions ({EXAM} exam, {len(items) - EXAM - GUARD_N} interview, {GUARD_N} guard) "
          f"x 2 models (base, base + adapter), greedy, at most {NEW} new tokens, guard perplexities, "
          f"float32, CPU, {theirs['threads']} threads, batches of {BATCH} on both sides, {RUNS} alternated runs "
          f"(medians); model loading excluded")
    t = ours["timing"]
    print(f"tunedeck      {apm_a:6.1f} answers/min  (runs {', '.join(f'{x:.1f}' for x in mine_apm)}; "
          f"{t['answers']} answers, last run {t['seconds']:.0f} s)")
    print(f"transformers  {apm_b:6.1f} answers/min  (runs {', '.join(f'{x:.1f}' for x in peer_apm)}; "
          f"{theirs['answers']} answers, last run {theirs['seconds']:.0f} s)")
    print(f"ratio tunedeck/transformers: {apm_a / apm_b:.2f}x (per run: "
          f"{', '.join(f'{a / b:.2f}x' for a, b in zip(mine_apm, peer_apm))})")
    for n, (ours, theirs) in enumerate(runs, 1):
        items = [i for p in ours["parts"] for i in p["items"]]
        # tunedeck stops an answer once its repetition detector calls it a runaway (counted
        # wrong either way); such an answer must be where the peer's full answer starts.
        pairs = [(i["base"], b) for i, b in zip(items, theirs["base"])]
        pairs += [(i["adapter"], a) for i, a in zip(items, theirs["adapter"])]
        cut = sum(bool(x["scores"].get("cut")) for x, _ in pairs)
        same = sum(x["text"].strip() == y.strip() or (x["scores"].get("cut") and y.startswith(x["text"].rstrip()))
                   for x, y in pairs)
        guard = [i for p in ours["parts"] if p["part"] == "guard" for i in p["items"]]
        mine = [i["base"]["scores"]["perplexity"] for i in guard] + [i["adapter"]["scores"]["perplexity"] for i in guard]
        worst = max(abs(x - y) / y for x, y in zip(mine, theirs["ppl"]))
        print(f"run {n}: identical answers {same} of {len(pairs)} ({cut} cut early by tunedeck as runaways, "
              f"compared as prefixes); guard reference perplexities within {worst:.1e} relative")


if __name__ == "__main__":
    sys.exit(main())
