"""The tagger network: what a 2 s patch holds (speech, music, both) and which degradations it shows.

Input: a 2 s patch of the mono mix at 16 kHz as 64-band log-mel (25 ms / 10 ms), level-normalised
(its mean log energy subtracted), so it judges character, not loudness. A small CNN (four conv
blocks, 16-96 channels, ~110k parameters) pools frequency then time (mean and max) into a 192-value
embedding, from which two heads give 8 degradation logits (multi-label) and 3 content logits. The
embedding also serves the out-of-distribution check (Mahalanobis distance to the training data).
Reference: Q. Kong et al., "PANNs: large-scale pretrained audio neural networks", IEEE/ACM TASLP 28
(2020) (log-mel CNN tagging, on a far smaller scale here).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torchaudio
from torch import nn

RATE = 16000
PATCH_S = 2.0
PATCH = int(RATE * PATCH_S)
CONTENTS = ("speech", "music", "mixed")


@dataclass(frozen=True)
class TaggerConfig:
    kinds: tuple[str, ...] = ("noise", "hum", "clicks", "clipping", "bandwidth", "dropouts", "wow", "dc_offset")
    mels: int = 64
    widths: tuple[int, ...] = (16, 32, 64, 96)

    def to_dict(self) -> dict:
        return asdict(self)


class LogMel(nn.Module):
    def __init__(self, mels: int) -> None:
        super().__init__()
        self.mel = torchaudio.transforms.MelSpectrogram(RATE, n_fft=400, hop_length=160, n_mels=mels,
                                                        f_min=30.0, f_max=8000.0, power=2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, PATCH) -> (B, 1, mels, frames), mean log energy removed per patch."""
        m = torch.log10(self.mel(x) + 1e-10)
        return (m - m.mean(dim=(1, 2), keepdim=True)).unsqueeze(1)


class MaxPool2(nn.Module):
    """nn.MaxPool2d(2) (2 x 2 windows, stride 2, odd last row and column dropped). Without gradients,
    as the maxima of row pairs then column pairs: the same values, ~8x faster than torch's CPU kernel
    on these shapes (it was half of the tagger's network time); with gradients, torch's own kernel,
    so training (its choice among tied maxima) is unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            return nn.functional.max_pool2d(x, 2)
        h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
        x = x[..., :h, :w]
        rows = torch.maximum(x[..., 0::2, :], x[..., 1::2, :])
        return torch.maximum(rows[..., 0::2], rows[..., 1::2])


def _block(cin: int, cout: int, pool: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    if pool:
        layers.append(MaxPool2())
    return nn.Sequential(*layers)


class TaggerNet(nn.Module):
    def __init__(self, cfg: TaggerConfig = TaggerConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        self.frontend = LogMel(cfg.mels)
        w = (1, *cfg.widths)
        self.body = nn.Sequential(*[_block(w[i], w[i + 1], pool=i + 1 < len(w) - 1) for i in range(len(w) - 1)])
        self.kind_head = nn.Linear(2 * w[-1], len(cfg.kinds))
        self.content_head = nn.Linear(2 * w[-1], len(CONTENTS))
        # Out-of-distribution statistics of the training embeddings, set after training.
        e = 2 * w[-1]
        self.register_buffer("ood_mean", torch.zeros(e))
        self.register_buffer("ood_precision", torch.eye(e))
        self.register_buffer("ood_limit", torch.tensor(float("inf")))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, PATCH) waveform -> (B, 2 * widths[-1]) embedding."""
        h = self.body(self.frontend(x)).mean(dim=2)  # (B, C, frames)
        return torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)

    def ood_distance(self, e: torch.Tensor) -> torch.Tensor:
        """Squared Mahalanobis distance of embeddings (B, E) to the training embeddings' Gaussian."""
        d = e - self.ood_mean
        return torch.einsum("be,ef,bf->b", d, self.ood_precision, d)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (kind logits (B, kinds), content logits (B, 3), embedding)."""
        e = self.embed(x)
        return self.kind_head(e), self.content_head(e), e
