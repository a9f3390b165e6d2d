"""Degradation simulator with ground truth, and seeded clean test signals (the public entry).

Every degradation takes (channels, frames) or (frames,) float32 audio and returns `(degraded,
label)`: the degraded float32 array in the same shape and a label dict `{"kind", "params",
"regions"}` (regions as [start_s, end_s] lists merged within 50 ms, empty for global damage), so a
test, a benchmark or a demo file explains its own input. All randomness goes through
`numpy.random.default_rng(seed)`: the same seed gives the same result.

    kind        function                                                  module
    noise       add_noise (white, pink, brown, tape_hiss, surface)        degrade_noise
    hum         add_hum                                                   degrade_noise
    rumble      add_rumble (bearing/motor bump, warp at the rotation rate) degrade_rumble
    clicks      add_clicks                                                degrade_impulsive
    crackle     add_crackle                                               degrade_impulsive
    clipping    clip (hard, soft, asymmetric)                             degrade_level
    dc_offset   add_dc (constant or drifting)                             degrade_level
    dropouts    add_dropouts (zeroed or attenuated gaps)                  degrade_level
    bandwidth   limit_bandwidth (lowpass, telephone, am, 78rpm, mp3)      degrade_bandwidth
    wow         add_wow_flutter                                           degrade_speed
    several     degrade(kinds, severity), SEVERITY_RANGES, PHYSICAL_ORDER degrade_mix

Clean signals: synth_speech_like, synth_music_like, sine (degrade_signals).
These are simulator functions, not ops: nothing here registers with the op registry.
"""

from __future__ import annotations

from ._degrade_util import Label
from .degrade_bandwidth import BANDWIDTH_KINDS, HORN_RESONANCES, limit_bandwidth
from .degrade_impulsive import add_clicks, add_crackle
from .degrade_level import add_dc, add_dropouts, clip
from .degrade_mix import PHYSICAL_ORDER, RANDOM_KINDS, SEVERITIES, SEVERITY_RANGES, degrade
from .degrade_noise import NOISE_COLORS, NOISE_CORRELATION, add_hum, add_noise, colored_noise
from .degrade_rumble import add_rumble
from .degrade_signals import sine, synth_music_like, synth_speech_like
from .degrade_speed import add_wow_flutter

__all__ = [
    "BANDWIDTH_KINDS", "HORN_RESONANCES", "NOISE_COLORS", "NOISE_CORRELATION", "PHYSICAL_ORDER", "RANDOM_KINDS", "SEVERITIES",
    "SEVERITY_RANGES", "Label", "add_clicks", "add_crackle", "add_dc", "add_dropouts", "add_hum", "add_noise",
    "add_rumble", "add_wow_flutter", "clip", "colored_noise", "degrade", "limit_bandwidth", "sine", "synth_music_like",
    "synth_speech_like",
]
