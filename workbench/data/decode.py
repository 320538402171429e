"""Decoding one image file the way training does, with Pillow and numpy only (no torch).

The first frame of the file, alpha composited on **white** (RGBA, LA and palette images
with transparency), palette and CMYK images expanded, 16-bit images scaled to 8 bits,
then converted to grayscale (ITU-R 601 luma) or RGB and resized to ``(height, width)``
with Pillow's bilinear filter (the aspect ratio is not kept). EXIF orientation is not
applied. Used by training (:mod:`workbench.data.image_pipeline`) and by inference on an
exported model (:mod:`workbench.deploy`), which must not import torch.
"""

from __future__ import annotations

import io
import os
from typing import Literal

import numpy as np
from PIL import Image

from workbench.data.images import MAX_PIXELS
from workbench.standalone.train_decode import flatten_image as _flatten

Color = Literal["grayscale", "rgb"]


def open_image(
    source: str | os.PathLike[str] | bytes, size: tuple[int, int], color: Color
) -> Image.Image:
    """Open an image file without decoding its pixels (Pillow reads only the header).

    A JPEG is set to decode at the smallest scale (1/2, 1/4 or 1/8) still at least ``size``
    (``Image.draft``), so ``im.size`` is what :func:`load_image` will decode; other formats
    decode at full size. Used to check a pixel budget before decoding anything.

    Raises:
        ValueError: the image has more than ``MAX_PIXELS`` pixels.
        Exception: whatever Pillow raises for a file it cannot identify.
    """
    h, w = size
    if not isinstance(source, bytes):
        with open(source, "rb") as f:
            source = f.read()
    im = Image.open(io.BytesIO(source))
    if im.width * im.height > MAX_PIXELS:
        raise ValueError(f"too large: {im.width}x{im.height} pixels (the limit is {MAX_PIXELS:,})")
    if im.format == "JPEG":
        im.draft(
            "L" if color == "grayscale" else "RGB", (w, h)
        )  # decode at a reduced scale when much larger
    return im


def load_image(
    source: str | os.PathLike[str] | bytes | Image.Image, size: tuple[int, int], color: Color
) -> Image.Image:
    """Open (first frame), flatten, convert and resize one image.

    Args:
        source: A path, the file's bytes, or a Pillow image (e.g. from :func:`open_image`).
        size: ``(height, width)`` of the result.
        color: ``"grayscale"`` or ``"rgb"``.

    Returns:
        An "L" or "RGB" Pillow image of the requested size.

    Raises:
        Exception: whatever Pillow raises for a file it cannot decode.
    """
    h, w = size
    target = "L" if color == "grayscale" else "RGB"
    im = source if isinstance(source, Image.Image) else open_image(source, size, color)
    im.load()
    im = _flatten(im)
    if im.mode != target:
        im = im.convert(target)
    if im.size != (w, h):
        im = im.resize((w, h), Image.Resampling.BILINEAR)
    return im


def decode_image(
    path: str | os.PathLike[str] | bytes | Image.Image, size: tuple[int, int], color: Color
) -> np.ndarray:
    """Decode one image file into a ``(channels, height, width)`` uint8 array.

    Raises:
        Exception: whatever Pillow raises for a file it cannot decode.
    """
    a = np.asarray(load_image(path, size, color))
    if a.ndim == 2:
        return a[None].copy()
    return np.ascontiguousarray(a.transpose(2, 0, 1))


__all__ = ["Color", "decode_image", "load_image", "open_image"]
