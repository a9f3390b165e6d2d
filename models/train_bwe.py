"""Training recipe of the bandwidth extension (`acetate train bwe`), GAN-trained.

Data: 2 s crops of the corpus's train split (30 % at 16 kHz, 70 % at 44.1/48 kHz), band-limited by
the simulator (lowpass, mp3, am, 78rpm; cut-off 4-11 kHz, at most 0.45 x the rate; telephone now and
then), with the cut-off the generator is told jittered by +-5 % as a detector would miss it.
Losses: log-spectral distance on the rebuilt band (what the benchmark scores), multi-resolution STFT
magnitude, and a hinge GAN loss with feature matching from a 2-D convolutional discriminator on the
log spectrogram above 1 kHz, so the rebuilt band has the texture of real high frequencies rather than
a smeared average. Validation: LSD on the validation split against the input and the folding baseline.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from acetate.ops.degrade_bandwidth import limit_bandwidth

from .bwe_net import BweConfig, BweNet, extend, fold
from .losses import multi_resolution
from .spectral import Framing
from .train_data import ClipPool, load_clips
from .weights_io import save_weights

VERSION = "1"
_KINDS = ("lowpass", "mp3", "am", "78rpm", "telephone")
_KIND_P = (0.3, 0.3, 0.15, 0.15, 0.1)


@dataclass
class BweSettings:
    corpus: Path = Path(".corpus-train")
    steps: int = 2500
    batch: int = 8
    seconds: float = 2.0
    lr: float = 1e-3
    seed: int = 20261203
    threads: int = 1
    eval_every: int = 500
    out: Path | None = None


def draw_limit(rng: np.random.Generator, rate: int) -> tuple[str, float]:
    kind = str(rng.choice(_KINDS, p=_KIND_P))
    cutoff = 3400.0 if kind == "telephone" else float(rng.uniform(4000, 11000))
    return kind, min(cutoff, 0.45 * rate)


def make_batch(pool: ClipPool, rng: np.random.Generator, batch: int, seconds: float):
    """(rate, told cut-off, band-limited (B, 1, L), clean (B, 1, L)); one rate and limit per batch."""
    rate = 16000 if rng.random() < 0.3 else int(rng.choice([44100, 48000]))
    kind, cutoff = draw_limit(rng, rate)
    clean, limited = [], []
    for i in range(batch):
        s = pool.crop(rng, rate, ("speech", "music")[i % 2], seconds)
        s = s * (10 ** (rng.uniform(-30, -16) / 20) / (np.sqrt(np.mean(s**2)) + 1e-6))
        y, _ = limit_bandwidth(s.astype(np.float32), rate, cutoff, kind=kind, seed=int(rng.integers(1 << 30)))
        clean.append(s.astype(np.float32))
        limited.append(y)
    told = cutoff * float(rng.uniform(0.95, 1.05))
    return rate, told, torch.from_numpy(np.stack(limited))[:, None], torch.from_numpy(np.stack(clean))[:, None]


def log_power(x: torch.Tensor, rate: int) -> torch.Tensor:
    """log10 power spectrogram scaled like scipy's STFT ('spectrum'), floored at 1e-10 as the
    benchmark's LSD is: (B, bins, T)."""
    framing = Framing.for_rate(rate)
    spec = framing.stft(x.squeeze(1))
    scale = framing.window(x.device).sum() ** 2
    return torch.log10(spec.abs() ** 2 / scale + 1e-10)


def lsd_loss(est: torch.Tensor, ref: torch.Tensor, rate: int, cutoff: float) -> torch.Tensor:
    """RMS log-spectral distance (dB) over the bins above the cut-off, mean over frames."""
    k0 = int(cutoff // Framing.for_rate(rate).bin_hz)
    d = 10 * (log_power(est, rate) - log_power(ref, rate))[:, k0:]
    return torch.sqrt((d**2).mean(dim=1) + 1e-6).mean()


class Discriminator(nn.Module):
    """Convolutional discriminator on the log spectrogram above 1 kHz (frequency x time maps)."""

    def __init__(self) -> None:
        super().__init__()
        chans = [1, 16, 32, 32, 32]
        self.layers = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], (9, 3), stride=(2, 1), padding=(4, 1)) for i in range(4))
        self.out = nn.Conv2d(32, 1, (3, 3), padding=1)

    def forward(self, logp: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h, feats = logp.unsqueeze(1) / 4.0, []
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.2)
            feats.append(h)
        return self.out(h), feats


