#!/usr/bin/env python3
"""llama.cpp's view of what `tunedeck export` writes, recorded for tests/export_llama_cpp.rs.
Run through `just fixtures-export` (llama-cpp-python in .venv-llama); the outputs are
committed so that `just test` needs no Python.

What it writes under tests/fixtures/export/:
  smollm2-adapter/   a small deterministic LoRA adapter for SmolLM2-135M-Instruct (PEFT layout,
                     rank 2 on q/k/v, float16, seeded numpy values)
  llama_cpp.json     for the F16 export of SmolLM2 merged with that adapter, and for the
                     --lora-only export (base GGUF + LoRA GGUF): the files' sha256, llama.cpp's
                     token ids for the tokenizer test texts, the chat prompts as llama.cpp's
                     Jinja renders the exported chat template, and llama.cpp's greedy answers
                     (token ids) to the chat prompts, merged and with the LoRA applied.
"""

import argparse
import ast
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

# The tokenizer test texts of scripts/gen_fixtures.py (that script imports torch and
# transformers at the top, so its list is read from the source rather than imported).
TEXTS = ast.literal_eval(
    re.search(r"^TEXTS = (\[.*?^\])", (Path(__file__).parent / "gen_fixtures.py").read_text(), re.S | re.M).group(1)
)

PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Give me three tips for learning to code.",
    "What is 12 plus 30?",
    "Translate 'good morning' into French.",
    "Explain what a LoRA adapter is in one sentence.",
]

MAX_TOKENS = 24
# SmolLM2's default system prompt, which tunedeck's ChatML rendering puts first.
SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
END = "<|im_end|>"

# SmolLM2-135M: hidden 576, 9 heads and 3 KV heads of 64, 30 layers.
HIDDEN, LAYERS, KV = 576, 30, 192
RANK, ALPHA = 2, 4
SHAPES = {"q_proj": (HIDDEN, HIDDEN), "k_proj": (KV, HIDDEN), "v_proj": (KV, HIDDEN)}


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name]).tobytes()
        header[name] = {"dtype": "F16", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def make_adapter(out):
    """A rank-2 adapter whose updates move SmolLM2's answers without breaking them."""
    rng = np.random.default_rng(13)
    tensors = {}
    for layer in range(LAYERS):
        for module, (rows, cols) in SHAPES.items():
            key = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            tensors[f"{key}.lora_A.weight"] = rng.normal(0, 0.08, size=(RANK, cols)).astype(np.float16)
            tensors[f"{key}.lora_B.weight"] = rng.normal(0, 0.08, size=(rows, RANK)).astype(np.float16)
    os.makedirs(out, exist_ok=True)
    write_safetensors(os.path.join(out, "adapter_model.safetensors"), tensors)
    config = {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": RANK, "lora_alpha": ALPHA, "lora_dropout": 0.0,
        "target_modules": list(SHAPES), "use_rslora": False, "bias": "none", "fan_in_fan_out": False,
        "use_dora": False, "inference_mode": True, "base_model_name_or_path": "models/smollm2-135m-instruct",
    }
    with open(os.path.join(out, "adapter_config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def chatml(user):
    return f"<|im_start|>system\n{SYSTEM}{END}\n<|im_start|>user\n{user}{END}\n<|im_start|>assistant\n"


def answers(llm):
    end = llm.token_eos()
    out = []
    for p in PROMPTS:
        ids = llm.tokenize(chatml(p).encode(), add_bos=False, special=True)
        llm.reset()
        got = []
        for t in llm.generate(ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, reset=True):
            if t == end or len(got) == MAX_TOKENS:
                break
            got.append(int(t))
        out.append({"prompt": p, "ids": got, "text": llm.detokenize(got).decode("utf-8", "replace")})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tunedeck", required=True, help="the tunedeck binary")
    ap.add_argument("--model", default="models/smollm2-135m-instruct")
    ap.add_argument("--out", default="tests/fixtures/export")
    args = ap.parse_args()
    import llama_cpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    adapter = os.path.join(args.out, "smollm2-adapter")
    make_adapter(adapter)
    rec = {"llama_cpp_python": llama_cpp.__version__, "max_tokens": MAX_TOKENS, "texts": TEXTS, "prompts": PROMPTS}
    with tempfile.TemporaryDirectory() as tmp:
        merged_dir, lora_dir = os.path.join(tmp, "merged"), os.path.join(tmp, "lora")
        for extra, to in [([], merged_dir), (["--lora-only"], lora_dir)]:
            subprocess.run([args.tunedeck, "export", adapter, "--model", args.model, "--to", to, "--quant", "f16", *extra],
                           check=True)
        merged = next(os.path.join(merged_dir, f) for f in os.listdir(merged_dir) if f.endswith(".gguf"))
        base = next(os.path.join(lora_dir, f) for f in os.listdir(lora_dir) if f.endswith(".f16.gguf"))
        lora = next(os.path.join(lora_dir, f) for f in os.listdir(lora_dir) if f.endswith(".lora.gguf"))
        rec["sha256"] = {"merged": sha256(merged), "base": sha256(base), "lora": sha256(lora)}

        common = dict(n_ctx=512, n_threads=2, n_batch=512, seed=0, verbose=False)
        llm = llama_cpp.Llama(model_path=merged, **common)
        rec["tokens"] = [llm.tokenize(t.encode(), add_bos=False, special=True) for t in TEXTS]
        template = llm.metadata["tokenizer.chat_template"]
        fmt = Jinja2ChatFormatter(template=template, eos_token=END, bos_token="<|im_start|>")
        conversation = [
            {"role": "system", "content": "You answer in one word."},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "And of Italy?"},
        ]
        rec["jinja"] = {
            "with_system": fmt(messages=conversation).prompt,
            "default_system": fmt(messages=conversation[1:]).prompt,
        }
        rec["merged"] = answers(llm)
        del llm
        llm = llama_cpp.Llama(model_path=base, lora_path=lora, **common)
        rec["lora"] = answers(llm)
        del llm
        llm = llama_cpp.Llama(model_path=base, **common)
        rec["base"] = answers(llm)
        del llm
    with open(os.path.join(args.out, "llama_cpp.json"), "w") as f:
        json.dump(rec, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for side in ["base", "merged", "lora"]:
        print(side, [a["text"] for a in rec[side]])
    print("fixtures written to", args.out, "with llama-cpp-python", llama_cpp.__version__)


if __name__ == "__main__":
    sys.exit(main())
