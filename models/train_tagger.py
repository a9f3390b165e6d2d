"""Training recipe of the tagger (`acetate train tagger`): content class and degradation labels.

Examples are 2 s crops of the corpus (train split; validation split for model selection) at their
own rate, given 0-3 degradations by the simulator at a random severity (mild, moderate, severe), with
the simulator's ground truth as labels: a kind whose damage is local (clicks, dropouts, clipping)
counts only where its regions fall in the crop. A third of the music and speech crops are mixed
(speech over music at -10..+10 dB) as the `mixed` class. Crops are then mixed down to mono and
resampled to 16 kHz, exactly as analysis does. After training, the mean and covariance of the
training embeddings are stored for the out-of-distribution check.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from scipy.signal import resample_poly
from torch import nn

from acetate.ops.degrade import RANDOM_KINDS, SEVERITIES, degrade

from .tagger_net import CONTENTS, PATCH, PATCH_S, RATE, TaggerConfig, TaggerNet
from .train_data import ClipPool, load_clips
from .weights_io import save_weights

VERSION = "1"
LOCAL_KINDS = ("clicks", "dropouts", "clipping")
_NATIVE_RATES = (16000, 44100, 48000)


@dataclass
class TaggerSettings:
    corpus: Path = Path(".corpus-train")
    train_examples: int = 12000
    val_examples: int = 2400
    epochs: int = 14
    batch: int = 64
    lr: float = 2e-3
    seed: int = 20261202
    threads: int = 1
    out: Path | None = None
    cache: Path | None = None  # where generated examples are kept between runs (.pt per set)


def to_patch(audio: np.ndarray, rate: int) -> np.ndarray:
    """Mono mix at 16 kHz, PATCH samples (zero-padded or cut)."""
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    if rate != RATE:
        r = Fraction(RATE, rate)
        mono = resample_poly(mono, r.numerator, r.denominator)
    out = np.zeros(PATCH, np.float32)
    out[: min(PATCH, mono.size)] = mono[:PATCH]
    return out


def make_example(pool: ClipPool, rng: np.random.Generator, kinds_order: tuple[str, ...]):
    """(patch (PATCH,), kind labels (kinds,), content index)."""
    rate = int(rng.choice(_NATIVE_RATES))
    u = rng.random()
    content = "mixed" if u < 0.2 else ("speech" if u < 0.6 else "music")
    if content == "mixed":
        s, m = pool.crop(rng, rate, "speech", PATCH_S), pool.crop(rng, rate, "music", PATCH_S)
        ps, pm = float(np.mean(s**2)) + 1e-12, float(np.mean(m**2)) + 1e-12
        x = s + m * np.sqrt(ps / pm * 10 ** (rng.uniform(-10, 10) / 10))
    else:
        x = pool.crop(rng, rate, content, PATCH_S)
    x = (x * 10 ** (rng.uniform(-20, 0) / 20) / max(float(np.abs(x).max()), 1e-4) * 0.9).astype(np.float32)
    r = rng.random()
    kinds: list[str] = []
    if r >= 0.3:
        n = 1 if r < 0.7 else int(rng.integers(2, 4))
        kinds = [str(k) for k in rng.choice(RANDOM_KINDS, size=n, replace=False)]
    labels = np.zeros(len(kinds_order), np.float32)
    if kinds:
        severity = SEVERITIES[int(rng.integers(len(SEVERITIES)))]
        x, label = degrade(x, rate, kinds, severity, seed=int(rng.integers(1 << 31)))
        for k in label["kinds"]:
            kind = "clicks" if k == "crackle" else k
            if kind in LOCAL_KINDS and not label["regions"].get(k):
                continue  # no event of it fell in this crop
            labels[kinds_order.index(kind)] = 1.0
    return to_patch(x, rate), labels, CONTENTS.index(content)


def cached_set(settings: TaggerSettings, split: str, n: int, seed: int, kinds_order: tuple[str, ...], log=print):
    """make_set on the split's clips, kept in settings.cache when set (the same arguments give the
    same examples, so a rerun skips the generation)."""
    path = None
    if settings.cache is not None:
        path = Path(settings.cache) / f"tagger-{split}-{n}-{seed}-{Path(settings.corpus).name}.pt"
        if path.exists():
            return tuple(torch.load(path, weights_only=True))
    log(f"making {n} {split} examples")
    data = make_set(ClipPool(load_clips(settings.corpus, split)), n, seed, kinds_order, log)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(list(data), path)
    return data


def make_set(pool: ClipPool, n: int, seed: int, kinds_order: tuple[str, ...], log=print):
    rng = np.random.default_rng(seed)
    xs, ys, cs = np.zeros((n, PATCH), np.float32), np.zeros((n, len(kinds_order)), np.float32), np.zeros(n, np.int64)
    t0 = time.perf_counter()
    for i in range(n):
        xs[i], ys[i], cs[i] = make_example(pool, rng, kinds_order)
        if (i + 1) % 2000 == 0:
            log(f"  {i + 1}/{n} examples ({time.perf_counter() - t0:.0f} s)")
    return torch.from_numpy(xs), torch.from_numpy(ys), torch.from_numpy(cs)


def evaluate(net: TaggerNet, data) -> dict[str, float]:
    xs, ys, cs = data
    net.eval()
    with torch.inference_mode():
        outs = [net(xs[i: i + 256]) for i in range(0, len(xs), 256)]
    net.train()
    kl = torch.cat([o[0] for o in outs])
    cl = torch.cat([o[1] for o in outs])
    metrics = {"content_acc": float((cl.argmax(1) == cs).float().mean())}
    two = cs < 2
    metrics["speech_music_acc"] = float((cl[two][:, :2].argmax(1) == cs[two]).float().mean())
    pred = kl > 0
    for j, kind in enumerate(net.cfg.kinds):
        tp = float((pred[:, j] & (ys[:, j] > 0)).sum())
        fp = float((pred[:, j] & (ys[:, j] == 0)).sum())
        fn = float((~pred[:, j] & (ys[:, j] > 0)).sum())
        metrics[f"f1_{kind}"] = 2 * tp / max(1.0, 2 * tp + fp + fn)
    return metrics


def fit_ood(net: TaggerNet, xs: torch.Tensor) -> None:
    """Gaussian of the training embeddings (shrunk covariance) and the 99.5th percentile distance."""
    net.eval()
    with torch.inference_mode():
        e = torch.cat([net.embed(xs[i: i + 256]) for i in range(0, len(xs), 256)]).double()
    mean = e.mean(0)
    cov = torch.cov((e - mean).T)
    cov = 0.9 * cov + 0.1 * torch.diag(torch.diag(cov)) + 1e-6 * torch.eye(cov.shape[0], dtype=cov.dtype)
    prec = torch.linalg.inv(cov)
    net.ood_mean.copy_(mean.float())
    net.ood_precision.copy_(prec.float())
    net.ood_limit.fill_(float(torch.quantile(net.ood_distance(e.float()), 0.995)))
    net.train()


def train(settings: TaggerSettings, log=print) -> dict:
    torch.manual_seed(settings.seed)
    torch.set_num_threads(settings.threads)
    cfg = TaggerConfig()
    train_set = cached_set(settings, "train", settings.train_examples, settings.seed, cfg.kinds, log)
    val_set = cached_set(settings, "validation", settings.val_examples, settings.seed + 1, cfg.kinds, log)
    net = TaggerNet(cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=1e-3)
    steps = settings.epochs * math.ceil(settings.train_examples / settings.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, settings.lr, total_steps=steps)
    bce, ce = nn.BCEWithLogitsLoss(), nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(settings.seed)
    xs, ys, cs = train_set
    best, best_state, history, t0 = -1.0, None, [], time.perf_counter()
    for epoch in range(settings.epochs):
        order = torch.randperm(len(xs), generator=gen)
        total = 0.0
        for i in range(0, len(xs), settings.batch):
            idx = order[i: i + settings.batch]
            x = xs[idx] * (10 ** (torch.rand(len(idx), 1, generator=gen) * -1.0))  # +-10 dB level jitter
            kl, cl, _ = net(x)
            loss = bce(kl, ys[idx]) + ce(cl, cs[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
        m = evaluate(net, val_set)
        score = m["content_acc"] + float(np.mean([v for k, v in m.items() if k.startswith("f1_")]))
        history.append({"epoch": epoch + 1, "loss": total / len(xs), **m})
        log(f"epoch {epoch + 1}: loss {total / len(xs):.4f} " + " ".join(f"{k} {v:.3f}" for k, v in m.items())
            + f" ({time.perf_counter() - t0:.0f} s)")
        if score > best:
            best, best_metrics = score, {**m, "epoch": epoch + 1}
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    net.load_state_dict(best_state)
    fit_ood(net, xs)
    save_weights("tagger", net.state_dict(), version=VERSION, config=cfg.to_dict(),
                 metrics={**best_metrics, "seed": settings.seed}, directory=settings.out)
    return {"metrics": best_metrics, "history": history, "train_seconds": round(time.perf_counter() - t0, 1)}
