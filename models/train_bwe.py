"""Training recipe of the bandwidth extension (`acetate train bwe`).

Data: 2 s crops of the corpus's train split (30 % at 16 kHz, 70 % at 44.1/48 kHz) at -36 to -10
dBFS, band-limited by the simulator (lowpass, mp3, am, 78rpm; cut-off 4-11 kHz, at most 0.45 x the
rate; telephone now and then), with the cut-off the generator is told jittered by +-5 % as a detector
would miss it. A quarter of the crops carry broadband noise 25-50 dB below them before the limit, so
the clean target has content up to the Nyquist frequency as real transfers do: the corpus's TTS voices
(22.05 kHz) and soundfonts have next to nothing above ~11 kHz, and a model trained on them alone would
learn that there never is anything up there.
Losses: the benchmark's log-spectral distance on the rebuilt band, computed as the benchmark does it
(2048-point Hann STFT, hop 512, scipy's 'spectrum' scaling, power floor 1e-10), plus a small
multi-resolution STFT term; optionally (gan_weight > 0; off by default: it always made 44.1/48 kHz
worse) a hinge GAN term with feature matching in the last `gan_fraction` of the steps.
Stability: validation LSD swung 2.9-8.0 dB between checkpoints of version 3, whose TCN used
BatchNorm over batches of one rate and one band limit each: in training the batch statistics
normalised rate and cut-off away, at inference one mixed set of running statistics did not
(recomputing them as a plain mean over fixed training batches of every rate, as SWA does, made it
worse: +4.0 dB worst-group margin at step 600). The network now normalises per frame (bwe_net.
FrameNorm); what is evaluated and kept is an exponential moving average of the weights (from
`ema_start` of the steps on; Polyak and Juditsky, SIAM J. Control Optim. 30, 1992; BatchNorm
statistics, for a "batch" config, recomputed on fixed training batches: Izmailov et al., UAI 2018),
under a cosine learning rate that ends at `lr_final` x the peak. The checkpoint kept has the least validation score:
the LSD averaged over the four groups (speech and music at 16 and 44.1/48 kHz, the simulator's
moderate band limits, exact cut-off) plus `penalty` x every group's excess over its input or folding.
Calibration: the kept weights are then run over every validation clip band-limited as the benchmark
does it (the simulator's `bandwidth` at "moderate"), and for each rate class (16 kHz; 44.1/48 kHz:
what inference knows) the level offset and gate (BweConfig) with the best worst-group margin over
input and folding are saved with them.
"""

from __future__ import annotations

import copy
import hashlib
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from scipy.signal import stft
from torch import nn
from torch.nn import functional as F

from acetate.ops.degrade import degrade
from acetate.ops.degrade_bandwidth import limit_bandwidth

from .bwe_net import FLOOR, WIDE_RATE_HZ, BweConfig, BweNet, band_mask, extend, fold, target_levels
from .losses import multi_resolution
from .train_data import ClipPool, load_clips, random_noise
from .weights_io import save_weights

VERSION = "4"
_KINDS = ("lowpass", "mp3", "am", "78rpm", "telephone")
_KIND_P = (0.3, 0.3, 0.15, 0.15, 0.1)
_VAL_KINDS = ("mp3", "am", "78rpm", "lowpass")  # the simulator's "moderate" band limits, 4.5-7 kHz
GROUPS = (("speech", 16000), ("music", 16000), ("speech", 44100), ("music", 44100))
_BENCH_WIN, _BENCH_HOP = 2048, 512


@dataclass
class BweSettings:
    corpus: Path = Path(".corpus-train")
    steps: int = 3000
    batch: int = 8
    seconds: float = 2.0
    lr: float = 1e-3
    lr_final: float = 0.02  # the cosine schedule's last learning rate, x lr
    seed: int = 20261203
    threads: int = 1
    eval_every: int = 300
    hiss_p: float = 0.25
    mr_weight: float = 0.05
    level_weight: float = 1.0
    gan_fraction: float = 0.2
    gan_weight: float = 0.0
    ema_decay: float = 0.998
    ema_start: float = 0.3  # fraction of the steps after which the average starts (before: a copy)
    bn_batches: int = 24  # fixed training batches the averaged weights' BatchNorm statistics come from
    penalty: float = 5.0  # selection: x each group's LSD excess over min(input, folding)
    val_per_group: int = 10
    calibrate: bool = True  # choose the inference (offset_db, gate_db) on validation after training
    out: Path | None = None


