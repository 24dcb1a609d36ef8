#!/usr/bin/env bash
# Create the onnx2tf baseline venv used by tools/bench_convert.py (NOT an edgekit dependency).
#
# onnx2tf pins exact versions of its dependencies (see its wheel METADATA, onnx2tf 1.29.x):
# tensorflow==2.19.0, tf-keras==2.19.0, onnx==1.19.1, onnxruntime==1.23.0, ai-edge-litert==2.1.0 ...
# tf-keras and onnx2tf require the "tensorflow" distribution itself, so "tensorflow-cpu" alone does not
# satisfy them; on Linux x86-64 the plain tensorflow 2.19 wheel is CPU-only anyway (CUDA comes only
# with the [and-cuda] extra). The pins are listed here so one `pip install` resolves them together.
#
# Usage: tools/onnx2tf_env.sh [VENV_DIR]        (default /opt/onnx2tf-venv)
# Offline, onnx2tf tries to download calibration_image_sample_data_20x128x128x3_float32.npy at
# startup; tools/bench_convert.py writes a fake one into the working directory before calling it
# (this script also writes one into $VENV/share/ for manual use).
set -euo pipefail
VENV="${1:-/opt/onnx2tf-venv}"
PY="${PYTHON:-python3.11}"
ONNX2TF_VERSION="${ONNX2TF_VERSION:-1.29.24}"

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install \
  "tensorflow==2.19.0" "tf-keras==2.19.0" \
  "onnx==1.19.1" "onnxruntime==1.23.0" "onnxsim==0.4.36" "onnxoptimizer==0.4.2" \
  "onnx-graphsurgeon==0.5.8" "simple-onnx-processing-tools==1.1.32" "sng4onnx" "sne4onnx" \
  "ai-edge-litert==2.1.0" "psutil==5.9.5" "protobuf==4.25.5" "h5py==3.11.0" "ml-dtypes==0.5.1" \
  "flatbuffers==25.12.19" "numpy==1.26.4" "opencv-python==4.11.0.86" "requests"
"$VENV/bin/pip" install "onnx2tf==${ONNX2TF_VERSION}"

mkdir -p "$VENV/share"
"$VENV/bin/python" - "$VENV/share" <<'PY'
import sys, numpy as np
rng = np.random.default_rng(0)
np.save(f"{sys.argv[1]}/calibration_image_sample_data_20x128x128x3_float32.npy",
        rng.random((20, 128, 128, 3), dtype=np.float32))
PY
"$VENV/bin/python" -c "import onnx2tf, tensorflow as tf; print('onnx2tf', onnx2tf.__version__, 'tf', tf.__version__)"
