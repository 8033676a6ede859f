#!/usr/bin/env python3
"""LLaMA-Factory's reading of tunedeck's export, recorded for `tests/llamafactory.rs`. Run
through `just fixtures-llamafactory` (needs .venv-lf, made by scripts/venv_lf.sh); the outputs
under tests/fixtures/llamafactory/ are committed so that `just test` needs no Python.

What it does:
  1. builds a tiny experiment (tiny-llama, the eval fixture's 10 records split 8:1:1) and
     exports it with `tunedeck export llamafactory` (1 CPU process), and the built-in starter
     preset on 8 GPUs with ZeRO-3 (`--gpus 8 --sharding zero3`);
  2. runs LLaMA-Factory's own argument parser on both train.yaml files and records every
     value it accepted (parser.json); the tiny one goes through `get_train_args`, all checks
     included; the 8-GPU one through the same HfArgumentParser with the DeepSpeed key checked
     for its file and the field set only, since DeepSpeed's checks need a torchrun launch;
  3. runs `llamafactory-cli train` (launch.sh) on the CPU on the tiny export and keeps its
     trainer_log.jsonl and its PEFT adapter (adapter/);
  4. scores a few texts with transformers + PEFT with that adapter (logprobs.json);
  5. makes LLaMA-Factory fail for real — the tiny export with its training data file gone —
     and keeps what `llamafactory-cli train` printed (crash.log, crash.json), which the crash
     test replays.

Paths that differ between machines are written as {MODEL} (the tiny model's folder),
{EXPORT} (the export folder) and {VENV} (.venv-lf). `--only crash` records step 5 alone.
"""

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(FIX, "llamafactory")
TINY = os.path.join(FIX, "tiny-llama")

TEXTS = [
    "Is this query safe?\nSELECT * FROM users WHERE id = 1",
    "Severity: High\nVulnerability: SQL injection (CWE-89)",
    "Hello, world! How are you today?",
]

# The tiny run's preset; {MODEL} is tiny-llama's folder (tests/llamafactory.rs reads this file
# from the fixtures to export the same experiment).
TINY_PRESET = """model = "{MODEL}"
device = "cpu"
dtype = "float32"
lora_rank = 4
lora_alpha = 8
learning_rate = 0.005
max_steps = 12
per_device_train_batch_size = 2
gradient_accumulation_steps = 1
cutoff_len = 256
logging_steps = 1
eval_steps = 4
save_steps = 4
gradient_checkpointing = false
"""


