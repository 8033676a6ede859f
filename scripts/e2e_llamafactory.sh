#!/usr/bin/env bash
# The whole LLaMA-Factory path, live, on this CPU (`just e2e-llamafactory`): a small demo
# experiment (20 of the bundled records, SmolLM2-135M-Instruct) exported for LLaMA-Factory;
# `tunedeck train --engine llamafactory` launches `llamafactory-cli train` in one tmux window
# while `tunedeck watch` follows the run folder in another (read back with capture-pane while
# training runs); the adapter lands in the run folder; `tunedeck eval` asks two exam, two
# interview and two guard questions. Prints each stage's time; needs .venv-lf and tmux.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
# The release build: the eval at the end is most of the run in a debug build.
BIN="${TUNEDECK_BIN:-$ROOT/target/release/tunedeck}"
W="$(mktemp -d /tmp/tunedeck-e2e-lf.XXXXXX)"
SESSION="tunedeck-e2e-lf-$$"
trap 'tmux kill-session -t "$SESSION" 2>/dev/null || true' EXIT
t0=$(date +%s)
stage() { echo "[e2e $(( $(date +%s) - t0 )) s] $*"; }

EXP="$W/exp"
"$BIN" init "$EXP" --demo >/dev/null
head -n 20 "$EXP/data/records.jsonl" > "$W/records.jsonl"
mv "$W/records.jsonl" "$EXP/data/records.jsonl"
"$BIN" data split "$EXP/data/records.jsonl" --out "$EXP/data" >/dev/null
head -n 2 datasets/guard/general.jsonl > "$W/guard.jsonl"
mkdir -p "$EXP/presets"
# The demo's CPU preset, shortened; LLaMA-Factory has no replay or early stopping (export
# would report them), so they are off.
cat > "$EXP/presets/e2e.toml" <<TOML
model = "$ROOT/models/smollm2-135m-instruct"
template = "chatml"
lora_rank = 8
lora_alpha = 16
lora_target = "all"
learning_rate = 3e-3
max_steps = 6
per_device_train_batch_size = 1
gradient_accumulation_steps = 1
cutoff_len = 256
logging_steps = 1
eval_steps = 3
save_steps = 3
device = "cpu"
dtype = "float32"
gradient_checkpointing = false
TOML
sed -i 's/^name = "smollm2-cpu"$/name = "e2e"/' "$EXP/experiment.toml"
stage "experiment ready: $EXP (16 train / 2 validation / 2 sealed test records)"

"$BIN" export llamafactory "$EXP" --out "$W/job" --dry-run
"$BIN" export llamafactory "$EXP" --out "$W/job" >/dev/null
stage "exported to $W/job"

RUN="$EXP/runs/run-1"
mkdir -p "$RUN"
tmux new-session -d -s "$SESSION" -x 160 -y 48 \
    "cd '$ROOT' && PATH='$ROOT/.venv-lf/bin':\"\$PATH\" '$BIN' train --engine llamafactory --preset '$EXP/presets/e2e.toml' --data '$EXP/data' --out '$RUN' > '$W/train.out' 2>&1; echo EXIT \$? >> '$W/train.out'; sleep 600"
tmux new-window -t "$SESSION" "'$BIN' watch '$RUN'; sleep 600"
stage "launched llamafactory-cli train (window 0) and tunedeck watch (window 1)"

live=""
for _ in $(seq 1 1200); do
    pane="$(tmux capture-pane -p -t "$SESSION:1")"
    # The watch window is the Loss pane: its figures line reads "step i/n · epoch … · loss …"
    # while the run goes on, and "finished" once LLaMA-Factory wrote train_results.json.
    if [ -z "$live" ] && grep -q "step [0-9]*/[0-9]* · .* loss " <<<"$pane" && ! grep -q "finished" <<<"$pane"; then
        live="$(grep -o "step [0-9]*/[0-9]*" <<<"$pane" | head -1)"
        stage "live: tunedeck watch's Loss pane shows $live while LLaMA-Factory trains"
    fi
    if grep -q "^EXIT" "$W/train.out" 2>/dev/null && grep -q "finished" <<<"$pane"; then break; fi
    sleep 0.5
done
grep -q "^EXIT" "$W/train.out" || { echo "training did not end within 10 minutes" >&2; exit 1; }
echo "--- tunedeck watch (tmux capture-pane) ---"
tmux capture-pane -p -t "$SESSION:1" | sed '/^$/d'
echo "--- tunedeck train --engine llamafactory ---"
grep -v "^step" "$W/train.out"
grep -q "^EXIT 0" "$W/train.out"
[ -n "$live" ] || { echo "the loss was never seen live" >&2; exit 1; }
test -f "$RUN/adapter/adapter_model.safetensors"
stage "trained; adapter imported into $RUN/adapter"

"$BIN" eval "$EXP" --run run-1 --exam-size 2 --guard "$W/guard.jsonl" --max-new-tokens 24
stage "evaluated (2 exam, 2 interview, 2 guard questions)"
rm -rf "$W"