def draw_limit(rng: np.random.Generator, rate: int) -> tuple[str, float]:
    kind = str(rng.choice(_KINDS, p=_KIND_P))
    cutoff = 3400.0 if kind == "telephone" else float(rng.uniform(4000, 11000))
    return kind, min(cutoff, 0.45 * rate)


def _example(pool: ClipPool, rng: np.random.Generator, rate: int, content: str, seconds: float, kind: str,
             cutoff: float, hiss_p: float, relevel: bool = True) -> tuple[np.ndarray, np.ndarray]:
    s = pool.crop(rng, rate, content, seconds).astype(np.float64)
    if rng.random() < hiss_p:
        noise = random_noise(s.size, rate, rng)
        s = s + noise * np.sqrt(np.mean(s**2)) * 10 ** (-rng.uniform(25, 50) / 20)
    if relevel:  # the LSD's floor is absolute: the model must see levels beyond the corpus's -30..-16 dBFS
        s = s * (10 ** (rng.uniform(-36, -10) / 20) / (np.sqrt(np.mean(s**2)) + 1e-9))
    s = s.astype(np.float32)
    y, _ = limit_bandwidth(s, rate, cutoff, kind=kind, seed=int(rng.integers(1 << 30)))
    return s, y


def make_batch(pool: ClipPool, rng: np.random.Generator, batch: int, seconds: float, hiss_p: float = 0.0):
    """(rate, told cut-off, band-limited (B, 1, L), clean (B, 1, L)); one rate and limit per batch."""
    rate = 16000 if rng.random() < 0.3 else int(rng.choice([44100, 48000]))
    kind, cutoff = draw_limit(rng, rate)
    pairs = [_example(pool, rng, rate, ("speech", "music")[i % 2], seconds, kind, cutoff, hiss_p)
             for i in range(batch)]
    told = cutoff * float(rng.uniform(0.95, 1.05))
    return (rate, told, torch.from_numpy(np.stack([p[1] for p in pairs]))[:, None],
            torch.from_numpy(np.stack([p[0] for p in pairs]))[:, None])


def bench_log_power(x: torch.Tensor) -> torch.Tensor:
    """(B, C, L) -> (B, C, bins, T) log10 power as benchmarks/quality_lib/metrics.py computes it:
    scipy.signal.stft(nperseg=2048, noverlap=1536) = periodic Hann, zero-padded ends, 'spectrum'
    scaling (divided by the window's sum), floored at 1e-10."""
    win = torch.hann_window(_BENCH_WIN, periodic=True, dtype=x.dtype, device=x.device)
    spec = torch.stft(x.reshape(-1, x.shape[-1]), _BENCH_WIN, _BENCH_HOP, window=win, center=True,
                      pad_mode="constant", return_complex=True) / win.sum()
    logp = torch.log10(spec.real**2 + spec.imag**2 + FLOOR)
    return logp.reshape(*x.shape[:-1], *logp.shape[-2:])


def lsd_loss(est: torch.Tensor, ref: torch.Tensor, rate: int, cutoff: float) -> torch.Tensor:
    """The benchmark's log-spectral distance (dB: RMS over bins, mean over frames) restricted to the
    bins above the cut-off, where the estimate can differ from the input."""
    k0 = int(cutoff / (rate / _BENCH_WIN))
    d = 10 * (bench_log_power(est) - bench_log_power(ref))[..., k0:, :]
    return torch.sqrt((d**2).mean(dim=-2) + 1e-6).mean()


