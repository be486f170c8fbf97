#!/usr/bin/env bash
# The whole GPU benchmark in one command, for a CUDA machine without network access
# (PyTorch, transformers and sentencepiece preinstalled); under 8 minutes on one H200.
#
#   make gpu-wheels        here, with network: the extra wheels into bench/.cache/wheels
#   bash bench/gpu.sh      there: installs them into a venv that sees the system's
#                          PyTorch, then runs `python -m bench.run --device cuda`
#   bash bench/gpu.sh --smoke   here, on the CPU with a small model (WHEELS and PYTHON
#                          for this machine's Python): checks the script end to end
#
# Results: bench/results/gpu.{json,md} (gpu-smoke.* for --smoke), written after each
# model shape, so a run stopped by the time limit keeps what it measured.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-bench/.cache/wheels}
VENV=${VENV:-bench/.cache/gpu-venv}
LIMIT=${LIMIT:-450}  # seconds for the measurements, inside the 8 minutes

if [ ! -d "$WHEELS" ]; then
    echo "no wheel folder $WHEELS: run 'make gpu-wheels' where there is network" >&2
    exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
    # The venv sees the system's packages (PyTorch, transformers, sentencepiece).
    "$PYTHON" -m venv --system-site-packages "$VENV"
fi
if [ -n "${EXTRA_SITE:-}" ]; then
    # A machine whose PyTorch lives elsewhere (the smoke check's project venv).
    site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    echo "$EXTRA_SITE" > "$site/zz-extra-site.pth"
fi
# With EXTRA_SITE every wheel is installed even where that site has the package, so the
# smoke check proves the wheel folder complete.
"$VENV/bin/python" -m pip install -q --no-index --find-links "$WHEELS" \
    ${EXTRA_SITE:+--ignore-installed} -r bench/gpu-requirements.txt
if ls "$WHEELS"/lingua_language_detector-*.whl > /dev/null 2>&1; then
    "$VENV/bin/python" -m pip install -q --no-index --find-links "$WHEELS" lingua-language-detector
fi
"$VENV/bin/python" - <<'PY'
import torch, transformers, sentencepiece  # noqa: F401 - preinstalled, or the run cannot work
print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "transformers", transformers.__version__)
PY
export PYTHONPATH="$PWD"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if [ "${1:-}" = "--smoke" ]; then
    exec timeout "$LIMIT" "$VENV/bin/python" -m bench.run --smoke "${@:2}"
fi
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv || true
exec timeout "$LIMIT" "$VENV/bin/python" -m bench.run --device cuda "$@"
