#!/usr/bin/env bash
# LLaMA-Factory's reference environment in .venv-lf/, used only by `just fixtures-llamafactory`
# and `just e2e-llamafactory` (never by `just test`). Pinned to what llamafactory 0.9.5
# resolved to (the pins below), so the recorded parser acceptance and trainer logs are reproducible.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .venv-lf/.complete ]; then exit 0; fi
echo "[venv-lf] creating .venv-lf with llamafactory 0.9.5 on PyTorch (about 5 GB)"
python3 -m venv .venv-lf
nice -n 10 .venv-lf/bin/pip install --quiet --disable-pip-version-check llamafactory==0.9.5 torch==2.15.0 transformers==5.6.0 peft==0.18.1 \
    accelerate==1.11.0 datasets==4.0.0 trl==0.24.0
touch .venv-lf/.complete
