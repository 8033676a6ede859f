#!/usr/bin/env bash
# LoRA training throughput on a GPU: tunedeck against transformers + PEFT, side by side, on a
# randomly initialised model of the Qwen2.5-7B-Instruct shape at sequence length 2048, with
# bfloat16 base weights, float32 LoRA weights (r=16 on all seven projections), gradient
# checkpointing and SDPA attention on both sides. Prints tokens/s, peak GPU memory (per
# process, from nvidia-smi) and model FLOPs utilisation.
#
#   bench/gpu.sh            the device run (needs a CUDA GPU, nvidia-smi, and a Python with
#                           torch, transformers and peft for the peer half; PY=...)
#   bench/gpu.sh --tiny     tunedeck's half only, on the CPU with a tiny Qwen2 shape: what
#                           `just test` runs so that this script cannot rot. With PEER=1 the
#                           peer half runs too, on the CPU (PY=.venv/bin/python).
#
# Environment: BIN (tunedeck binary, default target/release/tunedeck), PY (python3),
# TOKENIZER (a model directory to take the tokenizer from), STEPS, BATCH, SEQ, SHAPE (with
# --tiny: another `model init-random` shape, e.g. qwen2.5-0.5b), WORK (a
# scratch directory, default a new temporary one), PEAK_TFLOPS (790: the H200's measured
# bf16 dense ceiling).
set -euo pipefail
cd "$(dirname "$0")/.."

tiny=false
[ "${1:-}" = "--tiny" ] && tiny=true
BIN=${BIN:-target/release/tunedeck}
PY=${PY:-python3}
TOKENIZER=${TOKENIZER:-models/smollm2-135m-instruct}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
PEAK_TFLOPS=${PEAK_TFLOPS:-790}
if $tiny; then
  SHAPE=${SHAPE:-tiny-qwen2} DEVICE=cpu DTYPE=float32
  STEPS=${STEPS:-3} BATCH=${BATCH:-2} SEQ=${SEQ:-128}
else
  SHAPE=qwen2.5-7b DEVICE=cuda DTYPE=bfloat16
  STEPS=${STEPS:-12} BATCH=${BATCH:-4} SEQ=${SEQ:-2048}
fi
say() { echo "[gpu-bench] $*" >&2; }

# 1. The model: random weights of the shape, the tokenizer of a real model.
say "writing a random $SHAPE to $WORK/model"
"$BIN" model init-random --shape "$SHAPE" --tokenizer "$TOKENIZER" --out "$WORK/model" --dtype "$DTYPE" | tee "$WORK/init.txt" >&2
# "wrote a random SHAPE (N parameters, ...)": N for the FLOPs count.
n_params=$(grep -o '([0-9]* parameters' "$WORK/init.txt" | tr -dc '0-9')

# 2. The data: records whose answers are longer than SEQ tokens, so that every sequence is
#    truncated to exactly SEQ tokens (a short prompt, then the answer).
records=$(( STEPS * BATCH + 8 ))
words=$(( SEQ * 2 ))
mkdir -p "$WORK/raw"
awk -v n="$records" -v w="$words" 'BEGIN {
  split("the model reads a record and learns to answer in a fixed format with care", v, " ");
  srand(7);
  for (r = 0; r < n; r++) {
    out = "";
    for (i = 0; i < w; i++) out = out v[int(rand() * 14) + 1] " ";
    printf "{\"instruction\": \"Write record %d.\", \"input\": \"\", \"output\": \"%s\"}\n", r, out;
  }
}' > "$WORK/raw/records.jsonl"
"$BIN" data split "$WORK/raw/records.jsonl" --out "$WORK/data" --ratio 90:5:5 >&2

# 3. tunedeck.
cat > "$WORK/preset.toml" <<TOML
model = "$WORK/model"
template = "chatml"
lora_rank = 16
lora_alpha = 32
lora_dropout = 0.0
lora_target = "all"
learning_rate = 1e-4
lr_scheduler_type = "constant"
warmup_ratio = 0.0
max_steps = $STEPS
per_device_train_batch_size = $BATCH
gradient_accumulation_steps = 1
cutoff_len = $SEQ
group_by_length = false
max_grad_norm = 1.0
weight_decay = 0.0
logging_steps = 1
eval_steps = 0
save_steps = 0
device = "$DEVICE"
dtype = "$DTYPE"
gradient_checkpointing = true
seed = 42
TOML

