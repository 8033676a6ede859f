#!/usr/bin/env python3
"""Reference fixtures for tunedeck's tests, computed with Hugging Face transformers, PEFT and
gguf-py. Run through `just fixtures`; the outputs under tests/fixtures/ are committed so that
`just test` needs no Python.

What it writes:
  tiny-llama/, tiny-qwen2/   tiny random models in Hugging Face layout (+ a tiny BPE tokenizer)
  gguf/tiny-llama.gguf, gguf/tiny-qwen2.gguf
                             the same architectures as GGUF with mixed quantisation (F32, F16,
                             BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K); Llama's q/k rows
                             permuted the way llama.cpp's converter does
  gguf/quants.gguf, gguf/quants.json
                             one tensor per type with gguf-py's dequantised values
  reference.json             token ids and per-token log-probabilities for varied text, from
                             transformers (float32, CPU), for every model above and for the real
                             SmolLM2-135M-Instruct GGUF when --smollm2 FILE is given
  peft-tiny-llama/           a PEFT LoRA adapter (random A and B) for tiny-llama, written by PEFT;
                             reference.json has PEFT's log-probabilities with it
  peft-step/                 one training batch (ids, labels) with PEFT's loss and LoRA gradients
  tunedeck-adapter/          an adapter trained by tunedeck (--tunedeck BIN) on tiny-llama;
                             reference.json has the log-probabilities PEFT gives with it loaded
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch
import gguf
from gguf.quants import dequantize, quantize
from gguf import GGMLQuantizationType as Q
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, Regex, processors
import transformers

TEXTS = [
    "Hello, world! How are you today?",
    "机器学习是人工智能的一个分支。我们今天学习微调。",
    "def add(a, b):\n    return a + b\n\nprint(add(2, 40))",
    "Emoji test: 🚀🔥 done 👍🏽 ok",
    "spaces    and\ttabs\n\n\nnewlines   end",
    "Numbers: 1234567 and 3.14159, the year 2026.",
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
]

CORPUS = TEXTS + [
    "The quick brown fox jumps over the lazy dog. " * 3,
    "SELECT * FROM users WHERE id = ?; -- parameterised queries prevent SQL injection",
    "微调不是炼丹，而是工程。目标、数据、参数、观察、考试。",
    "for (int i = 0; i < n; i++) { sum += a[i]; }",
    "Severity: High\nVulnerability: SQL injection (CWE-89)\nExplanation: user input reaches the query.\nFix: bind parameters.",
]

QWEN2_SPLIT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a tiny test model.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_tokenizer(pre: str) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    if pre == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(r"\p{N}"), behavior="isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False)]
        )
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
             pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
        )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=420, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(CORPUS * 4, trainer)
    return tok


def write_tokenizer(tok: Tokenizer, out: str):
    tok.save(os.path.join(out, "tokenizer.json"))
    cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<|im_start|>",
        "eos_token": "<|im_end|>",
        "pad_token": "<|im_end|>",
        "unk_token": "<|endoftext|>",
        "add_bos_token": False,
        "clean_up_tokenization_spaces": False,
        "chat_template": CHAT_TEMPLATE,
        "model_max_length": 512,
    }
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def tiny_model(arch: str, vocab: int):
    common = dict(
        vocab_size=vocab, hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )
    if arch == "llama":
        cfg = transformers.LlamaConfig(**common, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)
        model = transformers.LlamaForCausalLM(cfg)
    else:
        cfg = transformers.Qwen2Config(**common, rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True)
        model = transformers.Qwen2ForCausalLM(cfg)
    # Default init (std 0.02) gives near-uniform logits that would hide mistakes: use larger
    # weights and non-trivial norm scales.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.uniform_(0.5, 1.5)
            else:
                p.normal_(0.0, 0.15)
    return model.eval()


def logprobs(model, ids):
    with torch.no_grad():
        x = torch.tensor([ids])
        lp = torch.log_softmax(model(x).logits[0].float(), -1)
        return [None] + [lp[i - 1, ids[i]].item() for i in range(1, len(ids))]


def reference(model, tok_encode):
    out = []
    for t in TEXTS:
        ids = tok_encode(t)
        out.append({"text": t, "ids": ids, "logprobs": logprobs(model, ids)})
    return out


# --- GGUF ---------------------------------------------------------------------------------

def permute(w, n_head):
    """llama.cpp's convert_hf_to_gguf permutation of q/k rows for interleaved RoPE."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def random_kquant(rng, qtype, n_elems):
    """Valid random blocks of a K-quant type (gguf-py can dequantise but not quantise these)."""
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    n_blocks = n_elems // block
    raw = rng.integers(0, 256, size=(n_blocks, size), dtype=np.uint8)
    f16 = lambda v: np.frombuffer(np.float16(v).tobytes(), dtype=np.uint8)
    for b in range(n_blocks):
        if qtype in (Q.Q4_K, Q.Q5_K):
            raw[b, 0:2] = f16(rng.uniform(0.002, 0.01))
            raw[b, 2:4] = f16(rng.uniform(0.002, 0.01))
        elif qtype == Q.Q6_K:
            raw[b, 192:208] = rng.integers(-12, 12, size=16).astype(np.int8).view(np.uint8)
            raw[b, 208:210] = f16(rng.uniform(0.001, 0.004))
    return raw.reshape(-1)


