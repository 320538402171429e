"""Reading an image folder (or CSV index) as Model Workbench does: decoding, split, augmentation."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

if __package__:  # imported from the workbench
    from .train_decode import IMAGE_EXTENSIONS, flatten_image
    from .train_split import SPLIT_NAMES, make_split
else:  # run from an exported folder, beside train_decode.py and train_split.py
    from train_decode import IMAGE_EXTENSIONS, flatten_image  # type: ignore[no-redef]
    from train_split import SPLIT_NAMES, make_split  # type: ignore[no-redef]


# --- reading the images --------------------------------------------------------------------

PATH_HEADERS = ("path", "file", "filename", "file_name", "image", "image_path", "img", "filepath")
LABEL_HEADERS = ("label", "class", "target", "y", "category", "class_name")


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def list_image_folder(root: Path) -> tuple[list[tuple[str, str, str, int]], bool]:
    """``(file, name, class, split code)`` of every image in a folder of class subfolders.

    The class folders may sit inside train/, val/ and test/ folders, which then give the
    split (code -1 where they do not). Hidden files are skipped; class folders are searched
    recursively. Returns the entries in the workbench's order and whether the split is given.
    """

    def visible_dirs(folder: Path) -> list[Path]:
        return sorted(
            (p for p in folder.iterdir() if not p.name.startswith(".") and p.is_dir()),
            key=lambda p: p.name,
        )

    def collect(folder: Path, label: str, code: int) -> None:
        seen: set[tuple[int, int]] = set()
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            st = os.stat(dirpath)
            if (st.st_dev, st.st_ino) in seen:
                dirnames.clear()
                continue
            seen.add((st.st_dev, st.st_ino))
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if not name.startswith(".") and is_image_name(name):
                    file = os.path.join(dirpath, name)
                    rel = os.path.relpath(file, root).replace(os.sep, "/")
                    entries.append((file, rel, label, code))

    entries: list[tuple[str, str, str, int]] = []
    top = visible_dirs(root)
    split_dirs = [d for d in top if d.name.lower() in SPLIT_NAMES and visible_dirs(d)]
    if split_dirs:
        for d in split_dirs:
            for c in visible_dirs(d):
                collect(c, c.name, SPLIT_NAMES[d.name.lower()])
    else:
        for c in top:
            collect(c, c.name, -1)
    entries.sort(key=lambda e: (e[3], e[2], e[1]))
    return entries, bool(split_dirs)


def read_image_index(path: Path) -> tuple[list[tuple[str, str, str, int]], bool]:
    """``(file, name, class, split code)`` of every row of a CSV index of images.

    Rows are ``image path, label`` (paths relative to the file), with an optional header
    naming the columns and an optional ``split`` column (train/val/test).
    """
    text = path.read_text(encoding="utf-8-sig")
    try:
        dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel_tab if "\t" in text.split("\n", 1)[0] else csv.excel
    rows = [[f.strip() for f in r] for r in csv.reader(io.StringIO(text, newline=""), dialect)]
    rows = [r for r in rows if any(r)]
    first = rows[0]
    header = None
    if not any(is_image_name(f) for f in first):
        header, rows = [h.lower() for h in first], rows[1:]
    width = len(header or first)
    split_col = None
    if header is None:
        path_col = next(k for k, f in enumerate(first) if is_image_name(f))
    else:
        named = [header.index(h) for h in PATH_HEADERS if h in header]
        sniffed = [k for k, f in enumerate(rows[0]) if is_image_name(f)] if rows else []
        path_col = (named or sniffed or [0])[0]
        split_col = header.index("split") if "split" in header else None
    label_col = next((k for k in range(width) if k not in (path_col, split_col)), -1)
    if header is not None:
        label_col = next((header.index(h) for h in LABEL_HEADERS if h in header), label_col)
    entries = []
    for row in rows:
        if len(row) != width or not row[path_col] or not row[label_col]:
            continue
        code = -1
        if split_col is not None:
            code = SPLIT_NAMES.get(row[split_col].lower(), -2)
            if code == -2:
                continue
        rel = row[path_col]
        file = os.path.normpath(os.path.join(path.parent, rel))
        if not os.path.isfile(file) and "\\" in rel:  # written on Windows
            file = os.path.normpath(os.path.join(path.parent, rel.replace("\\", "/")))
        if os.path.isfile(file):
            entries.append((file, rel, row[label_col], code))
    return entries, split_col is not None


def decode_image(file: str, size: tuple[int, int], color: str) -> np.ndarray:
    """One image as a (channels, height, width) uint8 array, decoded as the workbench does.

    The first frame, flattened (see flatten_image), converted to grayscale or RGB and
    resized to (height, width) with Pillow's bilinear filter (the aspect ratio is not kept).
    """
    h, w = size
    mode = "L" if color == "grayscale" else "RGB"
    with Image.open(file) as opened:
        if opened.format == "JPEG":
            opened.draft(mode, (w, h))  # decode large JPEGs at a reduced scale
        opened.load()
        im = flatten_image(opened)
        if im.mode != mode:
            im = im.convert(mode)
        if im.size != (w, h):
            im = im.resize((w, h), Image.Resampling.BILINEAR)
        a = np.asarray(im)
    return a[None].copy() if a.ndim == 2 else np.ascontiguousarray(a.transpose(2, 0, 1))


class ImageFiles(Dataset):
    """Images decoded on demand (in the DataLoader's workers): uint8 (C, H, W) and a class index."""

    def __init__(
        self, files: list[str], labels: np.ndarray, size: tuple[int, int], color: str
    ) -> None:
        self.files, self.labels, self.size, self.color = files, labels, size, color

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        try:
            pixels = decode_image(self.files[i], self.size, self.color)
        except Exception as e:
            raise RuntimeError(f"{self.files[i]}: cannot be decoded ({e}); fix or remove it") from e
        return torch.from_numpy(pixels), int(self.labels[i])


def load_datasets(config: dict[str, Any], path: Path) -> tuple[dict[str, Dataset], list[str]]:
    """The train, val and test datasets of an image folder (or CSV index), and notes."""
    pre, settings = config["preprocessing"], config["data"]
    entries, given = list_image_folder(path) if path.is_dir() else read_image_index(path)
    index = {name: k for k, name in enumerate(config["classes"])}
    notes = []
    unknown = sorted({e[2] for e in entries if e[2] not in index})
    if unknown:
        shown = ", ".join(unknown[:5])
        notes.append(f"images of classes the model does not know are left out: {shown}")
        entries = [e for e in entries if e[2] in index]
    if not entries:
        raise SystemExit(f"{path}: no images of the classes {', '.join(index)}")
    files = [e[0] for e in entries]
    labels = np.array([index[e[2]] for e in entries], dtype=np.int64)
    codes = np.array([e[3] for e in entries], dtype=np.int8) if given else None
    split = make_split(
        labels,
        "classification",
        settings["val_ratio"],
        settings["test_ratio"],
        settings["seed"],
        codes,
    )
    size = (int(pre["size"][0]), int(pre["size"][1]))
    datasets: dict[str, Dataset] = {
        name: ImageFiles([files[i] for i in idx], labels[idx], size, pre["color"])
        for name, idx in split.items()
    }
    return datasets, notes


def augment_batch(
    x: torch.Tensor, augment: Mapping[str, Any], generator: torch.Generator | None
) -> torch.Tensor:
    """Randomly augment a float batch (B, C, H, W) in [0, 1] as config.json's "augment" says.

    Flip, rotation and resized crop are one affine resampling per image; brightness
    multiplies by a factor in [1-b, 1+b]; contrast scales around the image's mean.
    """
    b, _, h, w = x.shape
    if b == 0:
        return x

    device = generator.device if generator is not None else torch.device("cpu")

    def uniform(lo: float, hi: float) -> torch.Tensor:
        u = torch.rand(b, generator=generator, device=device, dtype=torch.float64)
        return (u * (hi - lo) + lo).to(x.device)

    ones = torch.ones(b, dtype=torch.float64, device=x.device)
    flip = uniform(0, 1) < 0.5 if augment["hflip"] else None
    if augment["rotation"] or augment["resized_crop"]:
        r = augment["rotation"]
        angle = uniform(-r, r) * (math.pi / 180) if r else ones * 0
        if augment["resized_crop"]:
            area = uniform(0.8, 1.0)
            ratio = torch.exp(uniform(math.log(3 / 4), math.log(4 / 3)))
            cw = torch.sqrt(area * ratio).clamp(max=1.0)
            ch = torch.sqrt(area / ratio).clamp(max=1.0)
            cx = uniform(-1, 1) * (1 - cw)
            cy = uniform(-1, 1) * (1 - ch)
        else:
            cw, ch, cx, cy = ones, ones, ones * 0, ones * 0
        sx = torch.where(flip, -cw, cw) if flip is not None else cw
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.stack(
            [
                torch.stack([cos * sx, -sin * (h / w) * ch, cx], dim=1),
                torch.stack([sin * (w / h) * sx, cos * ch, cy], dim=1),
            ],
            dim=1,
        ).to(x.dtype)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    elif flip is not None:
        x = torch.where(flip.view(b, 1, 1, 1), x.flip(-1), x)
    if augment["brightness"]:
        bright = augment["brightness"]
        x = x * uniform(1 - bright, 1 + bright).to(x.dtype).view(b, 1, 1, 1)
    if augment["contrast"]:
        c = augment["contrast"]
        factor = uniform(1 - c, 1 + c).to(x.dtype).view(b, 1, 1, 1)
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * factor + mean
    return x.clamp(0.0, 1.0)


def make_input_transform(
    config: dict[str, Any], device: torch.device, seed: int
) -> Callable[[torch.Tensor, bool], torch.Tensor]:
    """uint8 image batches to the model's input, on the device: scale to [0, 1], augment
    (training batches only, as config.json's "augment" says), then normalize with the
    per-channel mean and std of the workbench's training split."""
    pre = config["preprocessing"]
    scale = torch.tensor(1 / 255, dtype=torch.float32, device=device)
    mean = torch.tensor(pre["mean"], dtype=torch.float32, device=device).view(1, -1, 1, 1)
    inv_std = (1.0 / np.asarray(pre["std"], np.float64)).astype(np.float32)
    inv_std_t = torch.from_numpy(inv_std).to(device).view(1, -1, 1, 1)
    augment = config["data"].get("augment") or {}
    active = any(bool(v) for v in augment.values())
    generator = torch.Generator().manual_seed(seed)

    def to_input(x: torch.Tensor, training: bool) -> torch.Tensor:
        x = x.to(torch.float32).mul_(scale)
        if training and active:
            x = augment_batch(x, augment, generator)
        return (x - mean).mul_(inv_std_t)

    return to_input
