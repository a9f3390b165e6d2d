"""Check every peer on short synthetic degradations: SI-SDR gain, level change, real-time factor
and residual lag. Runs with any python that has numpy, scipy and soundfile (acetate's venv).

    python benchmarks/peers/measure.py [--out DIR] [--peers a,b] [--json results.json]

Run it under `taskset -c 0` for one-core real-time factors (the peers use one thread each).
Cases: a speech-like synth and (if espeak-ng is installed) spoken English, each clean and with
white noise at 5 dB SNR; a music-like synth clean, at 5 dB SNR, with clicks, and clipped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api  # noqa: E402
import signals  # noqa: E402

SNR_DB = 5.0


def _espeak(rate: int) -> np.ndarray | None:
    if not shutil.which("espeak-ng"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp, "s.wav")
        text = "The quick brown fox jumps over the lazy dog. Archive recordings deserve careful restoration."
        subprocess.run(["espeak-ng", "-s", "150", "-w", str(wav), text], check=True)
        x, sr = sf.read(wav, dtype="float32")
    from scipy.signal import resample_poly

    x = resample_poly(x, rate, sr).astype(np.float32)
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def _clicks(x: np.ndarray, rate: int, per_s: float = 10.0, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = x.copy()
    for pos in rng.integers(0, len(x) - 64, int(per_s * len(x) / rate)):
        width = int(rng.integers(2, 24))
        y[pos : pos + width] += rng.choice([-1, 1]) * rng.uniform(0.2, 0.6) * np.exp(-np.arange(width) / 4)
    return y


def cases() -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """name -> (degraded, clean reference, rate)."""
    speech, music = signals.speech_like(16000, 4.0), signals.music_like(44100, 4.0)
    out = {
        "speech_synth_clean": (speech, speech, 16000),
        "speech_synth_5dB": (signals.add_noise(speech, SNR_DB), speech, 16000),
        "music_synth_clean": (music, music, 44100),
        "music_synth_5dB": (signals.add_noise(music, SNR_DB), music, 44100),
        "music_synth_clicks": (_clicks(music, 44100), music, 44100),
        "music_synth_clipped": (np.clip(music * 3.0, -0.3, 0.3) / 3.0, music, 44100),
    }
    spoken = _espeak(16000)
    if spoken is not None:
        out["speech_espeak_clean"] = (spoken, spoken, 16000)
        out["speech_espeak_5dB"] = (signals.add_noise(spoken, SNR_DB), spoken, 16000)
    return out


def _db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-20))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--peers", default=",".join(api.PEERS))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="peers-measure-"))
    work.mkdir(parents=True, exist_ok=True)
    data = cases()
    for name, (x, _, rate) in data.items():
        sf.write(work / f"{name}.wav", x, rate, subtype="FLOAT")
    rows = []
    for peer in args.peers.split(","):
        pairs = [(work / f"{c}.wav", work / peer / f"{c}.wav") for c in data]
        results = api.run_peer(peer, pairs)
        for (case, (x, ref, rate)), res in zip(data.items(), results, strict=True):
            row = {"peer": peer, "case": case, "ok": res["ok"]}
            if res["ok"]:
                y, _ = sf.read(res["out"], dtype="float32")
                row.update(
                    si_sdr_in=round(signals.si_sdr(ref, x), 2),
                    si_sdr_out=round(signals.si_sdr(ref, y), 2),
                    gain_db=round(signals.si_sdr(ref, y) - signals.si_sdr(ref, x), 2),
                    level_db=round(_db(y) - _db(x), 2),
                    rtf=round(res["seconds"] * rate / len(x), 3),
                    lag=signals.lag(ref, y, 2000),
                )
            else:
                row["error"] = res.get("error", "")[-300:]
            rows.append(row)
            print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(table(rows))
    return 0


def table(rows: list[dict]) -> str:
    """Markdown: SI-SDR gain on each degraded case, level change on clean input, median RTF."""
    cols = sorted({r["case"] for r in rows if not r["case"].endswith("_clean")})
    clean = sorted({r["case"] for r in rows if r["case"].endswith("_clean")})
    head = ["peer", *(f"gain {c}" for c in cols), *(f"level {c}" for c in clean), "RTF"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for peer in dict.fromkeys(r["peer"] for r in rows):
        mine = {r["case"]: r for r in rows if r["peer"] == peer}
        if not all(r["ok"] for r in mine.values()):
            lines.append(f"| {peer} | failed |")
            continue
        cells = [f"{mine[c]['gain_db']:+.1f}" for c in cols] + [f"{mine[c]['level_db']:+.1f}" for c in clean]
        rtf = float(np.median([r["rtf"] for r in mine.values()]))
        lines.append(f"| {peer} | " + " | ".join(cells) + f" | {rtf:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