class Discriminator(nn.Module):
    """Convolutional discriminator on the log spectrogram above 1 kHz (frequency x time maps), its
    frequency axis first pooled by 4 (cheap enough for one CPU thread)."""

    def __init__(self) -> None:
        super().__init__()
        chans = [1, 8, 16, 16, 16]
        self.layers = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], (9, 3), stride=(2, 1), padding=(4, 1)) for i in range(4))
        self.out = nn.Conv2d(16, 1, (3, 3), padding=1)

    def forward(self, logp: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        h, feats = F.avg_pool2d((logp.unsqueeze(1) + 10.0) / 4.0, (4, 1)), []
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.2)
            feats.append(h)
        return self.out(h), feats


def _band(x: torch.Tensor, rate: int) -> torch.Tensor:
    return bench_log_power(x)[:, 0, int(1000 / (rate / _BENCH_WIN)):]


def validation_set(corpus: Path, seed: int, per_group: int = 10, seconds: float = 4.0) -> list[dict]:
    """Fixed validation examples per (content, rate) group at the corpus's own levels (the 44.1 kHz
    group is drawn at 44.1 and 48 kHz)."""
    pool = ClipPool(load_clips(corpus, "validation"))
    rng = np.random.default_rng(seed)
    out = []
    for content, base in GROUPS:
        for i in range(per_group):
            rate = base if base == 16000 else (44100, 48000)[i % 2]
            kind, cutoff = str(rng.choice(_VAL_KINDS)), float(rng.uniform(4500, 7000))
            clean, limited = _example(pool, rng, rate, content, seconds, kind, cutoff, 0.0, relevel=False)
            out.append({"group": f"{content}-{'16k' if base == 16000 else '44-48k'}", "rate": rate,
                        "cutoff": cutoff, "limited": limited, "clean": clean})
    return out


