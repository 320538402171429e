"""Decoding one image as Model Workbench does; torch-free (numpy and Pillow), shared by the app."""

from __future__ import annotations

import numpy as np
from PIL import Image

#: File name suffixes treated as images (lower case).
IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".dib", ".gif", ".tif", ".tiff", ".webp"}
)


def flatten_image(im: Image.Image) -> Image.Image:
    """An "L" or "RGB" image: transparency composited on white, palettes expanded, 16 bits to 8."""
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode == "1":
        im = im.convert("L")
    elif mode.startswith("I") or mode == "F":
        a = np.asarray(im, dtype=np.float64)
        if mode.startswith("I;16") or (mode == "I" and a.size and a.max() > 255):
            a = a / 257.0
        elif mode == "F" and a.size and a.max() <= 1.0:
            a = a * 255.0
        im = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")
    elif mode == "L" and "transparency" in im.info:
        im = im.convert("LA")
    elif mode == "RGB" and "transparency" in im.info:
        im = im.convert("RGBA")
    elif mode not in ("L", "RGB", "LA", "La", "RGBA", "RGBa"):
        im = im.convert("RGB")  # CMYK, YCbCr, LAB, HSV, ...
    if im.mode in ("LA", "La", "RGBA", "RGBa"):
        if im.mode in ("La", "RGBa"):
            im = im.convert(im.mode[:-1] + "A")
        base = "L" if im.mode == "LA" else "RGB"
        background = Image.new(base, im.size, (255,) * len(base))
        background.paste(im.convert(base), mask=im.getchannel("A"))
        im = background
    return im
