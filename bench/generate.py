#!/usr/bin/env python3
"""`just bench-generate`: greedy generation of 128 new tokens, tunedeck against transformers
`generate`, same model (the imported SmolLM2-135M-Instruct, float32, CPU), same chat prompt,
runs alternated; prints the median tokens/s of each and their ratio, and checks that both
produced the same tokens."""

import json
import statistics
import subprocess
import sys
import time

import torch
import transformers

MODEL = "models/smollm2-135m-instruct"
PROMPT = "Explain in detail how a hash table works, with an example in Python."
NEW = 128
RUNS = 3


def tunedeck():
    out = subprocess.run(
        ["target/release/examples/bench_generate", MODEL, PROMPT, str(NEW)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def main():
    tok = transformers.AutoTokenizer.from_pretrained(MODEL)
    model = transformers.AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()
    text = tok.apply_chat_template([{"role": "user", "content": PROMPT}], tokenize=False, add_generation_prompt=True)
    ids = tok(text, return_tensors="pt", add_special_tokens=False).input_ids

    def peer():
        start = time.perf_counter()
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=NEW, min_new_tokens=NEW, do_sample=False)
        secs = time.perf_counter() - start
        new = out[0, ids.shape[1]:].tolist()
        return {"seconds": secs, "tokens_per_s": len(new) / secs, "ids": new}

    ours, theirs = [], []
    for _ in range(RUNS):
        ours.append(tunedeck())
        theirs.append(peer())
    a = statistics.median(r["tokens_per_s"] for r in ours)
    b = statistics.median(r["tokens_per_s"] for r in theirs)
    same = next((i for i, (x, y) in enumerate(zip(ours[0]["ids"], theirs[0]["ids"])) if x != y), NEW)
    print(f"model {MODEL}, prompt {ids.shape[1]} tokens, {NEW} new tokens, greedy, float32, CPU, "
          f"{torch.get_num_threads()} threads, {RUNS} alternated runs")
    runs = lambda rs: ", ".join("%.1f" % r["tokens_per_s"] for r in rs)
    print(f"tunedeck      {a:8.1f} tokens/s (median; runs: {runs(ours)})")
    print(f"transformers  {b:8.1f} tokens/s (median; runs: {runs(theirs)})")
    print(f"ratio tunedeck/transformers: {a / b:.2f}x")
    print(f"identical greedy tokens: first {same} of {NEW}")


if __name__ == "__main__":
    sys.exit(main())