def _band(logp: torch.Tensor, rate: int) -> torch.Tensor:
    return logp[:, int(1000 // Framing.for_rate(rate).bin_hz):]


def validation_set(corpus: Path, seed: int, n: int = 24) -> list[dict]:
    pool = ClipPool(load_clips(corpus, "validation"))
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n // 4):
        rate, cutoff, limited, clean = make_batch(pool, rng, 4, 4.0)
        out.append({"rate": rate, "cutoff": cutoff, "limited": limited, "clean": clean})
    return out


def evaluate(net: BweNet, val: list[dict]) -> dict[str, float]:
    net.eval()
    res = {"lsd_in": [], "lsd_out": [], "lsd_fold": []}
    with torch.inference_mode():
        for v in val:
            r, c = v["rate"], v["cutoff"]
            res["lsd_in"].append(float(lsd_loss(v["limited"], v["clean"], r, c)))
            res["lsd_out"].append(float(lsd_loss(extend(net, v["limited"], r, c), v["clean"], r, c)))
            res["lsd_fold"].append(float(lsd_loss(fold(v["limited"], r, c), v["clean"], r, c)))
    net.train()
    return {k: float(np.mean(x)) for k, x in res.items()}


def train(settings: BweSettings, log=print) -> dict:
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = np.random.default_rng(settings.seed)
    pool = ClipPool(load_clips(settings.corpus, "train"))
    val = validation_set(settings.corpus, settings.seed + 1)
    cfg = BweConfig()
    gen, disc = BweNet(cfg), Discriminator()
    opt_g = torch.optim.AdamW(gen.parameters(), lr=settings.lr, betas=(0.8, 0.99))
    opt_d = torch.optim.AdamW(disc.parameters(), lr=settings.lr, betas=(0.8, 0.99))
    warm_gan = settings.steps // 5  # the envelope first learns from the spectral losses alone
    best, best_metrics, history, t0, running = math.inf, {}, [], time.perf_counter(), []
    for step in range(settings.steps):
        lr = settings.lr * 0.5 * (1 + math.cos(math.pi * step / settings.steps))
        for opt in (opt_g, opt_d):
            for g in opt.param_groups:
                g["lr"] = lr
        rate, cutoff, limited, clean = make_batch(pool, rng, settings.batch, settings.seconds)
        fake = extend(gen, limited, rate, cutoff)
        loss_g = lsd_loss(fake, clean, rate, cutoff) / 10 + multi_resolution(fake, clean, rate)
        if step >= warm_gan:
            real_lp, fake_lp = _band(log_power(clean, rate), rate), _band(log_power(fake, rate), rate)
            d_real, _ = disc(real_lp)
            d_fake, _ = disc(fake_lp.detach())
            loss_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            d_fake, f_fake = disc(fake_lp)
            with torch.no_grad():
                _, f_real = disc(real_lp)
            fm = sum(F.l1_loss(a, b) for a, b in zip(f_fake, f_real, strict=True)) / len(f_real)
            loss_g = loss_g + 0.1 * (-d_fake.mean()) + 1.0 * fm
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        torch.nn.utils.clip_grad_norm_(gen.parameters(), 1.0)
        opt_g.step()
        running.append(float(loss_g.detach()))
        if (step + 1) % settings.eval_every == 0 or step + 1 == settings.steps:
            m = evaluate(gen, val)
            history.append({"step": step + 1, "loss": float(np.mean(running)), **m})
            log(f"step {step + 1}: loss {np.mean(running):.3f} lsd in {m['lsd_in']:.2f} out {m['lsd_out']:.2f} "
                f"fold {m['lsd_fold']:.2f} ({time.perf_counter() - t0:.0f} s)")
            running = []
            if m["lsd_out"] < best:
                best, best_metrics = m["lsd_out"], {**m, "step": step + 1}
                save_weights("bwe", gen.state_dict(), version=VERSION, config=cfg.to_dict(),
                             metrics={**best_metrics, "seed": settings.seed}, directory=settings.out)
    return {"metrics": best_metrics, "history": history, "train_seconds": round(time.perf_counter() - t0, 1)}
