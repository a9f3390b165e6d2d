"""Render a 5-20 s excerpt of a music21 score through fluidsynth with a chosen soundfont, palette and tempo.

music21 turns the whole score into MIDI once per worker (repeats expanded); the excerpt is then cut from
that note list, starting at a note onset, and written as a fresh Standard MIDI File: one tempo, one GM
program per part, a little velocity variation (the encodings are mostly flat), and All Sound Off two
seconds after the end. Cutting notes rather than measures avoids music21's trouble with excerpts that
start inside a repeat, a volta or a pickup. fluidsynth's own reverb and chorus are off: the room is ours."""

from __future__ import annotations

import struct
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

from pieces import Piece, Soundfont

TPQ = 960  # ticks per quarter note of the files we write


@lru_cache(maxsize=64)
def piece_notes(work: str, number: int | None) -> tuple[list[tuple[int, float, float, int]], int, float | None]:
    """([(part, on_q, off_q, pitch)], number of parts, first metronome bpm or None), times in quarters.
    forceSource skips music21's shared pickle cache, which two worker processes could race on."""
    from music21 import corpus, midi, repeat

    score = corpus.parse(work, number=number, forceSource=True)
    marks = [b[2].number for b in score.metronomeMarkBoundaries() if b[2].number]
    with tempfile.TemporaryDirectory(prefix="acetate-m21-") as tmp:
        path = Path(tmp) / "whole.mid"
        try:
            score.write("midi", fp=str(path))
        except (repeat.ExpanderException, Exception):  # badly formed repeats: play as written
            from music21 import bar

            for m in score.recurse().getElementsByClass("Measure"):
                for side in ("leftBarline", "rightBarline"):
                    if isinstance(getattr(m, side), bar.Repeat):
                        setattr(m, side, None)
            score.write("midi", fp=str(path))
        mf = midi.MidiFile()
        mf.open(str(path))
        mf.read()
        mf.close()
    notes, parts = [], 0
    for track in mf.tracks:
        tick, open_notes, found = 0, {}, False
        for e in track.events:
            if isinstance(e, midi.DeltaTime):
                tick += e.time
                continue
            key = (e.channel, e.pitch)
            if e.type == midi.ChannelVoiceMessages.NOTE_ON and e.velocity > 0:
                open_notes.setdefault(key, []).append(tick)
            elif e.type in (midi.ChannelVoiceMessages.NOTE_OFF, midi.ChannelVoiceMessages.NOTE_ON):
                if open_notes.get(key):
                    on = open_notes[key].pop(0)
                    if tick > on:  # zero-length (grace) notes are dropped
                        notes.append((parts, on / mf.ticksPerQuarterNote, tick / mf.ticksPerQuarterNote, e.pitch))
                        found = True
        parts += found
    notes.sort(key=lambda n: (n[1], n[0], n[3]))
    return notes, parts, (float(marks[0]) if marks else None)


def excerpt_midi(piece: Piece, rng: np.random.Generator, target_s: float, tempo_factor: float,
                 programs: list[int], out: Path) -> dict:
    """Write the excerpt as MIDI; returns what was chosen (start, bpm, parts) for the manifest."""
    notes, parts, bpm0 = piece_notes(piece.work, piece.number)
    bpm = float(np.clip((bpm0 or piece.default_bpm) * tempo_factor, 40, 200))
    span = target_s * bpm / 60
    onsets = sorted({n[1] for n in notes})
    end = max(n[2] for n in notes)
    fits = [t for t in onsets if end - t >= span] or onsets[:1]
    t0 = fits[int(rng.integers(0, len(fits)))]
    t1 = t0 + span
    base = [rng.uniform(62, 96) if k == 0 else rng.uniform(55, 85) for k in range(parts)]  # melody on top
    events: list[list[tuple[int, bytes]]] = [[] for _ in range(parts)]
    for part, on, off, pitch in notes:
        if t0 <= on < t1:
            ch = _channel(part)
            vel = int(np.clip(base[part] + rng.normal(0, 7), 25, 120))
            events[part].append((round((on - t0) * TPQ), bytes([0x90 | ch, pitch, vel])))
            events[part].append((round((min(off, t1) - t0) * TPQ), bytes([0x80 | ch, pitch, 0])))
    stop = round((span + 2 * bpm / 60) * TPQ)  # All Sound Off 2 s after the end: see render()
    tracks = [[(0, b"\xff\x51\x03" + struct.pack(">I", round(60e6 / bpm))[1:])]]
    for part in range(parts):
        ch = _channel(part)
        tr = [(0, bytes([0xC0 | ch, programs[part % len(programs)]]))]
        tr += sorted(events[part], key=lambda e: (e[0], e[1][0] & 0xF0 == 0x90))  # note-offs before note-ons
        tr += [(stop, bytes([0xB0 | ch, 123, 0])), (stop, bytes([0xB0 | ch, 120, 0]))]
        tracks.append(tr)
    out.write_bytes(_smf(tracks))
    return {"bpm": round(bpm, 1), "start_q": round(t0, 3), "parts": parts}


def _channel(part: int) -> int:
    return part if part < 9 else part + 1  # skip channel 10 (index 9): General MIDI drums


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        out.append(0x80 | (n & 0x7F))
    return bytes(reversed(out))


def _smf(tracks: list[list[tuple[int, bytes]]]) -> bytes:
    """A type-1 Standard MIDI File from per-track (absolute tick, message) lists."""
    data = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), TPQ)
    for tr in tracks:
        body, now = b"", 0
        for tick, msg in tr:
            body += _vlq(tick - now) + msg
            now = tick
        body += b"\x00\xff\x2f\x00"
        data += b"MTrk" + struct.pack(">I", len(body)) + body
    return data


def render(midi: Path, soundfont: Soundfont, sr: int) -> np.ndarray:
    """(frames, 2) float32 from fluidsynth, float output so loud chords never clip before our levelling.
    fluidsynth >= 2.3.1 renders until no voice is active, so a stuck note would render forever: the
    excerpt's closing All Sound Off and the timeout both guard against that."""
    with tempfile.TemporaryDirectory(prefix="acetate-fs-") as tmp:
        wav = Path(tmp) / "out.wav"
        cmd = ["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.4", "-r", str(sr), "-O", "float", "-T", "wav",
               "-o", "synth.dynamic-sample-loading=1", "-F", str(wav), soundfont.path, str(midi)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=180)
        audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    return audio
