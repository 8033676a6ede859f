#!/usr/bin/env python3
"""`just bench-eval`: evaluation throughput (answers per minute), `tunedeck eval` against the
same work through transformers + PEFT, side by side in one run.

The work is the three-part test on the bundled demo: a seeded sample of training records
(the exam), the sealed test split (the interview) and part of the bundled guard set, each
question answered greedily by the base model and by base + adapter, plus the perplexity of
every guard reference under both. tunedeck runs first; its eval.json gives the exact
questions, in order, which the peer then answers with `generate` (the same chat template,
the same stop token, the same token limit). Model loading is excluded on both sides; plugging
in the adapter is included on both. The answers are compared: throughput bought with
different output does not count.

The adapter is BENCH_ADAPTER when set (e.g. a trained runs/<id>/adapter), else a PEFT LoRA
adapter with small random B so that it changes the answers a little.
"""

import json
import os
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
           "--exam-size", str(EXAM), "--max-new-tokens", str(NEW), "--device", "cpu", "--out", out]
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

    def answer_all(m):
        out, tokens, ppl = [], 0, []
        for part, prompt, reference in questions:
            text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                           add_generation_prompt=True)
            ids = tok(text, return_tensors="pt", add_special_tokens=False).input_ids
            with torch.no_grad():
                gen = m.generate(ids, max_new_tokens=NEW, do_sample=False, eos_token_id=end, pad_token_id=end)
            new = gen[0, ids.shape[1]:].tolist()
            if new and new[-1] == end:
                new = new[:-1]
            tokens += len(new)
            out.append(tok.decode(new, skip_special_tokens=True))
            if part == "guard":
                ref = tok(reference + "<|im_end|>", return_tensors="pt", add_special_tokens=False).input_ids
                full = torch.cat([ids, ref], dim=1)
                with torch.no_grad():
                    logp = m(full).logits[0, :-1].log_softmax(-1)
                picked = logp[ids.shape[1] - 1:].gather(1, full[0, ids.shape[1]:, None])
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
        ours = tunedeck(split, guard, adapter, os.path.join(tmp, "eval.json"))
        theirs = peer(ours, adapter)

    t = ours["timing"]
    apm_a, apm_b = t["answers_per_minute"], theirs["answers"] * 60 / theirs["seconds"]
    items = [i for p in ours["parts"] for i in p["items"]]
    pairs = [(i["base"]["text"], b) for i, b in zip(items, theirs["base"])]
    pairs += [(i["adapter"]["text"], a) for i, a in zip(items, theirs["adapter"])]
    same = sum(x.strip() == y.strip() for x, y in pairs)
    print(f"{MODEL}: {len(items)} questions ({EXAM} exam, {len(items) - EXAM - GUARD_N} interview, {GUARD_N} guard) "
          f"x 2 models (base, base + adapter), greedy, at most {NEW} new tokens, guard perplexities, "
          f"float32, CPU, {theirs['threads']} threads; model loading excluded")
    print(f"tunedeck      {apm_a:6.1f} answers/min  ({t['answers']} answers, {t['seconds']:.0f} s, "
          f"{t['tokens_per_second']:.1f} generated tokens/s)")
    print(f"transformers  {apm_b:6.1f} answers/min  ({theirs['answers']} answers, {theirs['seconds']:.0f} s, "
          f"{theirs['tokens'] / theirs['seconds']:.1f} generated tokens/s)")
    print(f"ratio tunedeck/transformers: {apm_a / apm_b:.2f}x")
    print(f"identical answers: {same} of {len(pairs)}")
    guard = [i for p in ours["parts"] if p["part"] == "guard" for i in p["items"]]
    mine = [i["base"]["scores"]["perplexity"] for i in guard] + [i["adapter"]["scores"]["perplexity"] for i in guard]
    worst = max(abs(x - y) / y for x, y in zip(mine, theirs["ppl"]))
    print(f"guard reference perplexities: largest relative difference {worst:.1e}")


if __name__ == "__main__":
    sys.exit(main())