# Peak memory of one process as nvidia-smi sees it (MiB), polled every 100 ms; on a machine
# without nvidia-smi, the peak resident memory instead.
run_measured() {
  local log=$1; shift
  "$@" > "$log" 2>&1 &
  local pid=$! peak=0 m
  while kill -0 "$pid" 2>/dev/null; do
    if command -v nvidia-smi > /dev/null; then
      m=$(nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits 2>/dev/null \
          | awk -F', ' -v p="$pid" '$1 == p {print $2}')
    else
      m=$(awk '/VmHWM/ {print int($2 / 1024)}' "/proc/$pid/status" 2>/dev/null || true)
    fi
    [ -n "${m:-}" ] && [ "$m" -gt "$peak" ] && peak=$m
    sleep 0.1
  done
  wait "$pid" || { cat "$log" >&2; return 1; }
  echo "$peak"
}

say "tunedeck: $STEPS steps of $BATCH x $SEQ tokens on $DEVICE"
ours_peak=$(run_measured "$WORK/tunedeck.log" "$BIN" train --preset "$WORK/preset.toml" --data "$WORK/data" --out "$WORK/run")
# Steady-state throughput: from the end of step 2 to the last step (the first steps warm up
# allocators and kernels on both sides).
ours_tps=$(awk -F'[:,]' '
  /"current_steps"/ {
    for (i = 1; i < NF; i++) {
      if ($i ~ /"current_steps"/) s = $(i + 1);
      if ($i ~ /"elapsed_time"/) t = $(i + 1);
      if ($i ~ /"total_tokens"/) k = $(i + 1);
    }
    if (s == 2) { t0 = t; k0 = k }
    last_t = t; last_k = k
  }
  END { if (last_t > t0) printf "%.1f", (last_k - k0) / (last_t - t0); else print "nan" }' "$WORK/run/trainer_log.jsonl")
ours_loss=$(grep -o '"loss":[0-9.e+-]*' "$WORK/run/trainer_log.jsonl" | head -3 | cut -d: -f2 \
  | awk '{printf "%s%.4f", (NR > 1 ? " " : ""), $1}')

mfu() { # tokens/s -> "x% (4N) / y% (6N)"
  awk -v t="$1" -v n="$n_params" -v p="$PEAK_TFLOPS" 'BEGIN {
    if (n == 0 || t == "nan") { print "n/a"; exit }
    printf "%.1f%% at 4N (LoRA: forward + input gradients), %.1f%% at 6N", 400 * n * t / (p * 1e12), 600 * n * t / (p * 1e12) }'
}

echo "shape $SHAPE, $DTYPE base, LoRA r=16 on all projections, batch $BATCH x $SEQ tokens, gradient checkpointing, $STEPS steps, on $DEVICE"
echo "tunedeck           ${ours_tps} tokens/s  peak memory ${ours_peak} MiB  MFU $(mfu "$ours_tps")  first losses: $ours_loss"
if $tiny && [ "${PEER:-0}" != 1 ]; then
  exit 0
fi

say "transformers + PEFT: the same model, data and settings"
peer_peak=$(run_measured "$WORK/peer.log" "$PY" bench/gpu_peer.py "$WORK" "$STEPS" "$BATCH" "$SEQ" "$DEVICE" "$DTYPE")
peer_json=$(tail -1 "$WORK/peer.log")
peer_tps=$(echo "$peer_json" | "$PY" -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["tokens_per_s"])')
peer_loss=$(echo "$peer_json" | "$PY" -c 'import json,sys; print(" ".join("%.4f" % x for x in json.load(sys.stdin)["losses"][:3]))')
echo "transformers+PEFT  ${peer_tps} tokens/s  peak memory ${peer_peak} MiB  MFU $(mfu "$peer_tps")  first losses: $peer_loss"
awk -v a="$ours_tps" -v b="$peer_tps" -v x="$ours_peak" -v y="$peer_peak" 'BEGIN {
  printf "ratio tunedeck/peer: speed %.2fx, peak memory %.2fx\n", a / b, x / y }'
