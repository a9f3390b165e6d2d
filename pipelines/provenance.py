"""Provenance written into every restored file, so a copy that leaves the archive still says what
it is: acetate's version, the pipeline fingerprint, the chain (op and model versions, parameters)
and the source's SHA-256.

FLAC copies carry Vorbis comments (ACETATE_* plus CODING_HISTORY), written with mutagen because
libsndfile only writes its fixed set (title, comment, software, ...). WAV copies (more than 8
channels) carry a BWF bext chunk whose CodingHistory holds the same lines (see bwf.py). The quality
record holds the same facts (`acetate_version`, `pipeline_fingerprint`, `chain`, `source_sha256`)
and the exact CodingHistory text (`coding_history`), so a copy can be matched to its record.

Nothing here depends on time, host or engine: the same source and pipeline give the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mutagen.flac
import soundfile as sf

from .bwf import Bext, append_bext, read_bext

# Space reserved for the Vorbis comments when libsndfile writes the FLAC header, so that mutagen
# fills it in place instead of moving the audio frames to make room.
FLAC_TAG_RESERVE = 4096
ORIGINATOR = "acetate"

_ACETATE_LINE = re.compile(r"T=acetate (?P<version>\S+); pipeline (?P<fingerprint>\S+); chain (?P<chain>\[.*\])$")
_SOURCE_LINE = re.compile(r"T=source sha256 (?P<sha>\S+)$")


def _coding(subtype: str | None) -> tuple[str, int | None]:
    """(R 98 algorithm, word length) of a libsndfile subtype."""
    subtype = subtype or ""
    if subtype.startswith("PCM_"):
        bits = subtype.removeprefix("PCM_").removeprefix("S").removeprefix("U")
        return "PCM", int(bits) if bits.isdigit() else None
    if subtype in ("FLOAT", "DOUBLE"):
        return "PCM", 32 if subtype == "FLOAT" else 64
    return subtype or "unknown", None


def _line(subtype: str | None, sample_rate: int, channels: int, text: str) -> str:
    """One EBU R 98 coding-history line: A=algorithm,F=rate,W=bits,M=mode,T=free text, CR/LF."""
    algo, bits = _coding(subtype)
    mode = {1: "mono", 2: "stereo"}.get(channels, "multitrack")
    fields = [f"A={algo}", f"F={sample_rate}"] + ([f"W={bits}"] if bits else []) + [f"M={mode}", f"T={text}"]
    return ",".join(fields) + "\r\n"


def _compact_chain(chain: Sequence[Mapping[str, Any]]) -> str:
    """The record's chain as compact JSON: params as objects, absent model fields left out."""
    steps = []
    for s in chain:
        step = {k: s[k] for k in ("op", "fixes", "version")}
        step.update({k: s[k] for k in ("model", "model_version") if s.get(k) is not None})
        step["params"] = json.loads(s["params"]) if s.get("params") else {}
        steps.append(step)
    return json.dumps(steps, sort_keys=True, separators=(",", ":"))


def _record_chain(text: str) -> list[dict[str, Any]]:
    """The inverse of _compact_chain: rows shaped like the record's `chain` column."""
    return [{"op": s["op"], "fixes": s["fixes"], "version": s["version"], "model": s.get("model"),
             "model_version": s.get("model_version"), "params": json.dumps(s["params"], sort_keys=True)}
            for s in json.loads(text)]


