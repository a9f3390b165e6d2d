"""Training recipe of the denoiser (`acetate train denoiser`): reproducible from scratch on a CPU.

Data: the corpus's train split (speech and music, 16-48 kHz) cropped to 3 s, mixed with generated
noise (train_data.random_noise) at -5..25 dB SNR (mostly 5-25); 15 % of examples are clean (target =
input) and 8 % carry only faint noise (25-45 dB), so the network learns to leave clean material alone.
Validation: the validation split (other voices and pieces) with the simulator's own noise at the
benchmark's moderate severity, scored by SI-SDR improvement per content and rate, and SI-SDR of
clean input passed through. The checkpoint with the best validation score is kept.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from acetate.ops.degrade_noise import NOISE_COLORS, add_noise
from acetate.ops.measures import si_sdr

from .denoiser_net import DenoiserConfig, DenoiserNet, enhance
from .losses import compressed_spectral, multi_resolution, snr_loss
from .train_data import ClipPool, load_clips, mix_at_snr, random_noise
from .weights_io import save_weights

VERSION = "1"


@dataclass
class TrainSettings:
    corpus: Path = Path(".corpus-train")
    steps: int = 10000
    batch: int = 8
    seconds: float = 2.0
    lr: float = 1.5e-3
    seed: int = 20261201
    threads: int = 1  # one thread: reproducible bit for bit, and faster than two on a busy machine
    eval_every: int = 500
    out: Path | None = None  # weights directory (default: the package's models/weights)


def make_batch(pool: ClipPool, rng: np.random.Generator, batch: int, seconds: float):
    """(rate, noisy (B, 1, L), clean (B, 1, L)): half speech, half music, one rate per batch."""
    rate = pool.draw_rate(rng)
    noisy, clean = [], []
    for i in range(batch):
        s = pool.crop(rng, rate, ("speech", "music")[i % 2], seconds)
        u = rng.random()
        if u < 0.15:
            x = s.copy()
        else:
            snr = rng.uniform(-5, 5) if u < 0.25 else rng.uniform(5, 25) if u < 0.92 else rng.uniform(25, 45)
            x = mix_at_snr(s, random_noise(s.size, rate, rng), snr)
        g = 10 ** (rng.uniform(-20, 6) / 20)  # level is irrelevant to the features; vary it anyway
        g = min(g, 0.99 / max(float(np.abs(x).max()), 1e-6))
        noisy.append(x * g)
        clean.append(s * g)
    return rate, torch.from_numpy(np.stack(noisy))[:, None], torch.from_numpy(np.stack(clean))[:, None]


def validation_set(corpus: Path, seed: int, per_group: int = 4, seconds: float = 8.0) -> list[dict]:
    """Fixed noisy/clean pairs from the validation split, noise as the benchmark makes it."""
    clips = load_clips(corpus, "validation")
    rng = np.random.default_rng(seed)
    out, seen = [], {}
    for c in clips:
        group = (c.content, "16k" if c.sample_rate == 16000 else "44-48k")
        if seen.get(group, 0) >= per_group or (group[1] == "44-48k" and c.audio.shape[0] != 2):
            continue
        seen[group] = seen.get(group, 0) + 1
        x = c.audio[:, : int(seconds * c.sample_rate)]
        color = NOISE_COLORS[len(out) % len(NOISE_COLORS)]
        noisy, _ = add_noise(x, c.sample_rate, float(rng.uniform(10, 20)), color, seed=int(rng.integers(1 << 30)))
        out.append({"group": group, "sr": c.sample_rate, "clean": x, "noisy": noisy})
    return out


def evaluate(net: DenoiserNet, val: list[dict]) -> dict[str, float]:
    net.eval()
    gains: dict[str, list[float]] = {}
    clean_keep = []
    with torch.inference_mode():
        for v in val:
            for key, x in (("noisy", v["noisy"]), ("clean", v["clean"])):
                y = enhance(net, torch.from_numpy(x)[None], v["sr"])[0].numpy()
                if key == "noisy":
                    name = "/".join(v["group"])
                    gains.setdefault(name, []).append(si_sdr(v["clean"], y) - si_sdr(v["clean"], x))
                else:
                    clean_keep.append(min(si_sdr(x, y), 100.0))
    net.train()
    metrics = {f"dsisdr_{k}": float(np.mean(g)) for k, g in sorted(gains.items())}
    metrics["clean_sisdr"] = float(np.mean(clean_keep))
    metrics["clean_sisdr_min"] = float(np.min(clean_keep))
    return metrics


def _score(m: dict[str, float]) -> float:
    """Model selection: mean improvement, minus a steep penalty for harming clean input below 30 dB."""
    gains = [v for k, v in m.items() if k.startswith("dsisdr_")]
    return float(np.mean(gains)) - 0.5 * max(0.0, 30.0 - m["clean_sisdr_min"])


def loss_fn(est: torch.Tensor, ref: torch.Tensor, rate: int) -> torch.Tensor:
    return (compressed_spectral(est, ref, rate) + 0.25 * multi_resolution(est, ref, rate, (0.008, 0.064))
            + 0.02 * snr_loss(est, ref))


def train(settings: TrainSettings, log=print) -> dict:
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = np.random.default_rng(settings.seed)
    pool = ClipPool(load_clips(settings.corpus, "train"))
    val = validation_set(settings.corpus, settings.seed + 1)
    cfg = DenoiserConfig()
    net = DenoiserNet(cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=1e-4)
    warm = 200

    def lr_at(step: int) -> float:
        if step < warm:
            return settings.lr * (step + 1) / warm
        frac = (step - warm) / max(1, settings.steps - warm)
        return 5e-5 + 0.5 * (settings.lr - 5e-5) * (1 + math.cos(math.pi * frac))

    best, best_metrics, history = -math.inf, {}, []
    t0, running = time.perf_counter(), []
    for step in range(settings.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        rate, noisy, clean = make_batch(pool, rng, settings.batch, settings.seconds)
        loss = loss_fn(enhance(net, noisy, rate), clean, rate)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        running.append(float(loss))
        if (step + 1) % settings.eval_every == 0 or step + 1 == settings.steps:
            m = evaluate(net, val)
            score = _score(m)
            history.append({"step": step + 1, "loss": float(np.mean(running)), **m})
            log(f"step {step + 1}: loss {np.mean(running):.4f} {_fmt(m)} score {score:.2f} "
                f"({time.perf_counter() - t0:.0f} s)")
            running = []
            if score > best:  # saved at once, so an interrupted run still leaves its best
                best, best_metrics = score, {**m, "step": step + 1}
                save_weights("denoiser", net.state_dict(), version=VERSION, config=cfg.to_dict(),
                             metrics={**best_metrics, "seed": settings.seed}, directory=settings.out)
    return {"metrics": best_metrics, "history": history, "train_seconds": round(time.perf_counter() - t0, 1)}


def _fmt(m: dict[str, float]) -> str:
    return " ".join(f"{k.removeprefix('dsisdr_')} {v:+.2f}" if k.startswith("dsisdr") else f"{k} {v:.1f}"
                    for k, v in m.items())
