#!/usr/bin/env bash
# The Python reference environment (transformers, PEFT, gguf-py on PyTorch 2.11.0) in .venv/,
# used only by `just fixtures` and the benchmarks, never by `just test`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .venv/.complete ]; then exit 0; fi
echo "[venv] creating .venv with torch 2.11.0, transformers, peft and gguf (about 5 GB)"
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check torch==2.11.0 transformers==5.24.0 peft==0.21.2 \
    gguf numpy safetensors accelerate psutil
touch .venv/.complete