def to_gguf_tensor(rng, w, qtype):
    """(raw data for GGUF, the values it dequantises to) for a float32 array."""
    if qtype == Q.F32:
        return w.astype(np.float32), w.astype(np.float32)
    if qtype == Q.F16:
        h = w.astype(np.float16)
        return h, h.astype(np.float32)
    if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
        raw = random_kquant(rng, qtype, w.size)
    else:
        raw = quantize(w.astype(np.float32), qtype)
    raw = raw.reshape(w.shape[0], -1) if w.ndim == 2 else raw
    deq = dequantize(raw, qtype).reshape(w.shape).astype(np.float32)
    return raw, deq


GGUF_NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
}
LAYER_NAMES = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down", "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
}


def gguf_name(hf):
    if hf in GGUF_NAMES:
        return GGUF_NAMES[hf]
    parts = hf.split(".")
    layer, kind = parts[2], parts[-1]
    module = ".".join(parts[3:-1])
    return f"blk.{layer}.{LAYER_NAMES[module]}.{kind}"


def rope_theta(cfg):
    # transformers 5 keeps it in rope_parameters; 4.x as a top-level attribute.
    params = getattr(cfg, "rope_parameters", None) or {}
    return params.get("rope_theta", getattr(cfg, "rope_theta", 10000.0))


def write_gguf(path, arch, model, tok: Tokenizer, pre, types, k_types, seed):
    """Write `model` as GGUF with tensor types chosen from `types` in turn; returns a copy of
    the model holding exactly the dequantised weights."""
    rng = np.random.default_rng(seed)
    cfg = model.config
    w = gguf.GGUFWriter(path, arch)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(rope_theta(cfg))
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(cfg.vocab_size)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    vocab = tok.get_vocab()
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    w.add_token_list(tokens)
    w.add_token_types([3 if t in SPECIALS else 1 for t in tokens])
    merges = json.loads(tok.to_str())["model"]["merges"]
    w.add_token_merges([" ".join(m) if isinstance(m, list) else m for m in merges])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_pad_token_id(2)
    w.add_add_bos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)

    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    if cfg.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    deq_state = {}
    i = 0
    for name in sorted(state):
        t = state[name].astype(np.float32)
        if arch == "llama" and name.endswith("q_proj.weight"):
            t = permute(t, cfg.num_attention_heads)
        elif arch == "llama" and name.endswith("k_proj.weight"):
            t = permute(t, cfg.num_key_value_heads)
        if t.ndim == 1:
            raw, deq = t, t
        else:
            # K-quants need rows of 256 values: only down_proj (in = intermediate 256) has them.
            pool = k_types if t.shape[1] % 256 == 0 else types
            qtype = pool[i % len(pool)]
            i += 1
            raw, deq = to_gguf_tensor(rng, t, qtype)
        if arch == "llama" and name.endswith("q_proj.weight"):
            deq = unpermute(deq, cfg.num_attention_heads)
        elif arch == "llama" and name.endswith("k_proj.weight"):
            deq = unpermute(deq, cfg.num_key_value_heads)
        deq_state[name] = torch.from_numpy(np.ascontiguousarray(deq))
        if t.ndim == 1 or raw.dtype in (np.float32, np.float16):
            w.add_tensor(gguf_name(name), raw)
        else:
            w.add_tensor(gguf_name(name), raw, raw_shape=raw.shape, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    import copy
    m2 = copy.deepcopy(model)
    if cfg.tie_word_embeddings:
        deq_state["lm_head.weight"] = deq_state["model.embed_tokens.weight"]
    m2.load_state_dict(deq_state)
    return m2.eval()


def quant_fixture(out_dir):
    rng = np.random.default_rng(7)
    path = os.path.join(out_dir, "quants.gguf")
    w = gguf.GGUFWriter(path, "llama")
    values = {}
    for qtype in [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q4_K, Q.Q5_K, Q.Q6_K]:
        x = rng.normal(0, 1, size=(2, 256)).astype(np.float32)
        name = qtype.name.lower()
        if qtype in (Q.F32, Q.F16):
            raw, deq = to_gguf_tensor(rng, x, qtype)
            w.add_tensor(name, raw)
        else:
            if qtype in (Q.Q4_K, Q.Q5_K, Q.Q6_K):
                raw = random_kquant(rng, qtype, x.size).reshape(2, -1)
            else:
                raw = quantize(x, qtype)
            deq = dequantize(raw, qtype).reshape(x.shape)
            w.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=qtype)
        values[name] = [float(v) for v in np.asarray(deq, dtype=np.float32).reshape(-1)]
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with open(os.path.join(out_dir, "quants.json"), "w") as f:
        json.dump(values, f)


