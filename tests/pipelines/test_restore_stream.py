"""The restore stage streams each step of a chain over its own windows (pipelines/item.py
restored_blocks): the copy is as long as the source and matches the chain run on the whole file."""

from __future__ import annotations

import numpy as np

from acetate.ops import degrade
from acetate.pipelines.audio_io import stream_windows
from acetate.pipelines.item import analyze, restored_blocks
from acetate.pipelines.policy import Policy
from acetate.pipelines.route import decide

SR = 16000


def _blocks(x: np.ndarray, sizes: list[int]):
    start = 0
    while start < x.shape[1]:
        for n in sizes:
            yield x[:, start:start + n]
            start += n


def test_windows_over_uneven_blocks_cover_the_stream_once():
    x = np.arange(10_007, dtype=np.float32)[None]
    wins = list(stream_windows(_blocks(x, [333, 1000, 7]), 1000, 250))
    kept = np.concatenate([w.audio[:, w.keep] for w in wins], axis=1)
    assert np.array_equal(kept, x)
    assert all(w.audio.shape[1] <= 1000 + 2 * 250 for w in wins)
    assert all(w.audio[0, 0] == w.start for w in wins)  # each window says where it starts


def test_streamed_chain_matches_the_whole_file_chain():
    clean = degrade.synth_speech_like(SR, 35.0, seed=4, peak=0.5)
    x = np.atleast_2d(degrade.add_dc(degrade.add_hum(clean, SR, 50.0, -25.0, seed=1)[0], SR, offset=0.03)[0])
    x = x.astype(np.float32)
    block = 10 * SR
    analysis = analyze(_blocks(x, [block]), SR, 1)
    chain = decide(analysis.findings, analysis.content, Policy.load().for_item(None, analysis.content), SR).chain
    assert [s.op for s in chain.steps] == ["remove_dc", "dehum"]
    streamed = np.concatenate(list(restored_blocks(_blocks(x, [block]), chain, SR, block)), axis=1)
    whole = chain(x, SR)
    assert streamed.shape == x.shape
    err_db = 10 * np.log10(np.sum((streamed - whole) ** 2) / np.sum(whole**2))
    assert err_db < -80.0, err_db  # dehum's 10 s context each side suffices: the seams are not there
