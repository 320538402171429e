"""Try it: a run's model on new inputs gives what ``workbench predict`` gives on its export,
and its saliency maps point at what drove the prediction."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from tests.data.test_images import corrupt_inside
from tests.engine.try_it_projects import (
    FRUIT_HEADER,
    SIZE,
    Trained,
    draw,
    fruit_rows,
    image_project,
    predict_json,
    table_project,
)
from workbench.cli import main
from workbench.engine.evaluation.try_it import (
    MAX_ROWS,
    TryItError,
    TryModel,
    load_try_it,
    overlay_saliency,
    saliency_map,
    split_row,
)


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return image_project(tmp_path_factory.mktemp("try_shapes"))


@pytest.fixture(scope="module")
def fruit(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return table_project(tmp_path_factory.mktemp("try_fruit"))


@pytest.fixture(scope="module")
def shapes_model(shapes: Trained) -> TryModel:
    return load_try_it(shapes.project)


@pytest.fixture(scope="module")
def fruit_model(fruit: Trained) -> TryModel:
    return load_try_it(fruit.project, fruit.run_id)


def assert_same(result_top: list[tuple[str, float]], predicted: dict) -> None:
    """Try it's top classes against one prediction of ``workbench predict --json``."""
    assert result_top[0][0] == predicted["label"]
    assert abs(result_top[0][1] - predicted["probability"]) < 1e-4
    assert [c for c, _ in result_top] == [c for c, _ in predicted["top_k"]]
    for (_, p), (_, q) in zip(result_top, predicted["top_k"], strict=True):
        assert abs(p - q) < 1e-4


# --- images ----------------------------------------------------------------------------------


