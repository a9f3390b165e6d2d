"""Turn one clip spec into a FLAC file and its manifest row (runs inside a worker process).

The row, minus the file hash, is stored in the FLAC's comment tag as JSON: a rebuild that finds a file
whose stored params_hash equals the spec's keeps the file and reuses the row (incremental builds), and the
corpus stays self-describing even without its manifest."""

from __future__ import annotations

import hashlib
import json
import tempfile
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

import music
import pieces as pc
import room
import speech
import voices as vc

SUBTYPE = "PCM_16"


def make_clip(spec: dict, root: Path) -> dict:
    path = root / spec["split"] / spec["content"] / f"{spec['id']}.flac"
    row = _existing_row(path, spec["params_hash"])
    if row is None:
        audio, row = (_speech if spec["content"] == "speech" else _music)(spec)
        rate = spec["sample_rate"]
        row.update(_common(spec, audio, rate))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.flac")
        with sf.SoundFile(tmp, "w", rate, audio.shape[1], subtype=SUBTYPE, format="FLAC") as f:
            f.comment = json.dumps(row, sort_keys=True)
            f.write(audio)
        tmp.replace(path)
    row["path"] = path.relative_to(root).as_posix()
    row["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return row


def _existing_row(path: Path, params_hash: str) -> dict | None:
    if not path.exists():
        return None
    try:
        with sf.SoundFile(path) as f:
            row = json.loads(f.comment or "{}")
    except (RuntimeError, ValueError, sf.LibsndfileError):
        return None
    return row if row.get("params_hash") == params_hash else None


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst:
        return x
    g = gcd(src, dst)
    return signal.resample_poly(x, dst // g, src // g, axis=0)


def _trim(x: np.ndarray, sr: int, floor_db: float = -50.0) -> np.ndarray:
    """Cut leading and trailing silence (below floor_db re the peak) but keep 20 ms around the sound."""
    env = np.abs(x if x.ndim == 1 else x.max(axis=1))
    on = np.flatnonzero(env > np.max(env) * 10 ** (floor_db / 20))
    if len(on) == 0:
        raise RuntimeError("engine produced silence")
    m = int(0.02 * sr)
    return x[max(0, on[0] - m): on[-1] + m]


def _speech(spec: dict) -> tuple[np.ndarray, dict]:
    voice = next(v for v in vc.all_voices() if v.engine == spec["engine"] and v.name == spec["voice"])
    dry, native = speech.synthesize(voice, spec["text"], spec["speed"], spec["pitch"], spec["seed"])
    rate = spec["sample_rate"]
    x = _resample(_trim(dry.astype(np.float64), native), native, rate)
    x = np.concatenate([np.zeros(int(spec["lead_s"] * rate)), x, np.zeros(int(spec["tail_s"] * rate))])
    row = {"native_rate": native, "licence": voice.licence}
    return _finish(spec, x, row), row


def _music(spec: dict) -> tuple[np.ndarray, dict]:
    piece = next(p for p in pc.all_pieces() if p.name == spec["piece"])
    font = next(s for s in pc.SOUNDFONTS if s.name == spec["soundfont"])
    rng = np.random.default_rng(spec["seed"])
    rate = spec["sample_rate"]
    render_rate = 48000 if rate == 48000 else 44100
    n_parts = music.piece_notes(piece.work, piece.number)[1]
    programs = [spec["solo_program"]] if n_parts == 1 else pc.PALETTES[spec["palette"]]
    with tempfile.TemporaryDirectory(prefix="acetate-midi-") as tmp:
        midi = Path(tmp) / "excerpt.mid"
        info = music.excerpt_midi(piece, rng, spec["target_s"], spec["tempo_factor"], programs, midi)
        x = music.render(midi, font, render_rate).astype(np.float64)
    x = _trim(x, render_rate)[: int(spec["target_s"] * render_rate)]
    x = room.fade(x, render_rate, 0.01, min(0.8, 0.1 * len(x) / render_rate))
    x = _resample(x, render_rate, rate)
    row = {"native_rate": render_rate, "licence": f"{piece.licence}; soundfont {font.name}: {font.licence}",
           "instruments": ",".join(str(programs[k % len(programs)]) for k in range(info["parts"])), **info}
    return _finish(spec, x, row), row


def _finish(spec: dict, x: np.ndarray, row: dict) -> np.ndarray:
    """Room, microphone, level and edge fades (parameters go to row["room"]); returns (frames, channels)
    float32 in [-1, 1)."""
    rng = np.random.default_rng([spec["seed"], 1])
    rate = spec["sample_rate"]
    y, params = room.colour(rng, x, rate, spec["channels"])
    row["room"] = json.dumps(params, sort_keys=True)
    y = room.level(y, rate, spec["target_rms_dbfs"])
    return room.fade(y, rate, 0.005, 0.02).astype(np.float32)


def _common(spec: dict, audio: np.ndarray, rate: int) -> dict:
    keep = ["id", "split", "content", "engine", "voice", "voice_group", "piece", "collection", "soundfont",
            "palette", "language", "text", "sample_rate", "channels", "seed", "params_hash", "target_rms_dbfs"]
    row = {k: spec.get(k) for k in keep}
    row.update(duration_s=round(len(audio) / rate, 4), rms_dbfs=round(room.rms_dbfs(audio), 2),
               peak_dbfs=round(room.peak_dbfs(audio), 2))
    return row