@dataclass(frozen=True)
class Provenance:
    acetate_version: str
    pipeline_fingerprint: str
    source_path: str
    source_sha256: str | None
    chain_json: str  # compact JSON of the chain (see _compact_chain)
    sample_rate: int
    channels: int
    source_subtype: str | None
    output_subtype: str

    @classmethod
    def from_record(cls, record: Mapping[str, Any], source_subtype: str | None, output_subtype: str) -> Provenance:
        """From a quality record's columns (acetate_version, pipeline_fingerprint, source_path,
        source_sha256, sample_rate, channels, chain) and the source's and output's subtypes."""
        return cls(record["acetate_version"], record["pipeline_fingerprint"], record["source_path"],
                   record.get("source_sha256"), _compact_chain(record.get("chain") or []),
                   int(record["sample_rate"]), int(record["channels"]), source_subtype, output_subtype)

    @property
    def coding_history(self) -> str:
        """Two R 98 lines: the source as read, then acetate's processing into this copy."""
        src = _line(self.source_subtype, self.sample_rate, self.channels,
                    f"source sha256 {self.source_sha256 or 'unknown'}")
        ours = _line(self.output_subtype, self.sample_rate, self.channels,
                     f"acetate {self.acetate_version}; pipeline {self.pipeline_fingerprint}; chain {self.chain_json}")
        return src + ours

    def vorbis_comments(self) -> dict[str, str]:
        return {
            "ACETATE_VERSION": self.acetate_version,
            "ACETATE_PIPELINE": self.pipeline_fingerprint,
            "ACETATE_CHAIN": self.chain_json,
            "ACETATE_SOURCE_PATH": self.source_path,
            "ACETATE_SOURCE_SHA256": self.source_sha256 or "unknown",
            "CODING_HISTORY": self.coding_history,
        }

    def bext(self) -> Bext:
        return Bext(description=f"Restored access copy; source SHA-256 {self.source_sha256 or 'unknown'}",
                    originator=ORIGINATOR, originator_reference=f"acetate {self.acetate_version}"[:32],
                    coding_history=self.coding_history)


def reserve_tag_space(sound_file: sf.SoundFile, fmt: str) -> None:
    """Before the first frame is written: make libsndfile leave room for the FLAC tags."""
    if fmt == "FLAC":
        sound_file.comment = " " * FLAC_TAG_RESERVE


def write_provenance(path: str | Path, fmt: str, prov: Provenance) -> None:
    """Stamp a closed, not yet renamed output file with its provenance (in place)."""
    if fmt == "FLAC":
        flac = mutagen.flac.FLAC(path)
        if flac.tags is None:
            flac.add_tags()
        flac.tags.clear()
        for key, value in prov.vorbis_comments().items():
            flac.tags[key] = value
        # reuse the reserved space as padding when the tags fit (no audio moves); else 4 KiB more
        flac.save(padding=lambda info: info.padding if info.padding >= 0 else 4096)
    elif fmt == "WAV":
        append_bext(path, prov.bext())
    else:
        raise ValueError(f"no provenance writer for {fmt}")


def read_provenance(path: str | Path) -> dict[str, Any] | None:
    """The provenance a restored file carries, as quality-record columns (acetate_version,
    pipeline_fingerprint, source_sha256, chain, coding_history); None when it carries none."""
    path = Path(path)
    if sf.info(str(path)).format == "FLAC":
        tags = mutagen.flac.FLAC(path).tags
        if tags is None or "ACETATE_VERSION" not in tags:
            return None
        sha = tags["ACETATE_SOURCE_SHA256"][0]
        return {"acetate_version": tags["ACETATE_VERSION"][0],
                "pipeline_fingerprint": tags["ACETATE_PIPELINE"][0],
                "source_sha256": None if sha == "unknown" else sha,
                "chain": _record_chain(tags["ACETATE_CHAIN"][0]),
                "coding_history": tags["CODING_HISTORY"][0]}
    bext = read_bext(path)
    if bext is None:
        return None
    lines = bext.coding_history.split("\r\n")
    ours = next((m for m in map(_ACETATE_LINE.search, lines) if m), None)
    src = next((m for m in map(_SOURCE_LINE.search, lines) if m), None)
    if ours is None:
        return None
    sha = src["sha"] if src else "unknown"
    return {"acetate_version": ours["version"], "pipeline_fingerprint": ours["fingerprint"],
            "source_sha256": None if sha == "unknown" else sha,
            "chain": _record_chain(ours["chain"]), "coding_history": bext.coding_history}
