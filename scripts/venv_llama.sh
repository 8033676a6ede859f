#!/usr/bin/env bash
# llama.cpp through llama-cpp-python in .venv-llama/, used only by `just fixtures-export`
# (never by `just test`). It builds llama.cpp from source: 5–15 minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .venv-llama/.complete ]; then exit 0; fi
echo "[venv-llama] creating .venv-llama with llama-cpp-python 0.3.36 (builds llama.cpp from source)"
python3 -m venv .venv-llama
# CPU only, no server/tools: the fixtures need tokenization and greedy decoding.
CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF" \
CMAKE_BUILD_PARALLEL_LEVEL="${JOBS:-2}" \
    nice -n 10 .venv-llama/bin/pip install --quiet --disable-pip-version-check llama-cpp-python==0.3.36
touch .venv-llama/.complete
