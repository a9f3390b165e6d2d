"""Detector `wow`: periodic playback-speed variation (wow 0.5-3 Hz, flutter 5-30 Hz), from the
common frequency deviation of stable partials.

Every partial of a recording played at speed s(t) has its frequency multiplied by s(t), while a
held note of an instrument keeps its own. The detector decimates to a 4-8 kHz band, tracks the
spectral peaks of 0.12 s frames every 40 ms (`_pitch`: reassigned frequencies, peaks linked frame
to frame), fits one sinusoid of log speed shared by all tracks with a free offset per track
(`_pitch_fit`, a Lomb-Scargle periodogram generalised to per-note offsets) and asks whether that
line stands out: its power over the residual's periodogram floor, its depth, how much of the
partials' movement it explains, whether notes starting at different times agree on it (an
instrument's vibrato restarts with each note, wow does not), and how steady the partials are
besides. Where wow is found, flutter is measured the same way on 46 ms frames every 20 ms, above
the 4.5-7.5 Hz of vibrato.

What it cannot do: a voice's intonation moves every harmonic together by several percent, so in
seconds of speech a 0.15-0.5 % wow is not told from prosody; on speech alone the detector is
built to stay silent (2 % false positives on the validation split) rather than to guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _pitch, _pitch_fit
from ._util import as_block, logistic, spans
from .findings import Finding
from .registry import register_detector

WOW_BAND = (0.4, 3.2)  # Hz: off-centre discs (0.55 Hz at 33 1/3 rpm, 1.3 Hz at 78), capstans, warps
FLUTTER_BAND = (8.0, 24.0)  # above vibrato (4.5-7.5 Hz and its skirt), below the flutter frames' 25 Hz Nyquist
SEGMENT_S = 12.0  # analysed at a time; 50 % overlap
MIN_SEGMENT_S = 2.5  # shorter files are not judged (a 0.4 Hz wow needs a period)
_MIN_TRACKS = 12
_HOP = 4  # wow frames 40 ms apart (the restorer's: 10 ms): a 3.2 Hz line needs no more
_FLUTTER_HOP = 2  # flutter frames 20 ms apart: up to 25 Hz
_GLOBAL_SHARE = 0.75  # wow in this share of the segments is the recording's, not a passage's: no regions


@dataclass(frozen=True)
class _Segment:
    start_s: float
    end_s: float
    z: float  # logit of wow being present
    wow: _pitch_fit.Line
    flutter: _pitch_fit.Line | None
    offset_s: float  # integral of the fitted displacement over the segment's own part, seconds^2
    tracks: int
    wow_pct: float  # depth, corrected for the frames' averaging
    flutter_pct: float


def features(line: _pitch_fit.Line, tracks: int) -> dict[str, float]:
    """What the evidence is made of: `raw_features` of a fitted line."""
    return raw_features(line.snr, line.depth, line.explained, line.halves, line.spread, line.unsteady, tracks)


def raw_features(snr: float, depth: float, explained: float, halves: float, spread: float, unsteady: float,
                 tracks: int) -> dict[str, float]:
    """Logs base 10, depths and spreads relative to 0.1 %; the hinges mark what wow is not: deeper
    than 0.5 % with partials moving by more than 0.4 % besides is a voice's intonation, and wow
    past 1.5 % is beyond the worst turntable."""
    f = {
        "snr": math.log10(max(snr, 1e-3)),
        "depth": math.log10(max(depth, 1e-6) / 1e-3),
        "explained": explained,
        "halves": halves,
        "spread": math.log10(max(spread, 1e-6) / 1e-3),
        "unsteady": math.log10(max(unsteady, 1e-6) / 1e-3),
        "tracks": math.log10(max(tracks, 1)),
    }
    f["too_deep"] = max(0.0, f["depth"] - math.log10(15.0))
    f["deep"] = max(0.0, f["depth"] - 0.7)
    f["few"] = max(0.0, 2.0 - f["tracks"])
    f["steady"] = max(0.0, f["unsteady"] - 0.6)
    return f


def evidence(line: _pitch_fit.Line, tracks: int) -> float:
    """Logit that a fitted wow-band line is speed variation, not the programme's own movement:
    a logistic regression on `features`, fitted on the corpus's training split (clean clips,
    clips degraded by every kind, wow at moderate and severe depth on music) by
    benchmarks/wow_calibration.py (.corpus train split: 40 music and 40 speech clips, 6 s each),
    its bias set so that no more than 1 % of the training negatives' segments of either content
    (music, speech) score above 0: at 2 %, 5 % of the training split's clean music clips did.
    Validation split: segments of music with moderate wow found 88 %, of clean music 0 %,
    of music and speech degraded otherwise 0.4 % and 0.7 %."""
    f = features(line, tracks)
    return float(WEIGHTS["bias"] + sum(WEIGHTS[k] * v for k, v in f.items()))


WEIGHTS = {"bias": -11.5774, "snr": 2.4009, "depth": 0.7433, "explained": 5.3604, "halves": 3.7297, "spread": 0.4741,
           "unsteady": 1.4626, "tracks": 0.9712, "too_deep": -3.121, "deep": -4.0978, "few": -3.1332, "steady": -6.0466}


@register_detector
class WowDetector:
    """Wow and flutter (streaming; memory: 12 s of the 4-8 kHz analysis band and a few numbers per
    6 s segment).

    score: logistic of the median segment's evidence (`evidence`). severity: peak speed deviation
    in percent, wow depth plus flutter depth when flutter was found (IEC 60386 peak deviation).
    params: `wow_hz`, `wow_pct`, `flutter_hz`, `flutter_pct`, `flutter_found`, `spread_pct` (how
    unsteady the partials are apart from the fitted line), `offset_ms` (mean time displacement of
    the fitted speed curve over the file: the restorer takes it off so the file stays aligned on
    average), `segments` (judged), `line_snr`.
    regions: the segments where wow was found, unless that is most of the file (then none: global).
    """

    kind = "wow"
    version = "2"

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = sample_rate, channels
        self._dec = _pitch.StreamingDecimator(sample_rate)
        self.rate = self._dec.rate
        self._seg = int(round(SEGMENT_S * self.rate))
        self._hop = self._seg // 2
        self._buf = np.zeros(0)
        self._buf_start = 0  # analysis-rate sample index of _buf[0]
        self._done = 0  # samples covered by analysed segments
        self._segments: list[_Segment] = []
        self._frames = 0

    @property
    def segments(self) -> tuple[_Segment, ...]:
        """The analysed segments so far (for calibration and diagnostics)."""
        return tuple(self._segments)

    def update(self, block: np.ndarray) -> None:
        x = as_block(block, self.channels)
        if x.shape[1] == 0:
            return
        self._frames += x.shape[1]
        self._buf = np.concatenate([self._buf, self._dec(x.mean(axis=0))])
        while self._buf.size >= self._seg:
            self._analyse(self._buf[: self._seg], first=not self._segments, last=False)
            self._buf = self._buf[self._hop:]
            self._buf_start += self._hop

    def _analyse(self, y: np.ndarray, first: bool, last: bool) -> None:
        t0 = self._buf_start / self.rate
        tr = _pitch.tracks(_pitch.peaks(y, self.rate, _HOP * self._dec.hop))
        self._done = self._buf_start + y.size
        if tr.count < _MIN_TRACKS:
            return
        wow = _pitch_fit.fit_line(tr, WOW_BAND)
        if wow is None:
            return
        z = evidence(wow, tr.count)
        flutter = None
        if z > 0:  # flutter is measured where there is wow: short frames, which see 5-30 Hz
            ftr = _pitch.tracks(_pitch.peaks(y, self.rate, _FLUTTER_HOP * self._dec.hop, _pitch.FLUTTER_WINDOW_S))
            flutter = _pitch_fit.fit_line(ftr, FLUTTER_BAND, passes=1, grid_hz=0.05)
        # the segment's own part (segments overlap by half): its middle, or up to its edge at the file's ends
        span = y.size / self.rate
        a = 0.0 if first else span / 4
        b = span if last else 3 * span / 4
        w = 2 * math.pi * wow.freq
        c = wow.c / _pitch.response(wow.freq, self.rate)  # what the frames' averaging took off
        ea, eb = (np.exp(1j * w * (v - tr.first_s)) for v in (a, b))
        integral = float(-np.real(c * (eb - ea)) / w**2)
        flutter_pct = 0.0 if flutter is None else \
            flutter.depth / _pitch.response(flutter.freq, self.rate, _pitch.FLUTTER_WINDOW_S) * 100
        self._segments.append(_Segment(t0 + a, t0 + b, z, wow, flutter, integral, tr.count, abs(c) * 100, flutter_pct))

    def finish(self) -> Finding:
        new = self._buf_start + self._buf.size - self._done
        if self._buf.size >= MIN_SEGMENT_S * self.rate and (not self._segments or new > 0.25 * self._seg):
            if self._segments:  # the tail: re-analyse the last full span so it has context
                self._buf_start += self._buf.size - min(self._buf.size, self._seg)
                self._buf = self._buf[-self._seg:]
            self._analyse(self._buf, first=not self._segments, last=True)
        self._buf = np.zeros(0)
        segs = self._segments
        duration = self._frames / self.sample_rate
        if not segs or duration <= 0:
            return Finding(self.kind, 0.0, 0.0, "%", params={"segments": 0})
        z = np.array([s.z for s in segs])
        score = logistic(float(np.median(z)))
        hits = [s for s in segs if s.z > 0] or [max(segs, key=lambda s: s.z)]
        wow_hz = float(np.median([s.wow.freq for s in hits]))
        wow_pct = float(np.median([s.wow_pct for s in hits]))
        fl = [s for s in hits if s.flutter is not None]
        flutter_found = bool(fl) and _flutter_found([s.flutter for s in fl])
        flutter_hz = float(np.median([s.flutter.freq for s in fl])) if fl else 0.0
        flutter_pct = float(np.median([s.flutter_pct for s in fl])) if fl else 0.0
        severity = wow_pct + (flutter_pct if flutter_found else 0.0)
        offset = sum(s.offset_s for s in segs) / duration
        regions: tuple[tuple[float, float], ...] = ()
        if len(segs) > 1 and score >= 0.5 and sum(s.z > 0 for s in segs) < _GLOBAL_SHARE * len(segs):
            on = [s for s in segs if s.z > 0]
            regions = tuple(spans(np.array([s.start_s for s in on]), np.array([s.end_s for s in on]), 0.5))
        params = {"wow_hz": round(wow_hz, 4), "wow_pct": round(wow_pct, 4), "flutter_hz": round(flutter_hz, 3),
                  "flutter_pct": round(flutter_pct, 4), "flutter_found": flutter_found,
                  "spread_pct": round(float(np.median([s.wow.spread for s in hits])) * 100, 4),
                  "offset_ms": round(offset * 1000, 5), "segments": len(segs),
                  "line_snr": round(float(np.median([s.wow.snr for s in hits])), 2)}
        return Finding(self.kind, float(score), round(severity, 4) if score >= 0.5 else 0.0, "%", regions, params)


def _flutter_found(lines: list[_pitch_fit.Line]) -> bool:
    """Flutter counts only when it is unmistakable: a strong line that notes starting at different
    times agree on (on the validation split, every such line from 8 Hz up was the simulator's
    flutter; the programme's vibrato at 4.5-7.5 Hz is left out of the search)."""
    return bool(np.median([ln.snr for ln in lines]) >= _FLUTTER_SNR and np.median([ln.halves for ln in lines]) >= 0.85)


_FLUTTER_SNR = 15.0