def sh(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def experiment(tunedeck, dir, preset_name, preset_text=None):
    sh([tunedeck, "init", dir], stdout=subprocess.DEVNULL)
    shutil.copy(os.path.join(FIX, "eval", "records.jsonl"), os.path.join(dir, "data", "records.jsonl"))
    sh([tunedeck, "data", "split", os.path.join(dir, "data", "records.jsonl"), "--out", os.path.join(dir, "data")],
       stdout=subprocess.DEVNULL)
    if preset_text:
        os.makedirs(os.path.join(dir, "presets"), exist_ok=True)
        with open(os.path.join(dir, "presets", preset_name + ".toml"), "w") as f:
            f.write(preset_text)
    path = os.path.join(dir, "experiment.toml")
    text = open(path).read().replace('name = "smollm2-cpu"', f'name = "{preset_name}"')
    open(path, "w").write(text)


PARSE = r"""
import dataclasses, json, sys
from omegaconf import OmegaConf
from llamafactory.hparams import parser as P
cfg = OmegaConf.to_container(OmegaConf.load(sys.argv[1]))
full = sys.argv[2] == "full"
documented = sorted({f.name for cls in P._TRAIN_ARGS for f in dataclasses.fields(cls)})
deepspeed = cfg.pop("deepspeed", None) if not full else None
overrides = {}
if not full:
    # This machine has no GPU: transformers refuses bf16 without one unless told it is CPU.
    overrides["use_cpu"] = True
if full:
    parsed = P.get_train_args(cfg)
else:
    parsed = P._parse_train_args(dict(cfg, **overrides))
accepted = {}
for key in list(cfg) + (["deepspeed"] if deepspeed else []):
    for obj in parsed:
        if hasattr(obj, key):
            v = getattr(obj, key)
            accepted[key] = v if isinstance(v, (bool, int, float, str, type(None))) else str(v)
            break
if deepspeed:
    accepted["deepspeed"] = deepspeed
    json.load(open(deepspeed))
print(json.dumps({"accepted": accepted, "overrides": overrides, "documented_keys": documented}))
"""


def parse(venv_python, export_dir, full):
    env = dict(os.environ, DISABLE_VERSION_CHECK="1")
    out = subprocess.run([venv_python, "-c", PARSE, "train.yaml", "full" if full else "fields"],
                         cwd=export_dir, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"LLaMA-Factory's parser rejected {export_dir}/train.yaml:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def logprobs(adapter):
    import torch
    import transformers
    from peft import PeftModel

    tok = transformers.AutoTokenizer.from_pretrained(TINY)
    base = transformers.AutoModelForCausalLM.from_pretrained(TINY, dtype=torch.float32)
    model = PeftModel.from_pretrained(base, adapter).eval()
    out = []
    for t in TEXTS:
        ids = tok(t, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            lp = torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), -1)
        out.append({"text": t, "ids": ids, "logprobs": [None] + [lp[i - 1, ids[i]].item() for i in range(1, len(ids))]})
    return out


def crash(tiny_out, env, work):
    """Runs `llamafactory-cli train` as tunedeck does (in the export folder, NO_COLOR) on a copy
    of the tiny export whose training data file is gone, and keeps its whole output."""
    d = os.path.join(work, "crash-lf")
    shutil.copytree(tiny_out, d)
    os.remove(os.path.join(d, "data", "train.jsonl"))
    cli = shutil.which("llamafactory-cli", path=env["PATH"])
    out = subprocess.run([cli, "train", "train.yaml"], cwd=d, env=dict(env, NO_COLOR="1"),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if out.returncode == 0:
        sys.exit("llamafactory-cli train succeeded without its training data")
    text = out.stdout.decode("utf-8", "replace")
    venv = os.path.dirname(os.path.dirname(cli))
    for path, name in [(os.path.realpath(d), "{EXPORT}"), (d, "{EXPORT}"), (os.path.realpath(TINY), "{MODEL}"),
                       (os.path.realpath(venv), "{VENV}"), (venv, "{VENV}")]:
        text = text.replace(path, name)
    with open(os.path.join(OUT, "crash.log"), "w") as f:
        f.write(text)
    import llamafactory
    with open(os.path.join(OUT, "crash.json"), "w") as f:
        json.dump({"exit_code": out.returncode, "llamafactory": llamafactory.__version__,
                   "how": "the tiny export with data/train.jsonl removed, then `llamafactory-cli train "
                          "train.yaml` in the export folder (stdout and stderr together in crash.log)"},
                  f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tunedeck", required=True)
    ap.add_argument("--only", choices=["crash"], help="record only the crash (step 5)")
    args = ap.parse_args()
    tunedeck = os.path.abspath(args.tunedeck)
    venv_bin = os.path.dirname(os.path.abspath(sys.executable))
    python = os.path.join(venv_bin, "python")
    work = tempfile.mkdtemp(prefix="lf-fixtures-")
    os.makedirs(OUT, exist_ok=True)

    tiny_exp, starter_exp = os.path.join(work, "tiny"), os.path.join(work, "starter")
    with open(os.path.join(OUT, "tiny-preset.toml"), "w") as f:
        f.write(TINY_PRESET)
    experiment(tunedeck, tiny_exp, "tiny", TINY_PRESET.replace("{MODEL}", TINY))
    experiment(tunedeck, starter_exp, "starter")
    tiny_out, starter_out = os.path.join(work, "tiny-lf"), os.path.join(work, "starter-lf")
    sh([tunedeck, "export", "llamafactory", tiny_exp, "--out", tiny_out])
    sh([tunedeck, "export", "llamafactory", starter_exp, "--out", starter_out, "--gpus", "8", "--sharding", "zero3"])
    env = dict(os.environ, PATH=venv_bin + os.pathsep + os.environ["PATH"], DISABLE_VERSION_CHECK="1",
               CUDA_VISIBLE_DEVICES="", HF_DATASETS_CACHE=os.path.join(work, "hf-datasets"))
    crash(tiny_out, env, work)
    if args.only == "crash":
        shutil.rmtree(work)
        print("wrote", OUT, "(crash only)", file=sys.stderr)
        return

    record = {"llamafactory": None, "exports": {}}
    for name, d, full in [("tiny", tiny_out, True), ("starter_8gpu_zero3", starter_out, False)]:
        parsed = parse(python, d, full)
        yaml = open(os.path.join(d, "train.yaml")).read().replace(os.path.realpath(TINY), "{MODEL}")
        for k, v in parsed["accepted"].items():
            if isinstance(v, str):
                parsed["accepted"][k] = v.replace(os.path.realpath(TINY), "{MODEL}")
        record["exports"][name] = {"train_yaml": yaml, "checks": "get_train_args" if full else "HfArgumentParser",
                                   "accepted": parsed["accepted"], "parse_overrides": parsed["overrides"]}
        record["documented_keys"] = parsed["documented_keys"]
    import llamafactory
    record["llamafactory"] = llamafactory.__version__
    with open(os.path.join(OUT, "parser.json"), "w") as f:
        json.dump(record, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")

    start = time.time()
    sh(["bash", "launch.sh"], cwd=tiny_out, env=env)
    print(f"llamafactory-cli train took {time.time() - start:.1f} s", file=sys.stderr)
    output = os.path.join(tiny_out, "output")
    shutil.copy(os.path.join(output, "trainer_log.jsonl"), os.path.join(OUT, "trainer_log.jsonl"))
    adapter = os.path.join(OUT, "adapter")
    os.makedirs(adapter, exist_ok=True)
    for f in ["adapter_config.json", "adapter_model.safetensors"]:
        shutil.copy(os.path.join(output, f), os.path.join(adapter, f))
    cfg_path = os.path.join(adapter, "adapter_config.json")
    cfg = json.load(open(cfg_path))
    cfg["base_model_name_or_path"] = "tests/fixtures/tiny-llama"
    json.dump(cfg, open(cfg_path, "w"), indent=2, sort_keys=True)
    with open(os.path.join(OUT, "logprobs.json"), "w") as f:
        json.dump(logprobs(adapter), f, indent=1, ensure_ascii=False)
        f.write("\n")
    shutil.rmtree(work)
    print("wrote", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()