# --- PEFT -----------------------------------------------------------------------------------

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def tiny_llama(out_dir):
    m = transformers.AutoModelForCausalLM.from_pretrained(os.path.join(out_dir, "tiny-llama"), dtype=torch.float32)
    tok = Tokenizer.from_file(os.path.join(out_dir, "tiny-llama", "tokenizer.json"))
    return m.eval(), (lambda t: tok.encode(t, add_special_tokens=False).ids)


def peft_fixtures(out_dir, ref):
    import peft
    from safetensors.torch import save_file

    torch.manual_seed(3)
    base, encode = tiny_llama(out_dir)
    cfg = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM", use_rslora=True)
    model = peft.get_peft_model(base, cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.normal_(0.0, 0.1)
    adapter_dir = os.path.join(out_dir, "peft-tiny-llama")
    shutil.rmtree(adapter_dir, ignore_errors=True)
    model.save_pretrained(adapter_dir)
    model.eval()
    ref["peft-tiny-llama"] = reference(model, encode)

    # One training step: loss and LoRA gradients for a right-padded batch of two sequences.
    ids_a = encode("<|im_start|>user\nWhat is SQL injection?<|im_end|>\n<|im_start|>assistant\n")
    resp_a = encode("Untrusted input changes the query.<|im_end|>")
    ids_b = encode("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    resp_b = encode("Hello there!<|im_end|>")
    seqs = [(ids_a + resp_a, [-100] * len(ids_a) + resp_a), (ids_b + resp_b, [-100] * len(ids_b) + resp_b)]
    t = max(len(s[0]) for s in seqs)
    input_ids = torch.tensor([s[0] + [2] * (t - len(s[0])) for s in seqs])
    labels = torch.tensor([s[1] + [-100] * (t - len(s[1])) for s in seqs])
    mask = torch.tensor([[1] * len(s[0]) + [0] * (t - len(s[0])) for s in seqs])
    model.train()
    model.zero_grad()
    loss = model(input_ids=input_ids, attention_mask=mask, labels=labels).loss
    loss.backward()
    step_dir = os.path.join(out_dir, "peft-step")
    os.makedirs(step_dir, exist_ok=True)
    grads = {}
    for name, p in model.named_parameters():
        if "lora_" in name:
            # PEFT's in-memory name has the adapter name; its files do not.
            key = name.replace(".default", "")
            grads[key] = p.grad.detach().contiguous()
    save_file(grads, os.path.join(step_dir, "grads.safetensors"))
    with open(os.path.join(step_dir, "batch.json"), "w") as f:
        json.dump({"input_ids": input_ids.tolist(), "labels": labels.tolist(), "loss": loss.item()}, f)


def tunedeck_adapter_fixture(out_dir, binary, ref):
    """Train a few steps with tunedeck, then load its adapter in PEFT."""
    import subprocess
    import tempfile
    import peft

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([binary, "data", "split", os.path.join(out_dir, "data", "good.jsonl"), "--out", os.path.join(tmp, "data")],
                       check=True, capture_output=True)
        preset = os.path.join(tmp, "tiny.toml")
        with open(preset, "w") as f:
            f.write(TINY_PRESET.format(model=os.path.abspath(os.path.join(out_dir, "tiny-llama"))))
        subprocess.run([binary, "train", "--preset", preset, "--data", os.path.join(tmp, "data"), "--out", os.path.join(tmp, "run")],
                       check=True, capture_output=True)
        dst = os.path.join(out_dir, "tunedeck-adapter")
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(os.path.join(tmp, "run", "adapter"), dst)
    base, encode = tiny_llama(out_dir)
    model = peft.PeftModel.from_pretrained(base, dst).eval()
    loaded = {n: p for n, p in model.named_parameters() if "lora_B" in n}
    assert len(loaded) == 2 * len(TARGETS), f"PEFT loaded {len(loaded)} lora_B tensors"
    assert all(p.abs().sum() > 0 for p in loaded.values()), "an adapter tensor is zero: did training run?"
    ref["tunedeck-adapter-peft"] = reference(model, encode)


TINY_PRESET = """
model = "{model}"
template = "chatml"
lora_rank = 4
lora_alpha = 8
lora_dropout = 0.0
lora_target = "all"
learning_rate = 0.01
max_steps = 3
per_device_train_batch_size = 2
gradient_accumulation_steps = 1
cutoff_len = 128
logging_steps = 1
eval_steps = 0
save_steps = 0
device = "cpu"
dtype = "float32"
seed = 7
"""


def bad_gguf_fixtures(out_dir):
    """Small GGUF files that tunedeck must refuse with a clear error."""
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(11)

    def minimal(path, arch="llama", tokens=8, embd_rows=8, extra=None):
        w = gguf.GGUFWriter(path, arch)
        w.add_block_count(0)
        w.add_context_length(64)
        w.add_embedding_length(32)
        w.add_feed_forward_length(64)
        w.add_head_count(2)
        w.add_head_count_kv(2)
        w.add_layer_norm_rms_eps(1e-5)
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("gpt2")
        w.add_token_list([f"t{i}" for i in range(tokens)])
        w.add_token_merges([])
        w.add_eos_token_id(0)
        w.add_tensor("token_embd.weight", rng.normal(size=(embd_rows, 32)).astype(np.float32))
        w.add_tensor("output_norm.weight", np.ones(32, dtype=np.float32))
        if extra:
            extra(w)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()

    minimal(os.path.join(out_dir, "unsupported-arch.gguf"), arch="mamba")
    minimal(os.path.join(out_dir, "vocab-mismatch.gguf"), tokens=6, embd_rows=8)
    q2k = lambda w: w.add_tensor("blk.0.ffn_down.weight", random_kquant(rng, Q.Q2_K, 256).reshape(1, -1),
                                 raw_shape=(1, 84), raw_dtype=Q.Q2_K)
    minimal(os.path.join(out_dir, "unsupported-type.gguf"), extra=q2k)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures")
    ap.add_argument("--smollm2", help="the SmolLM2-135M-Instruct GGUF, for its reference outputs")
    ap.add_argument("--tunedeck", help="the tunedeck binary, to train the adapter PEFT must load")
    args = ap.parse_args()
    torch.manual_seed(0)
    os.makedirs(os.path.join(args.out, "gguf"), exist_ok=True)
    ref = {"texts": TEXTS}

    for arch, pre, types, k_types in [
        ("llama", "smollm", [Q.Q8_0, Q.F16, Q.Q4_0, Q.BF16], [Q.Q4_K, Q.Q6_K]),
        ("qwen2", "qwen2", [Q.Q4_1, Q.F32, Q.Q8_0, Q.F16], [Q.Q5_K, Q.Q6_K]),
    ]:
        name = f"tiny-{arch}"
        out = os.path.join(args.out, name)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        tok = build_tokenizer(pre)
        write_tokenizer(tok, out)
        model = tiny_model(arch, tok.get_vocab_size())
        model.save_pretrained(out, safe_serialization=True)
        for extra in ["generation_config.json"]:
            p = os.path.join(out, extra)
            if os.path.exists(p):
                os.remove(p)
        encode = lambda t: tok.encode(t, add_special_tokens=False).ids
        ref[name] = reference(model, encode)
        deq_model = write_gguf(os.path.join(args.out, "gguf", f"{name}.gguf"), arch, model, tok, pre, types, k_types, seed=1)
        ref[f"{name}-gguf"] = reference(deq_model, encode)

    quant_fixture(os.path.join(args.out, "gguf"))
    bad_gguf_fixtures(os.path.join(args.out, "gguf", "bad"))

    peft_fixtures(args.out, ref)
    if args.tunedeck:
        tunedeck_adapter_fixture(args.out, args.tunedeck, ref)

    if args.smollm2:
        d, f = os.path.split(os.path.abspath(args.smollm2))
        tok = transformers.AutoTokenizer.from_pretrained(d, gguf_file=f)
        model = transformers.AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32).eval()
        ref["smollm2"] = reference(model, lambda t: tok.encode(t, add_special_tokens=False))

    with open(os.path.join(args.out, "reference.json"), "w") as fh:
        json.dump(ref, fh, indent=1, ensure_ascii=False)
    print("fixtures written to", args.out, "with transformers", transformers.__version__, "torch", torch.__version__)


if __name__ == "__main__":
    sys.exit(main())
