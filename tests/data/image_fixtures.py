"""Generated image fixtures for the image-dataset tests and the benchmark (Pillow only)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image

#: format name -> file suffix
FORMATS = {
    "PNG": ".png",
    "JPEG": ".jpg",
    "BMP": ".bmp",
    "GIF": ".gif",
    "TIFF": ".tif",
    "WEBP": ".webp",
}


def make_image(
    mode: str, size: tuple[int, int] = (12, 10), value: int = 0, seed: int = 0
) -> Image.Image:
    """A small image of ``mode`` (``size`` is width, height) with a pattern set by ``value``."""
    w, h = size
    rng = np.random.default_rng(seed)
    base = (rng.integers(0, 64, (h, w)) + value) % 256
    a = base.astype(np.uint8)
    if mode == "L":
        return Image.fromarray(a, "L")
    if mode == "1":
        return Image.fromarray(a > 100).convert("1")
    rgb = np.stack([base, (base + 80) % 256, (base + 160) % 256], axis=-1).astype(np.uint8)
    if mode == "RGB":
        return Image.fromarray(rgb, "RGB")
    if mode == "RGBA":
        alpha = np.full((h, w), 255, np.uint8)
        alpha[: h // 2] = 0
        return Image.fromarray(np.concatenate([rgb, alpha[..., None]], axis=-1), "RGBA")
    if mode == "LA":
        return Image.fromarray(np.stack([a, np.full_like(a, 128)], axis=-1), "LA")
    if mode == "P":
        return Image.fromarray(rgb, "RGB").quantize(16)
    if mode == "I;16":
        return Image.fromarray(a.astype(np.uint16) * 257)
    raise ValueError(mode)


def save(img: Image.Image, path: Path, fmt: str | None = None) -> Path:
    """Save ``img`` to ``path`` (folders created); JPEG/BMP get a mode they can store."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = fmt or {v: k for k, v in FORMATS.items()}.get(path.suffix.lower(), "PNG")
    if fmt == "JPEG" and img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    if fmt == "BMP" and img.mode in ("LA", "I;16"):
        img = img.convert("L")
    img.save(path, fmt)
    return path


def image_folder(
    root: Path,
    classes: dict[str, int],
    size: tuple[int, int] = (12, 10),
    mode: str = "RGB",
    suffix: str = ".png",
    splits: Iterable[str] | None = None,
) -> Path:
    """A folder of class subfolders (inside each of ``splits`` when given), ``classes[name]``
    images per class per split, each image distinct."""
    names = list(splits) if splits is not None else [""]
    k = 0
    for split in names:
        for ci, (cls, count) in enumerate(sorted(classes.items())):
            for i in range(count):
                k += 1
                img = make_image(mode, size, value=ci * 40 + i, seed=k)
                folder = root / split / cls if split else root / cls
                save(img, folder / f"{cls}_{i:03d}{suffix}")
    return root


def truncate(path: Path, keep: float = 0.5) -> Path:
    """Cut a file to a fraction of its length."""
    data = path.read_bytes()
    path.write_bytes(data[: max(1, int(len(data) * keep))])
    return path