def test_images_give_what_workbench_predict_gives(
    shapes: Trained, shapes_model: TryModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(7)
    files = []
    for i, kind in enumerate(("square", "bar", "empty")):
        # a new image at another size and format: decoded and resized as training did
        path = tmp_path / f"new_{kind}.{'jpg' if i == 1 else 'png'}"
        draw(kind, rng, size=40).save(path)
        files.append(path)
    files.append(sorted((shapes.data / "square").glob("*.png"))[0])
    expected = predict_json(shapes.onnx, files, capsys)
    results = shapes_model.predict_files(files)
    assert [r.input for r in results] == [f.name for f in files]
    for result, predicted in zip(results, expected, strict=True):
        assert_same(result.top, predicted)
        assert result.image is not None and result.image.size == Image.open(predicted["input"]).size
    # the bytes of a file (a pasted image) and a Pillow image give the same answer
    data = files[0].read_bytes()
    pasted = shapes_model.predict_images([data, Image.open(io.BytesIO(data))], saliency=False)
    assert [r.input for r in pasted] == ["image 1", "image 2"]
    for r in pasted:
        assert_same(r.top, expected[0])
        assert r.saliency is None


def test_grad_cam_map_has_the_input_size_and_range(shapes_model: TryModel, tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    draw("square", np.random.default_rng(3), size=90).save(path)
    (result,) = shapes_model.predict_files([path])
    assert result.saliency is not None and result.saliency.dtype == np.float32
    assert result.saliency.shape == (SIZE, SIZE)  # the model's input
    assert result.saliency.min() >= 0.0 and result.saliency.max() == pytest.approx(1.0)
    assert result.saliency_method == "Grad-CAM on conv2d_2"  # LeNet's last convolution
    assert result.image is not None and result.image.size == (90, 90)
    shown = overlay_saliency(result.image, result.saliency)
    assert shown.mode == "RGB" and shown.size == (90, 90)
    # where the map is zero the image shows unchanged; where it is high the heat covers it
    small = Image.fromarray(np.full((4, 4, 3), 100, np.uint8))
    flat = overlay_saliency(small, np.zeros((2, 2), np.float32))
    assert np.array_equal(np.asarray(flat), np.asarray(small))
    hot = np.asarray(overlay_saliency(small, np.ones((2, 2), np.float32)))
    assert (hot[..., 0] > 150).all() and (hot[..., 2] < 60).all()  # red
    assert overlay_saliency(small, np.ones((2, 2)), min_side=10).size == (12, 12)


def test_a_broken_image_is_one_line_and_the_others_still_count(
    shapes_model: TryModel, tmp_path: Path
) -> None:
    good = tmp_path / "good.png"
    draw("bar", np.random.default_rng(1)).save(good)
    broken = tmp_path / "broken.png"
    draw("bar", np.random.default_rng(2)).save(broken)
    corrupt_inside(broken)
    text = tmp_path / "notes.png"
    text.write_text("not an image\n")
    for bad in (broken, text):
        with pytest.raises(TryItError) as info:
            shapes_model.predict_files([bad])
        message = str(info.value)
        assert message.startswith(f"{bad.name}: ") and "\n" not in message
    with pytest.raises(TryItError, match="not an image"):
        shapes_model.predict_images([b"\x89PNG junk"])
    skipped: list[str] = []
    results = shapes_model.predict_files([good, text], skipped=skipped)
    assert [r.input for r in results] == ["good.png"]
    assert len(skipped) == 1 and "notes.png: is not an image" in skipped[0]
    with pytest.raises(TryItError, match="no such file"):
        shapes_model.predict_files([tmp_path / "missing.png"])
    with pytest.raises(TryItError, match="takes images, not table rows"):
        shapes_model.predict_row("1,2,3")


# --- saliency ----------------------------------------------------------------------------------


def test_grad_cam_points_at_the_object_a_trained_model_found() -> None:
    """A tiny conv net learns "bright square" against "empty"; its Grad-CAM for the square
    puts more of its mass inside the square than in all the rest of the image."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    size, side = 24, 6

    def batch(n: int) -> tuple[torch.Tensor, torch.Tensor, list[tuple[int, int]]]:
        x = rng.uniform(0, 0.15, (n, 1, size, size)).astype(np.float32)
        y = rng.integers(0, 2, n)
        corners = []
        for i in range(n):
            r, c = (int(v) for v in rng.integers(0, size - side, 2))
            corners.append((r, c))
            if y[i]:
                x[i, 0, r : r + side, c : c + side] = 1.0
        return torch.from_numpy(x), torch.from_numpy(y), corners

    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    )
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    for _ in range(60):
        x, y, _ = batch(16)
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    x, y, corners = batch(24)
    with torch.no_grad():
        assert (net(x).argmax(1) == y).float().mean() >= 0.9
    checked = 0
    for i in np.flatnonzero(y.numpy()):
        cam, method = saliency_map(net, x[i : i + 1])
        assert method == "Grad-CAM on 2" and cam.shape == (size, size)
        r, c = corners[i]
        inside = np.zeros((size, size), bool)
        inside[r : r + side, c : c + side] = True
        assert cam[inside].sum() > cam[~inside].sum()
        checked += 1
    assert checked >= 5


def test_without_a_convolution_the_input_gradient_is_zero_outside_what_counts() -> None:
    """A hand-built model whose logit reads only one region: its map is zero elsewhere."""
    size = 12
    weights = torch.zeros(2, 3 * size * size)
    region = torch.zeros(3, size, size)
    region[:, 2:6, 4:9] = 1.0
    weights[1] = region.flatten() * torch.linspace(0.5, 1.5, 3 * size * size)
    linear = nn.Linear(3 * size * size, 2)
    with torch.no_grad():
        linear.weight.copy_(weights)
        linear.bias.zero_()
    net = nn.Sequential(nn.Flatten(), linear)
    x = torch.rand(1, 3, size, size) + 1.0
    sal, method = saliency_map(net, x, target=1)
    assert method == "input gradient" and sal.shape == (size, size)
    assert sal.max() == pytest.approx(1.0) and sal.min() == 0.0
    mask = region[0].numpy() > 0
    assert (sal[~mask] == 0).all() and (sal[mask] > 0).all()
    with pytest.raises(ValueError, match="one image"):
        saliency_map(net, torch.rand(2, 3, size, size))


# --- table rows ----------------------------------------------------------------------------------


def test_typed_rows_give_what_workbench_predict_gives(
    fruit: Trained, fruit_model: TryModel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = fruit_rows(6, seed=5)
    rows[1] = (rows[1][0], rows[1][1], "purple", rows[1][3])  # a colour never seen
    new = tmp_path / "new.csv"
    new.write_text(
        FRUIT_HEADER
        + "\n"
        + "".join(f"{w},{ln},{c},{f}\n" for w, ln, c, f in rows)
        + "130,,red,apple\n"  # a missing value
    )
    expected = predict_json(fruit.onnx, [new], capsys)
    assert fruit_model.columns == ["weight", "length", "colour"]
    typed = [f"{w}, {ln}, {c}" for w, ln, c, _ in rows] + ["130,,red"]
    for text, predicted in zip(typed, expected, strict=True):
        assert_same(fruit_model.predict_row(text).top, predicted)
    # a row copied from a spreadsheet (tabs), a dict by column name, a list
    w, ln, c, _ = rows[0]
    assert_same(fruit_model.predict_row(f"{w}\t{ln}\t{c}").top, expected[0])
    assert_same(fruit_model.predict_row({"Colour": c, "weight": w, "length": ln}).top, expected[0])
    assert_same(fruit_model.predict_row([w, ln, c]).top, expected[0])
    # the CSV file itself, and pasted text with its header in another order
    from_file = fruit_model.predict_files([new])
    assert [r.input for r in from_file] == [f"new.csv:{i + 1}" for i in range(len(expected))]
    for result, predicted in zip(from_file, expected, strict=True):
        assert_same(result.top, predicted)
    pasted = fruit_model.predict_text(
        "colour\tfruit\tlength\tweight\n"
        + "".join(f"{c}\t{f}\t{ln}\t{w}\n" for w, ln, c, f in rows)
    )
    assert [r.input for r in pasted] == [f"row {i + 1}" for i in range(len(rows))]
    for result, predicted in zip(pasted, expected[: len(rows)], strict=True):
        assert_same(result.top, predicted)
    assert len(fruit_model.predict_text("150,8,red\n12,2,red\n")) == 2
    # semicolons or tabs: a decimal comma is read as in such a file
    semi = fruit_model.predict_row(f"{str(w).replace('.', ',')};{str(ln).replace('.', ',')};{c}")
    assert_same(semi.top, expected[0])
    assert fruit_model.predict_row("150,8,red").headline().endswith(" %")


def test_row_errors_are_one_clear_line(fruit_model: TryModel, tmp_path: Path) -> None:
    cases = {
        "150,8": "the row has 2 values but the model takes 3 columns: weight, length, colour",
        "150,8,red,apple": "the row has 4 values but the model takes 3 columns",
        "heavy,8,red": "row: the column 'weight' takes a number, not 'heavy'",
        "150,inf,red": "row: the column 'length' takes a number, not 'inf'",
        "   ": "the row is empty",
    }
    for text, message in cases.items():
        with pytest.raises(TryItError) as info:
            fruit_model.predict_row(text)
        assert message in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(TryItError, match="has no value for the column 'colour'$"):
        fruit_model.predict_row({"weight": 1, "length": 2})
    bad = tmp_path / "bad.csv"
    bad.write_text("weight,length,colour\n150,8,red\nheavy,9,red\n")
    with pytest.raises(
        TryItError, match=r"^bad\.csv:2: the column 'weight' takes a number, not 'heavy'$"
    ):
        fruit_model.predict_files([bad])
    big = tmp_path / "big.csv"
    big.write_text("weight,length,colour\n" + "150,8,red\n" * (MAX_ROWS + 1))
    with pytest.raises(TryItError, match="Try it takes up to 1,000"):
        fruit_model.predict_files([big])
    with pytest.raises(TryItError, match="takes table rows, not images"):
        fruit_model.predict_images([b"png"])


def test_split_row_tries_the_separators() -> None:
    cols = ["a", "b", "c"]
    assert split_row("1,2,x", cols) == ["1", "2", "x"]
    assert split_row("1\t2,5\tx y", cols) == ["1", "2,5", "x y"]
    assert split_row("1,5;2,5;x", cols) == ["1,5", "2,5", "x"]  # decimal commas
    assert split_row('1, "big, red", 3', cols) == ["1", "big, red", "3"]
    assert split_row("only one", ["a"]) == ["only one"]


def test_a_regression_run_gives_the_values_in_the_targets_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(4)
    data = tmp_path / "houses.csv"
    area = rng.uniform(40, 200, 60)
    rooms = rng.integers(1, 6, 60)
    price = area + 5 * rooms + rng.normal(0, 2, 60)  # in thousands
    data.write_text(
        "area,rooms,price\n"
        + "".join(f"{a:.1f},{r},{p:.2f}\n" for a, r, p in zip(area, rooms, price, strict=True))
    )
    project = tmp_path / "houses.wbproj"
    assert main(["new", "--template", "mlp", str(project)]) == 0
    assert (
        main(["train", str(project), "--data", str(data), "--target", "price", "--epochs", "2"])
        == 0
    )
    onnx = tmp_path / "houses.onnx"
    assert main(["export", str(project), "-o", str(onnx)]) == 0
    new = tmp_path / "new.csv"
    new.write_text("area,rooms\n120,3\n60.5,1\n")
    expected = predict_json(onnx, [new], capsys)
    model = load_try_it(project)
    assert model.task == "regression"
    for text, predicted in zip(("120,3", "60.5,1"), expected, strict=True):
        result = model.predict_row(text)
        assert result.top == [] and [n for n, _ in result.values] == ["price"]
        assert result.values[0][1] == pytest.approx(predicted["value"], rel=1e-4, abs=1e-2)
        assert result.headline().startswith("price ")


def test_importing_try_it_does_not_import_torch() -> None:
    """The window imports the module for its results and wording at start-up."""
    code = "import sys, workbench.engine.evaluation.try_it; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_loading_errors_are_one_line(tmp_path: Path) -> None:
    project = tmp_path / "empty.wbproj"
    assert main(["new", "--template", "mlp", str(project)]) == 0
    with pytest.raises(TryItError, match="no trained run"):
        load_try_it(project)
    with pytest.raises(TryItError, match="no such file"):
        load_try_it(tmp_path / "missing.wbproj")