def lsd(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """benchmarks/quality_lib/metrics.py's log_spectral_distance (full band), restated here because
    models/ does not import the benchmarks: (channels, frames) arrays -> dB."""
    return lsd_to(log_spectrum(reference, sample_rate), estimate, sample_rate)


def log_spectrum(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """(channels, frames) -> the benchmark's dB spectrogram (channels, bins, STFT frames)."""
    _, _, z = stft(x.astype(np.float64), fs=sample_rate, nperseg=_BENCH_WIN, noverlap=_BENCH_WIN - _BENCH_HOP, axis=-1)
    return 10 * np.log10(np.abs(z) ** 2 + FLOOR)


def lsd_to(reference_db: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """`lsd` against a reference's log_spectrum computed once."""
    return float(np.mean(np.sqrt(np.mean((reference_db - log_spectrum(estimate, sample_rate)) ** 2, axis=-2))))


def evaluate(net: BweNet, val: list[dict], penalty: float = 5.0) -> dict[str, float]:
    """Per group, the benchmark's full-band LSD of the input, the model and folding; `margin`: the
    worst group's LSD of the model minus the better of input and folding (negative: the model beats
    both in every group); `score` (the selection's): the model's LSD averaged over groups plus
    penalty x the sum of the groups' positive margins. Input and folding are computed once per example."""
    was_training = net.training
    net.eval()
    res: dict[str, dict[str, list[float]]] = {}
    with torch.inference_mode():
        for v in val:
            r, c, x = v["rate"], v["cutoff"], torch.from_numpy(v["limited"])[None, None]
            ref = v["clean"][None]
            if "lsd_in" not in v:
                v["lsd_in"] = lsd(ref, v["limited"][None], r)
                v["lsd_fold"] = lsd(ref, fold(x, r, c)[0, 0].numpy()[None], r)
            out = extend(net, x, r, c)[0, 0].numpy()
            g = res.setdefault(v["group"], {"in": [], "out": [], "fold": []})
            g["in"].append(v["lsd_in"])
            g["out"].append(lsd(ref, out[None], r))
            g["fold"].append(v["lsd_fold"])
    net.train(was_training)
    metrics = {f"{k}_{name}": float(np.mean(x)) for k, g in res.items() for name, x in g.items()}
    excess = [metrics[f"{k}_out"] - min(metrics[f"{k}_in"], metrics[f"{k}_fold"]) for k in res]
    metrics["margin"] = max(excess)
    metrics["score"] = float(np.mean([metrics[f"{k}_out"] for k in res])) + penalty * sum(max(e, 0.0) for e in excess)
    return metrics


# the calibration grid (train_bwe.calibrate): level offsets (dB) x gates (dB above the floor; None: none)
OFFSETS_DB = (-15.0, -12.0, -9.0, -7.5, -6.0, -4.5, -3.0, -1.5, 0.0)  # 16 kHz music wanted down to -15
GATES_DB = (None, 3.0, 6.0)
_CAL_FORMATS = {(16000, 1): "16k", (44100, 1): "44-48k", (44100, 2): "44-48k", (48000, 2): "44-48k"}


def calibration_set(corpus: Path, max_seconds: float = 10.0, draws: int = 2) -> list[dict]:
    """Every validation clip at 16 kHz mono and 44.1/48 kHz (up to max_seconds), band-limited as the
    benchmark does it (the simulator's `bandwidth` at "moderate" severity) `draws` times, seeded by the
    clip's id and the draw: with one draw per clip the worst group's margin depended on which limits
    were drawn (one draw failed 16 kHz music by +0.008 dB with the setting another passed by -0.075)."""
    out = []
    for clip in load_clips(corpus, "validation"):
        group = _CAL_FORMATS.get((clip.sample_rate, clip.audio.shape[0]))
        if group is None:
            continue
        clean = np.ascontiguousarray(clip.audio[:, : int(max_seconds * clip.sample_rate)])
        for d in range(draws):
            seed = int.from_bytes(hashlib.sha256(repr(("bwe-cal", clip.name, d)).encode()).digest()[:4], "little")
            limited, label = degrade(clean, clip.sample_rate, ["bandwidth"], "moderate", seed=seed)
            out.append({"group": f"{clip.content}-{group}", "draw": d, "rate": clip.sample_rate, "clean": clean,
                        "limited": limited, "cutoff": float(label["steps"][0]["params"]["cutoff_hz"])})
    return out


def calibrate(net: BweNet, cal: list[dict], log=print) -> tuple[tuple[float, float | None], dict[str, float]]:
    """The (offset_db, gate_db) of the grid with the best worst margin over the better of input and
    folding, the worst taken over every group in every draw of `cal` (ties: the best mean margin), and
    that setting's figures per group (all draws pooled). `cal` holds one rate class (calibrate_by_rate)."""
    settings = [(o, g) for o in OFFSETS_DB for g in GATES_DB]
    lsds: dict[tuple, list[float]] = {s: [] for s in settings}
    net.eval()
    with torch.inference_mode():
        for v in cal:
            r, c, x = v["rate"], v["cutoff"], torch.from_numpy(v["limited"])[None]
            ref = log_spectrum(v["clean"], r)
            v.setdefault("lsd_in", lsd_to(ref, v["limited"], r))
            v.setdefault("lsd_fold", lsd_to(ref, fold(x, r, c)[0].numpy(), r))
            for s in settings:
                lsds[s].append(lsd_to(ref, extend(net, x, r, c, calibration=s)[0].numpy(), r))
    groups = sorted({v["group"] for v in cal})

    def figures(s: tuple) -> dict[str, float]:
        m: dict[str, float] = {}
        for g in groups:
            idx = [i for i, v in enumerate(cal) if v["group"] == g]
            m[f"{g}_in"] = float(np.mean([cal[i]["lsd_in"] for i in idx]))
            m[f"{g}_fold"] = float(np.mean([cal[i]["lsd_fold"] for i in idx]))
            m[f"{g}_out"] = float(np.mean([lsds[s][i] for i in idx]))
            m[f"{g}_clips"] = len(idx)
        margins = [m[f"{g}_out"] - min(m[f"{g}_in"], m[f"{g}_fold"]) for g in groups]
        m["pooled_margin"], m["mean_margin"] = max(margins), float(np.mean(margins))
        m["margin"] = max(_margin([i for i, v in enumerate(cal) if v["group"] == g and v["draw"] == d], cal, lsds[s])
                          for g in groups for d in {v["draw"] for v in cal})
        return m

    table = {s: figures(s) for s in settings}
    for s, m in table.items():
        per_group = " ".join(f"{g} {m[g + '_out'] - min(m[g + '_in'], m[g + '_fold']):+.3f}" for g in groups)
        log(f"calibration offset {s[0]:+.1f} dB gate {s[1]}: worst {m['margin']:+.3f} pooled {m['pooled_margin']:+.3f} "
            f"mean {m['mean_margin']:+.3f} "
            f"({per_group})")
    best = min(settings, key=lambda s: (round(table[s]["margin"], 3), table[s]["mean_margin"]))
    return best, table[best]


def _margin(idx: list[int], cal: list[dict], out: list[float]) -> float:
    """Mean LSD of the model minus the better of the input's and folding's means, over examples idx."""
    mean = lambda key: float(np.mean([cal[i][key] for i in idx]))  # noqa: E731
    return float(np.mean([out[i] for i in idx])) - min(mean("lsd_in"), mean("lsd_fold"))


def train(settings: BweSettings, log=print) -> dict:
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    rng = np.random.default_rng(settings.seed)
    pool = ClipPool(load_clips(settings.corpus, "train"))
    val = validation_set(settings.corpus, settings.seed + 1, settings.val_per_group)
    cfg = BweConfig()
    gen, disc = BweNet(cfg), Discriminator()
    opt_g = torch.optim.AdamW(gen.parameters(), lr=settings.lr, betas=(0.8, 0.99))
    opt_d = torch.optim.AdamW(disc.parameters(), lr=settings.lr, betas=(0.8, 0.99))
    gan_from = int(settings.steps * (1 - settings.gan_fraction)) if settings.gan_weight > 0 else settings.steps
    ema, ema_from = copy.deepcopy(gen), int(settings.ema_start * settings.steps)
    bn_rng = np.random.default_rng(settings.seed + 2)  # its own stream: the training draws stay as they were
    bn_set = [make_batch(pool, bn_rng, settings.batch, settings.seconds, settings.hiss_p)
              for _ in range(settings.bn_batches)]
    best, best_metrics, history, t0, running = math.inf, {}, [], time.perf_counter(), []
    for step in range(settings.steps):
        lr = settings.lr * (settings.lr_final + (1 - settings.lr_final) * 0.5 * (1 + math.cos(math.pi * step / settings.steps)))
        for opt in (opt_g, opt_d):
            for g in opt.param_groups:
                g["lr"] = lr
        rate, cutoff, limited, clean = make_batch(pool, rng, settings.batch, settings.seconds, settings.hiss_p)
        fake, level = extend(gen, limited, rate, cutoff, return_levels=True)
        loss_g = lsd_loss(fake, clean, rate, cutoff) / 10 + settings.mr_weight * multi_resolution(fake, clean, rate)
        if level is not None:  # the band levels against the LSD-optimal ones: a dense, direct gradient
            mask = band_mask(cfg.bands, rate, cutoff)
            err = (torch.log10(10**level + FLOOR) - target_levels(clean, rate, cfg.bands)).abs() * mask
            loss_g = loss_g + settings.level_weight * err.sum() / (mask.sum() * err.shape[0] * err.shape[-1])
        if step >= gan_from:
            real_lp, fake_lp = _band(clean, rate), _band(fake, rate)
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
            loss_g = loss_g + settings.gan_weight * (-d_fake.mean() + 10 * fm)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        torch.nn.utils.clip_grad_norm_(gen.parameters(), 1.0)
        opt_g.step()
        ema_update(ema, gen, settings.ema_decay if step >= ema_from else 0.0)
        running.append(float(loss_g.detach()))
        if (step + 1) % settings.eval_every == 0 or step + 1 == settings.steps:
            recompute_batchnorm(ema, bn_set)
            m = evaluate(ema, val, settings.penalty)
            history.append({"step": step + 1, "loss": float(np.mean(running)), "gan": step >= gan_from, **m})
            groups = " ".join(f"{k[:-4]} {m[k]:.2f}/{m[k[:-4] + '_in']:.2f}" for k in m if k.endswith("_out"))
            log(f"step {step + 1}: loss {np.mean(running):.3f} score {m['score']:.3f} margin {m['margin']:+.3f} "
                f"out/in {groups} ({time.perf_counter() - t0:.0f} s)")
            running = []
            if m["score"] < best:
                best, best_metrics = m["score"], {**m, "step": step + 1, "gan": step >= gan_from}
                best_state = {k: v.detach().clone() for k, v in ema.state_dict().items()}
                save_weights("bwe", best_state, version=VERSION, config=cfg.to_dict(),
                             metrics={**best_metrics, "seed": settings.seed}, directory=settings.out)
    if settings.calibrate:
        best_metrics = calibrate_saved(best_state, cfg, best_metrics, settings, log)
    return {"metrics": best_metrics, "history": history, "train_seconds": round(time.perf_counter() - t0, 1)}


def ema_update(ema: nn.Module, net: nn.Module, decay: float) -> None:
    """ema's parameters <- decay x theirs + (1 - decay) x net's (decay 0: a copy)."""
    with torch.no_grad():
        for pe, p in zip(ema.parameters(), net.parameters(), strict=True):
            pe.mul_(decay).add_(p.detach(), alpha=1 - decay)


def recompute_batchnorm(net: BweNet, batches: list) -> None:
    """Reset every BatchNorm's running statistics and set them to the plain mean over `batches`
    (make_batch tuples, every rate), the statistics the averaged weights would have seen."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    was_training = net.training
    net.train()
    with torch.no_grad():
        for rate, cutoff, limited, _ in batches:
            extend(net, limited, rate, cutoff)
    for m, mom in zip(norms, momenta, strict=True):
        m.momentum = mom
    net.train(was_training)


def calibrate_by_rate(net: BweNet, cal: list[dict], log=print) -> tuple[BweConfig, dict[str, float]]:
    """`calibrate` separately for the files below WIDE_RATE_HZ and those at or above it (the rate is
    all inference knows; never the content): the config with both settings and the pooled figures."""
    cfg, figures = net.cfg, {}
    for wide in (False, True):
        part = [v for v in cal if (v["rate"] >= WIDE_RATE_HZ) == wide]
        if not part:
            continue
        (offset, gate), fig = calibrate(net, part, log)
        log(f"calibrated {'>=' if wide else '<'} {WIDE_RATE_HZ} Hz: offset {offset:+.1f} dB, gate {gate} dB; "
            f"worst-group margin {fig['margin']:+.3f} dB")
        cfg = replace(cfg, **({"wide_offset_db": offset, "wide_gate_db": gate} if wide
                              else {"offset_db": offset, "gate_db": gate}))
        figures.update({("wide_" if wide else "narrow_") + k if "margin" in k else k: x for k, x in fig.items()})
    figures["margin"] = max(x for k, x in figures.items() if k.endswith("_margin") and "mean" not in k
                            and "pooled" not in k)
    return cfg, figures


def calibrate_saved(state: dict, cfg: BweConfig, metrics: dict, settings: BweSettings, log=print) -> dict:
    """Calibrate the kept weights on the validation clips and save them again with the chosen
    calibration in their config; returns the metrics with the calibrated figures."""
    net = BweNet(cfg)
    net.load_state_dict(state)
    cfg, figures = calibrate_by_rate(net, calibration_set(settings.corpus), log)
    metrics = {**metrics, "seed": settings.seed, "calibration": figures}
    save_weights("bwe", state, version=VERSION, config=cfg.to_dict(), metrics=metrics, directory=settings.out)
    return metrics
