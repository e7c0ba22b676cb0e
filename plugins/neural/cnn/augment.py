"""Batched, seeded image augmentations for training batches (torch).

Every function takes a float batch ``(N, C, H, W)`` and returns a new batch of
the same shape; each image draws its own random parameters from the given
``torch.Generator`` (so the same seed gives the same augmented batches), and a
strength of zero returns the input unchanged. The operations work on raw pixel
values of any range (0..1, 0..16, 0..255): they move or rescale pixels and
never clip to an assumed range.

:class:`ImageAugmenter` chains them with the settings of a model; the image
estimators apply it to training batches only (never to validation or
prediction batches). Imported only when a model is fitted.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812 - the usual torch alias

__all__ = [
    "GREY_WEIGHTS",
    "ImageAugmenter",
    "color_jitter",
    "random_flip",
    "random_rotation",
    "random_shift",
    "shift_pixels",
]

GREY_WEIGHTS = (0.299, 0.587, 0.114)
"""Luma weights of the R, G and B channels (ITU-R BT.601), for saturation jitter."""


def _check_images(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
        raise ValueError(f"augmentations take a batch of images (N, C, H, W), got {shape}")
    if not images.is_floating_point():
        raise ValueError(f"augmentations need float images, got dtype {images.dtype}; "
                         "convert with images.float()")


def _uniform(n: int, low: float, high: float, generator: torch.Generator | None,
             device: torch.device) -> torch.Tensor:
    """``n`` draws from U(low, high), made on the CPU (seeded) and moved to ``device``."""
    values = torch.rand(n, generator=generator) * (high - low) + low
    return values.to(device)


def shift_pixels(side: int, shift: float) -> int:
    """Largest shift in pixels for an image side and a shift given as a share of it.

    Parameters
    ----------
    side : int
        The shorter image side in pixels.
    shift : float
        Share of the side, in [0, 0.5).

    Returns
    -------
    int
        ``round(shift * side)``, at least 1 when ``shift > 0``.

    Raises
    ------
    ValueError
        For a share outside [0, 0.5).

    """
    if not 0.0 <= shift < 0.5:
        raise ValueError(f"shift must be a share of the image side in [0, 0.5), got {shift!r}")
    if shift == 0:
        return 0
    return max(1, int(round(shift * side)))


def random_shift(images: torch.Tensor, max_shift: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by up to ``max_shift`` pixels each way (pad, then random crop).

    The border is padded by replicating the edge pixels, then each image is
    cropped back to its size at a random offset in ``[-max_shift, max_shift]``
    on both axes.

    Parameters
    ----------
    images : torch.Tensor
        Float batch ``(N, C, H, W)``.
    max_shift : int
        Largest shift in pixels; 0 returns ``images`` itself.
    generator : torch.Generator, optional
        Source of the offsets.

    Returns
    -------
    torch.Tensor
        The shifted batch, same shape.

    Raises
    ------
    ValueError
        For a batch that is not ``(N, C, H, W)`` floats or a negative shift.

    """
    _check_images(images)
    if int(max_shift) != max_shift or max_shift < 0:
        raise ValueError(f"max_shift must be a non-negative integer, got {max_shift!r}")
    max_shift = int(max_shift)
    if max_shift == 0:
        return images
    n, _, height, width = images.shape
    padded = F.pad(images, (max_shift,) * 4, mode="replicate")
    offsets = torch.randint(0, 2 * max_shift + 1, (2, n), generator=generator)
    offsets = offsets.to(images.device)
    rows = offsets[0][:, None] + torch.arange(height, device=images.device)  # (N, H)
    cols = offsets[1][:, None] + torch.arange(width, device=images.device)  # (N, W)
    batch = torch.arange(n, device=images.device)[:, None, None]
    # advanced indexing on axes 0, 2, 3 puts the indexed axes first: (N, H, W, C)
    cropped = padded[batch, :, rows[:, :, None], cols[:, None, :]]
    return cropped.permute(0, 3, 1, 2).contiguous()


def random_flip(images: torch.Tensor, probability: float = 0.5,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left to right with probability ``probability``.

    Parameters
    ----------
    images : torch.Tensor
        Float batch ``(N, C, H, W)``.
    probability : float, default=0.5
        Chance that an image is flipped; 0 returns ``images`` itself.
    generator : torch.Generator, optional
        Source of the coin flips.

    Returns
    -------
    torch.Tensor
        The batch with some images mirrored.

    Raises
    ------
    ValueError
        For a bad batch or a probability outside [0, 1].

    """
    _check_images(images)
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must lie in [0, 1], got {probability!r}")
    if probability == 0:
        return images
    flip = _uniform(images.shape[0], 0.0, 1.0, generator, images.device) < probability
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def random_rotation(images: torch.Tensor, max_degrees: float,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotate each image about its centre by an angle drawn from ``[-max_degrees, max_degrees]``.

    Bilinear resampling (``affine_grid`` and ``grid_sample``); pixels that
    come from outside the image take the value of the nearest edge pixel.

    Parameters
    ----------
    images : torch.Tensor
        Float batch ``(N, C, H, W)``.
    max_degrees : float
        Largest rotation in degrees, in [0, 180]; 0 returns ``images`` itself.
    generator : torch.Generator, optional
        Source of the angles.

    Returns
    -------
    torch.Tensor
        The rotated batch, same shape.

    Raises
    ------
    ValueError
        For a bad batch or an angle outside [0, 180].

    """
    _check_images(images)
    if not 0.0 <= max_degrees <= 180.0:
        raise ValueError(f"max_degrees must lie in [0, 180], got {max_degrees!r}")
    if max_degrees == 0:
        return images
    n, _, height, width = images.shape
    angles = _uniform(n, -max_degrees, max_degrees, generator, images.device) * (math.pi / 180)
    cos, sin = torch.cos(angles), torch.sin(angles)
    # affine_grid works in normalised coordinates; the aspect ratio keeps the
    # rotation rigid on non-square images
    aspect = width / height
    theta = torch.zeros(n, 2, 3, device=images.device, dtype=images.dtype)
    theta[:, 0, 0] = cos
    theta[:, 0, 1] = -sin / aspect
    theta[:, 1, 0] = sin * aspect
    theta[:, 1, 1] = cos
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border",
                         align_corners=False)


