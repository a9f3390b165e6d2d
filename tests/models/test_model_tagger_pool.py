from __future__ import annotations

import torch
from torch.nn import functional as F

from acetate.models.tagger_net import MaxPool2


def test_fast_pooling_equals_max_pool2d_and_training_keeps_torchs_kernel():
    """MaxPool2 (the tagger's 2 x 2 pooling) gives torch's max_pool2d values bit for bit under
    inference, odd sizes included (last row and column dropped), and with gradients on it is
    max_pool2d itself: the gradient reaches exactly one input per window (4 windows, 4 ones)."""
    torch.manual_seed(0)
    x = torch.relu(torch.randn(3, 5, 17, 33))
    pool = MaxPool2()
    with torch.inference_mode():
        fast = pool(x)
    assert fast.shape == (3, 5, 8, 16)
    assert torch.equal(fast, F.max_pool2d(x, 2))
    y = torch.randn(1, 1, 4, 4, requires_grad=True)
    pool(y).sum().backward()
    assert torch.equal(y.grad.sum(), torch.tensor(4.0))
    assert int((y.grad != 0).sum()) == 4
