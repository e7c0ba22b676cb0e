"""A user's backbone network kept as TorchScript bytes, and the dry run that checks it.

:class:`TorchScriptBackbone` turns what a user passes to
:func:`plugins.neural.transfer_spec` (a ``torch.nn.Module``, a
TorchScript module, or the path of a file written by ``torch.jit.save``) into
the bytes of a TorchScript archive. Bytes are plain data: they pickle between
worker processes and save with skops; each fit loads a fresh copy, so the
user's module is never trained in place. :func:`backbone_features` runs a zero
batch through a backbone and says, in a ``ValueError`` naming the backbone,
the image shape and the fix, when it does not accept the images.

TorchScript is deprecated in recent torch releases (torch 2.13 warns on every
``torch.jit`` call); those warnings are silenced around the calls made here. Loading a TorchScript
archive runs its TorchScript program (a restricted language, not arbitrary
Python), so a saved model holding a backbone deserves the trust you would give
the backbone file itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["TorchScriptBackbone", "backbone_features"]

_JIT_DEPRECATION = r"`torch\.jit\.\w+` is deprecated"


@contextlib.contextmanager
def _quiet_jit() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_JIT_DEPRECATION, category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*TorchScript.*", category=FutureWarning)
        yield


def _last_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class TorchScriptBackbone:
    """A backbone network stored as the bytes of a TorchScript archive.

    Parameters
    ----------
    data : bytes
        A TorchScript archive (what ``torch.jit.save`` writes).
    name : str, default="backbone"
        Shown in messages.

    Raises
    ------
    ValueError
        When ``data`` is not non-empty bytes.

    """

    def __init__(self, data: bytes, name: str = "backbone") -> None:
        if not isinstance(data, bytes) or not data:
            raise ValueError("a TorchScript backbone needs the non-empty bytes of a TorchScript "
                             f"archive, got {type(data).__name__}")
        self.data = data
        self.name = str(name)

    @classmethod
    def from_source(cls, backbone: Any, *, name: str | None = None,
                    input_shape: Sequence[int] | None = None) -> TorchScriptBackbone:
        """Turn a module, a TorchScript module or a TorchScript file into a backbone.

        A plain ``nn.Module`` is compiled with ``torch.jit.script``; when that
        fails (code TorchScript cannot compile, or source files that are not
        available) and ``input_shape`` is given, it is traced with
        ``torch.jit.trace`` in eval mode on a zero batch instead. A traced
        backbone keeps the mode it was traced in: its batch norm uses the
        pretrained statistics and its dropout is off, also while fine-tuning.

        Parameters
        ----------
        backbone : torch.nn.Module, str, os.PathLike, bytes or TorchScriptBackbone
            The network, or the path of a local file saved with
            ``torch.jit.save`` (nothing is ever downloaded).
        name : str, optional
            Shown in messages; defaults to the class or file name.
        input_shape : sequence of int, optional
            ``(C, H, W)`` of the images, used only to trace a module that
            cannot be scripted.

        Returns
        -------
        TorchScriptBackbone
            The backbone as bytes.

        Raises
        ------
        ValueError
            For a missing file, a file that is not TorchScript, a module that
            can be neither scripted nor traced, or an object that is none of
            the accepted kinds.

        """
        if isinstance(backbone, TorchScriptBackbone):
            return backbone if name is None else cls(backbone.data, name)
        if isinstance(backbone, bytes):
            made = cls(backbone, name or "backbone")
            made.load()
            return made
        if isinstance(backbone, str | os.PathLike):
            return cls._from_file(Path(backbone), name)
        import torch

        if not isinstance(backbone, torch.nn.Module):
            raise ValueError(
                f"backbone must be a torch.nn.Module or the path of a TorchScript file saved "
                f"with torch.jit.save, got {type(backbone).__name__}"
            )
        label = name or type(backbone).__name__
        if isinstance(backbone, torch.jit.ScriptModule):
            return cls(_save(backbone), label)
        with _quiet_jit():
            try:
                scripted = torch.jit.script(backbone)
            except Exception as exc:
                if input_shape is None:
                    raise ValueError(
                        f"backbone {label!r} cannot be compiled by torch.jit.script "
                        f"({_last_line(exc)}); pass input_shape=(C, H, W) to trace it "
                        "instead, or pass a module traced with torch.jit.trace"
                    ) from exc
                scripted = _trace(backbone, label, input_shape)
        return cls(_save(scripted), label)

    @classmethod
    def _from_file(cls, path: Path, name: str | None) -> TorchScriptBackbone:
        if not path.is_file():
            raise ValueError(f"backbone file {str(path)!r} does not exist; pass the path of a "
                             "local TorchScript file written by torch.jit.save")
        made = cls(path.read_bytes(), name or path.stem)
        made.load()
        return made

    def load(self) -> Any:
        """A fresh torch module loaded from the bytes, on the CPU.

        Returns
        -------
        torch.jit.ScriptModule
            The backbone.

        Raises
        ------
        ValueError
            When the bytes are not a TorchScript archive.

        """
        import torch

        with _quiet_jit():
            try:
                return torch.jit.load(io.BytesIO(self.data), map_location="cpu")
            except Exception as exc:
                raise ValueError(
                    f"backbone {self.name!r} is not a TorchScript archive ({_last_line(exc)}); "
                    "save the network with torch.jit.save(torch.jit.script(model), path)"
                ) from exc

    @property
    def sha256(self) -> str:
        """SHA-256 of the bytes."""
        return hashlib.sha256(self.data).hexdigest()

    def __eq__(self, other: object) -> bool:
        """Same name and same bytes."""
        return (isinstance(other, TorchScriptBackbone) and other.name == self.name
                and other.data == self.data)

    def __hash__(self) -> int:
        """Hash of the name and the bytes."""
        return hash((self.name, self.data))

    def __repr__(self) -> str:
        """Name, size and a short hash (never the bytes)."""
        return (f"TorchScriptBackbone(name={self.name!r}, bytes={len(self.data)}, "
                f"sha256={self.sha256[:12]})")


def _save(module: Any) -> bytes:
    import torch

    buffer = io.BytesIO()
    with _quiet_jit():
        torch.jit.save(module, buffer)
    return buffer.getvalue()


def _trace(module: Any, label: str, input_shape: Sequence[int]) -> Any:
    import torch

    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) of positive sizes, got {input_shape!r}")
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            return torch.jit.trace(module, torch.zeros(2, *shape))
    except Exception as exc:
        raise ValueError(f"backbone {label!r} can be neither scripted nor traced on a zero "
                         f"batch of shape {(2, *shape)} ({_last_line(exc)})") from exc
    finally:
        module.train(was_training)


def backbone_features(module: Any, input_shape: Sequence[int], *, name: str = "backbone",
                      input_size: Sequence[int] | None = None) -> int:
    """Run a zero batch ``(1, C, H, W)`` through a backbone; return its pooled width.

    Parameters
    ----------
    module : torch.nn.Module
        The backbone (run in eval mode, without gradients; its mode is restored).
    input_shape : sequence of int
        ``(C, H, W)`` of the images.
    name : str, default="backbone"
        Shown in messages.
    input_size : sequence of int, optional
        ``(H, W)`` the images are resized to before the backbone.

    Returns
    -------
    int
        Features per image after global average pooling of 4-D outputs (or
        flattening of others).

    Raises
    ------
    ValueError
        When the backbone fails on the batch or returns something other than
        one tensor row per image, naming the backbone, the shape and the fix.

    """
    import torch
    import torch.nn.functional as F  # noqa: N812 - the usual torch alias

    from .net import pool_features

    shape = tuple(int(s) for s in input_shape)
    seen = shape if input_size is None else (shape[0], *(int(s) for s in input_size))
    fix = (f"convert the images to what the backbone expects (grey to RGB: np.repeat(X, 3, "
           "axis=1); RGB to grey: X.mean(axis=1, keepdims=True)), adapt the backbone's first "
           f"layer to {shape[0]} channel(s), or resize the images (input_size=(H, W) in "
           "transfer_spec)")
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), _quiet_jit():
            images = torch.zeros(1, *shape)
            if input_size is not None:
                images = F.interpolate(images, size=seen[1:], mode="bilinear",
                                       align_corners=False)
            out = module(images)
    except Exception as exc:
        from .._training.runtime import is_oom

        if is_oom(exc):  # not the backbone's fault: oom_guard reports it
            raise
        raise ValueError(
            f"the transfer backbone {name!r} does not accept images of shape (C, H, W) = "
            f"{seen}: {_last_line(exc)}. To fix it, {fix}"
        ) from exc
    finally:
        module.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim < 2 or out.shape[0] != 1:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"the transfer backbone {name!r} returned {got} for a batch of one image of shape "
            f"{seen}; it must return one tensor with a row per image, (N, F) or (N, C, H, W)"
        )
    width = int(pool_features(out).shape[1])
    if width < 1:
        raise ValueError(f"the transfer backbone {name!r} returned no features for images of "
                         f"shape {seen}")
    return width