def color_jitter(images: torch.Tensor, strength: float,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Jitter brightness, contrast and saturation of RGB images, each by up to ``strength``.

    Per image, three factors are drawn from ``[1 - strength, 1 + strength]``:
    brightness scales the pixels, contrast scales their distance to the
    image mean, and saturation scales each pixel's distance to its grey
    value (:data:`GREY_WEIGHTS`). Batches without exactly three channels
    (grey or RGBA images) are returned unchanged.

    Parameters
    ----------
    images : torch.Tensor
        Float batch ``(N, C, H, W)``.
    strength : float
        Largest relative change, in [0, 1); 0 returns ``images`` itself.
    generator : torch.Generator, optional
        Source of the factors.

    Returns
    -------
    torch.Tensor
        The jittered batch, same shape.

    Raises
    ------
    ValueError
        For a bad batch or a strength outside [0, 1).

    """
    _check_images(images)
    if not 0.0 <= strength < 1.0:
        raise ValueError(f"strength must lie in [0, 1), got {strength!r}")
    if strength == 0 or images.shape[1] != 3:
        return images
    n = images.shape[0]
    factors = _uniform(3 * n, 1.0 - strength, 1.0 + strength, generator, images.device)
    factors = factors.to(images.dtype).reshape(3, n, 1, 1, 1)
    brightness, contrast, saturation = factors
    out = images * brightness
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * contrast + mean
    weights = torch.tensor(GREY_WEIGHTS, device=images.device, dtype=images.dtype)
    grey = (out * weights[None, :, None, None]).sum(dim=1, keepdim=True)
    return (out - grey) * saturation + grey


class ImageAugmenter:
    """The augmentations of one model, applied in a fixed order with one seeded generator.

    Order: shift, flip, rotation, colour jitter. With every setting off,
    calling it returns the batch unchanged (:attr:`active` is False).

    Parameters
    ----------
    shift : int, default=0
        Largest shift in pixels (:func:`random_shift`).
    flip : bool, default=False
        Mirror half the images left to right (:func:`random_flip`); wrong for
        digits and text, right for most photographs.
    rotation : float, default=0.0
        Largest rotation in degrees (:func:`random_rotation`).
    color_jitter : float, default=0.0
        Brightness, contrast and saturation jitter of RGB images
        (:func:`color_jitter`); ignored for other channel counts.
    seed : int, default=0
        Seed of the generator behind every random draw.

    Raises
    ------
    ValueError
        For settings outside their ranges.

    """

    def __init__(self, *, shift: int = 0, flip: bool = False, rotation: float = 0.0,
                 color_jitter: float = 0.0, seed: int = 0) -> None:
        if int(shift) != shift or shift < 0:
            raise ValueError(f"shift must be a non-negative number of pixels, got {shift!r}")
        if not 0.0 <= rotation <= 180.0:
            raise ValueError(f"rotation must lie in [0, 180] degrees, got {rotation!r}")
        if not 0.0 <= color_jitter < 1.0:
            raise ValueError(f"color_jitter must lie in [0, 1), got {color_jitter!r}")
        self.shift = int(shift)
        self.flip = bool(flip)
        self.rotation = float(rotation)
        self.color_jitter = float(color_jitter)
        self.seed = int(seed)
        self.generator = torch.Generator().manual_seed(self.seed)

    @property
    def active(self) -> bool:
        """Whether any augmentation is switched on."""
        return bool(self.shift or self.flip or self.rotation or self.color_jitter)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Augment a training batch.

        Parameters
        ----------
        images : torch.Tensor
            Float batch ``(N, C, H, W)`` on any device.

        Returns
        -------
        torch.Tensor
            The augmented batch (``images`` itself when nothing is active).

        """
        if not self.active:
            return images
        out = random_shift(images, self.shift, self.generator)
        if self.flip:
            out = random_flip(out, 0.5, self.generator)
        out = random_rotation(out, self.rotation, self.generator)
        return color_jitter(out, self.color_jitter, self.generator)

    def __repr__(self) -> str:
        """Settings, for logs."""
        return (f"ImageAugmenter(shift={self.shift}, flip={self.flip}, "
                f"rotation={self.rotation}, color_jitter={self.color_jitter}, seed={self.seed})")
