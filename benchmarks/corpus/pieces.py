"""The music sources: pieces from music21's bundled corpus, the General MIDI soundfonts from Debian, and
the instrument palettes an excerpt is re-orchestrated with.

Pieces are the split unit; soundfonts and palettes are shared by all splits (each split gets every
soundfont in rotation), so a test excerpt is unheard music played on familiar instruments."""

from __future__ import annotations

from dataclasses import dataclass

M21_LICENCE = ("public-domain composition; encoding from the music21 corpus (music21/corpus/license.txt: "
               "distributed with the encoders' permission, some non-commercial)")


@dataclass(frozen=True)
class Piece:
    name: str               # stable id, also the split unit
    work: str               # music21 corpus path
    number: int | None      # tune number inside an ABC collection (an Opus)
    collection: str         # style family, for balancing splits
    default_bpm: float      # used where the score has no metronome mark
    licence: str = M21_LICENCE


def _chorale(bwv: str) -> Piece:
    return Piece(f"bach-{bwv}", f"bach/{bwv}", None, "bach-chorale", 72)


def all_pieces() -> list[Piece]:
    ps = [_chorale(b) for b in ["bwv1.6", "bwv10.7", "bwv101.7", "bwv26.6", "bwv66.6", "bwv244.10",
                                "bwv248.23-s", "bwv11.6", "bwv13.6", "bwv110.7", "bwv120.6", "bwv127.5"]]
    ps += [
        Piece("corelli-op3no1-grave", "corelli/opus3no1/1grave", None, "baroque", 60),
        Piece("cpebach-h186", "cpebach/h186", None, "baroque", 100),
        Piece("handel-lascia-chio-pianga", "handel/rinaldo/Lascia_chio_pianga", None, "baroque", 60),
        Piece("mozart-k155-1", "mozart/k155/movement1", None, "classical", 120),
        Piece("mozart-k156-2", "mozart/k156/movement2", None, "classical", 66),
        Piece("mozart-k458-3", "mozart/k458/movement3", None, "classical", 80),
        Piece("mozart-k545-1", "mozart/k545/movement1_exposition", None, "classical", 120),
        Piece("mozart-k80-1", "mozart/k80/movement1", None, "classical", 60),
        Piece("haydn-op1no1-1", "haydn/opus1no1/movement1", None, "classical", 110),
        Piece("haydn-op74no1-2", "haydn/opus74no1/movement2", None, "classical", 70),
        Piece("beethoven-op18no1-3", "beethoven/opus18no1/movement3.mxl", None, "classical", 120),
        Piece("schubert-lindenbaum", "schubert/Lindenbaum", None, "romantic", 80),
        Piece("schumann-op48no2", "schumann_robert/opus48no2", None, "romantic", 70),
        Piece("clara-schumann-polonaise1", "schumann_clara/polonaise_op1n1", None, "romantic", 100),
        Piece("chopin-mazurka6-2", "chopin/mazurka06-2.krn", None, "romantic", 150),
        Piece("verdi-la-donna-e-mobile", "verdi/laDonnaEMobile", None, "romantic", 132),
        Piece("joplin-maple-leaf-rag", "joplin/maple_leaf_rag", None, "ragtime", 100),
        Piece("liliuokalani-aloha-oe", "liliuokalani/aloha_oe", None, "song", 80),
        Piece("beach-prayer", "beach/prayer_of_a_tired_child", None, "song", 70),
        Piece("palestrina-agnus-0", "palestrina/agnus_0", None, "renaissance", 80),
        Piece("monteverdi-madrigal-3-1", "monteverdi/madrigal.3.1", None, "renaissance", 80),
        Piece("lusitano-allor-che-ignuda", "lusitano/allor_che_ignuda", None, "renaissance", 80),
        Piece("josquin-deploration", "josquin/laDeplorationDeLaMorteDeJohannesOckeghem", 1, "renaissance", 70),
        Piece("luca-gloria", "luca/gloria", None, "medieval", 90),
        Piece("ciconia-quod-jactatur", "ciconia/quod_jactatur", None, "medieval", 90),
        Piece("trecento-dicant-nunc-iudei", "trecento/Fava_Dicant_nunc_iudei", None, "medieval", 90),
    ]
    folk = [("essen-altdeu10", "essenFolksong/altdeu10", [1, 7, 19]), ("essen-han1", "essenFolksong/han1", [1, 4]),
            ("oneills", "oneills1850/0001-0050", [3, 10, 23]), ("airds", "airdsAirs/book1.abc", [1, 12]),
            ("fife", "miscFolk/americanfifeopus", [1, 5])]
    ps += [Piece(f"{stem}-{k}", work, k, "folk", 110) for stem, work, nums in folk for k in nums]
    return ps


@dataclass(frozen=True)
class Soundfont:
    name: str
    path: str
    package: str
    licence: str


SOUNDFONTS = [
    Soundfont("FluidR3_GM", "/usr/share/sounds/sf2/FluidR3_GM.sf2", "fluid-soundfont-gm", "MIT"),
    Soundfont("TimGM6mb", "/usr/share/sounds/sf2/TimGM6mb.sf2", "timgm6mb-soundfont", "GPL-2.0"),
    Soundfont("MuseScore_General_Lite", "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
              "musescore-general-soundfont-small", "MIT (parts public domain / CC0)"),
    Soundfont("OPL-3_FM_128M", "/usr/share/sounds/sf2/OPL-3_FM_128M.sf2", "opl3-soundfont", "CC-BY-SA-4.0"),
]

# General MIDI programs (0-based), assigned to a score's parts in order and cycled if it has more parts.
PALETTES = {
    "piano": [0], "bright-piano": [1], "electric-piano": [4, 4, 4, 33], "harpsichord": [6],
    "church-organ": [19], "reed-organ": [20], "string-quartet": [40, 40, 41, 42], "string-ensemble": [48, 48, 49, 48],
    "brass": [56, 60, 57, 58], "woodwinds": [73, 68, 71, 70], "guitars": [24, 25, 24, 32], "choir": [52, 52, 53, 52],
    "saxophones": [64, 65, 66, 67], "mixed-chamber": [73, 40, 71, 42], "mallets": [11, 12, 11, 32],
}
# One-line melodies get one solo instrument.
SOLO = [0, 6, 11, 21, 22, 24, 40, 46, 56, 68, 71, 73, 74, 110]
