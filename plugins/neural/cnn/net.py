"""The torch network of the ``cnn`` spec and its blocks (imported only when a model is fitted).

* :class:`ChannelStandardize`: per-channel standardisation learned from the
  training images (buffers, so it travels with the weights);
* :class:`ResidualBlock`: two 3x3 convolutions with batch norm and an
  identity or 1x1 projection shortcut (He et al., "Deep Residual Learning
  for Image Recognition", CVPR 2016), after a 2x2 max pool where the
  resolution halves;
* :class:`ResidualCNN`: standardisation, a stem sized to the image, stages of
  residual blocks that halve the resolution and double the width, global
  average pooling, dropout and a linear head.

:class:`ChannelStandardize` is also the first layer of the transfer network
(:class:`plugins.neural.transfer.net.TransferNet`), and :class:`ResidualCNN`
the image encoder of the ``fusion`` spec.

Two choices were measured on small data and short training (12 epochs, 1,200
images): max-pool downsampling learned clearly faster than stride-2
convolutions, and zero-initialising the last batch norm of each block (the
"identity start" of Goyal et al., 2017) slowed learning so much that a 32x32
shape task stayed near chance, so the blocks keep PyTorch's default
initialisation.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F  # noqa: N812 - the usual torch alias
from torch import nn

__all__ = [
    "MAX_CHANNELS",
    "ChannelStandardize",
    "ResidualBlock",
    "ResidualCNN",
    "stem_halvings",
]

MAX_CHANNELS = 256
"""Widest stage of a :class:`ResidualCNN` (widths double per stage up to this)."""


def stem_halvings(height: int, width: int) -> int:
    """How many times the stem halves the resolution before the residual stages.

    Images with a side under 32 pixels (8x8 digits, 28x28 MNIST) keep full
    resolution; 32..95 pixels (CIFAR's 32x32) get a stride-2 stem
    convolution; larger images also a stride-2 max pool. Halving 32x32
    images costs a little accuracy and saves three quarters of the
    computation, which is what a CPU budget of seconds per model needs.

    Parameters
    ----------
    height, width : int
        Image size in pixels.

    Returns
    -------
    int
        0, 1 or 2.

    """
    side = min(int(height), int(width))
    if side < 32:
        return 0
    return 1 if side < 96 else 2


class ChannelStandardize(nn.Module):
    """Subtract a per-channel mean and divide by a per-channel standard deviation.

    Parameters
    ----------
    channels : int
        Input channels. The ``mean`` and ``std`` buffers start at 0 and 1;
        the estimator sets them from the training images.

    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, channels, 1, 1))
        self.register_buffer("std", torch.ones(1, channels, 1, 1))

    def set_statistics(self, mean: Sequence[float], std: Sequence[float]) -> None:
        """Set the per-channel mean and standard deviation (std floored at 1e-6).

        Parameters
        ----------
        mean, std : sequence of float
            One value per channel.

        """
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32).reshape(self.mean.shape))
        std_t = torch.as_tensor(std, dtype=torch.float32).reshape(self.std.shape)
        self.std.copy_(std_t.clamp_min(1e-6))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Standardise a batch ``(N, C, H, W)``."""
        return (images - self.mean) / self.std


class ResidualBlock(nn.Module):
    """``conv3x3 -> BN -> ReLU -> conv3x3 -> BN`` plus a shortcut, then ReLU.

    With ``downsample`` the block starts with a 2x2 max pool (halving the
    resolution). The shortcut is the identity, or a 1x1 convolution with
    batch norm when the width changes.

    Parameters
    ----------
    in_channels, out_channels : int
        Widths in and out.
    downsample : bool, default=False
        Halve the resolution first.

    """

    def __init__(self, in_channels: int, out_channels: int, downsample: bool = False) -> None:
        super().__init__()
        self.pool: nn.Module = nn.MaxPool2d(2, ceil_mode=True) if downsample else nn.Identity()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block."""
        x = self.pool(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResidualCNN(nn.Module):
    """A small residual network for images of any size and channel count.

    Layout: :class:`ChannelStandardize`, a stem (3x3 convolution, batch norm,
    ReLU; strided and max-pooled on large images, see :func:`stem_halvings`),
    ``n_stages`` stages of ``blocks_per_stage`` :class:`ResidualBlock` (every
    stage after the first starts with a 2x2 max pool and doubles the width,
    up to :data:`MAX_CHANNELS`), global average pooling, dropout and a linear
    layer.

    Parameters
    ----------
    in_channels : int
        Image channels.
    height, width : int
        Image size (sizes the stem).
    n_outputs : int
        Logits (classes) or 1 (regression).
    n_stages : int, default=2
        Resolution stages.
    blocks_per_stage : int, default=1
        Residual blocks per stage.
    base_channels : int, default=32
        Width of the stem and the first stage.
    dropout : float, default=0.0
        Dropout before the head.

    """

    def __init__(self, in_channels: int, height: int, width: int, n_outputs: int, *,
                 n_stages: int = 2, blocks_per_stage: int = 1, base_channels: int = 32,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if n_stages < 1 or blocks_per_stage < 1 or base_channels < 1:
            raise ValueError("n_stages, blocks_per_stage and base_channels must be positive, "
                             f"got {n_stages}, {blocks_per_stage}, {base_channels}")
        self.standardize = ChannelStandardize(in_channels)
        halvings = stem_halvings(height, width)
        stem: list[nn.Module] = [
            nn.Conv2d(in_channels, base_channels, 3, stride=2 if halvings else 1, padding=1,
                      bias=False),
            nn.BatchNorm2d(base_channels),
            nn.ReLU(),
        ]
        if halvings > 1:
            stem.append(nn.MaxPool2d(3, stride=2, padding=1))
        self.stem = nn.Sequential(*stem)
        blocks: list[nn.Module] = []
        channels = base_channels
        for stage in range(n_stages):
            out_channels = min(base_channels * 2 ** stage, MAX_CHANNELS)
            for block in range(blocks_per_stage):
                downsample = stage > 0 and block == 0
                blocks.append(ResidualBlock(channels, out_channels, downsample))
                channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(channels, n_outputs)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (or the regression output) of a batch ``(N, C, H, W)``."""
        x = self.blocks(self.stem(self.standardize(images)))
        return self.head(self.dropout(x.mean(dim=(2, 3))))
