"""Pictures in the feedback, feedback.html and the results.json size bound.

Pictures are drawn by the grader from tensors (the sandbox's answers or its own data); a hostile
submission controls at most grey levels, never the file, the page or the size of results.json.
"""
from __future__ import annotations

import base64
import io
import json
import re
import shutil

import pytest
import torch
from PIL import Image

from grading_support import grade
from autograder.homeworks import KIT_ROOT, load_spec
from autograder.pipeline import feedback, pictures
from autograder.pipeline.report import SIZE_LIMIT, results_json
from autograder.pipeline.score import Context, Fail, GradedTest, run_test
from autograder.pipeline.score import TestResult as Result


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image.convert("RGB")


def _red_pixels(image: Image.Image) -> int:
    import numpy as np

    a = np.asarray(image, dtype=int)
    return int(((a[..., 0] > 200) & (a[..., 1] < 60) & (a[..., 2] < 60)).sum())


# ----------------------------------------------------------------------------- drawing
def test_grid_draws_every_image_and_frames_the_marked_ones():
    images = torch.zeros(20, 1, 28, 28)
    images[:, :, 10:18, 10:18] = 1.0
    plain = _image(pictures.Grid(images, 10).render())
    marked = _image(pictures.Grid(images, 10, labels=list(range(20)), marked=[i == 3 for i in range(20)]).render())
    assert plain.size[0] >= 10 * pictures.CELL and plain.size[1] >= 2 * pictures.CELL
    assert _red_pixels(plain) == 0 and _red_pixels(marked) > 100
    # the white squares of the 20 digits are there: 20 * (8 * 2)^2 white pixels at least
    import numpy as np

    assert int((np.asarray(plain) == 255).all(axis=-1).sum()) > 20 * 16 * 16


def test_rows_keep_their_order_and_colour_images_stay_in_colour():
    top, bottom = torch.zeros(5, 3, 8, 8), torch.zeros(5, 3, 8, 8)
    top[:, 0] = 1.0      # red images above ...
    bottom[:, 2] = 1.0   # ... blue ones below
    image = _image(pictures.Rows([top, bottom], ["red", "blue"]).render())
    width, height = image.size
    column = [image.getpixel((pictures.ROW_NAME_WIDTH + 20, y)) for y in range(height)]
    first_red = next(y for y, p in enumerate(column) if p == (255, 0, 0))
    first_blue = next(y for y, p in enumerate(column) if p == (0, 0, 255))
    assert first_red < first_blue


def test_rows_of_uint8_data_and_float_reconstructions_share_one_scale():
    import numpy as np

    data = torch.full((3, 3, 8, 8), 128, dtype=torch.uint8)        # mid grey, as the data sets store it
    rebuilt = torch.full((3, 3, 8, 8), 128 / 255)                     # mid grey, as a decoder returns it
    image = np.asarray(_image(pictures.Rows([data, rebuilt]).render()))
    cell = pictures.CELL
    top, bottom = image[4:4 + cell, 4:4 + cell], image[8 + cell:8 + 2 * cell, 4:4 + cell]
    assert (top == 128).all() and (bottom == 128).all()


def test_curves_and_clusters_draw():
    curve = _image(pictures.Curves({"reported": [200.0, 150.0, float("nan"), 120.0]},
                                   points={"grader": (4, 121.0)}).render())
    assert curve.size[0] > 300
    images = torch.rand(30, 1, 16, 16)
    assignment = torch.tensor([0] * 12 + [1] * 10 + [2] * 8)
    gold = ["a"] * 11 + ["b"] + ["c"] * 10 + ["d"] * 8
    grid = pictures.clusters(images, assignment, gold, count=3, per_cluster=12)
    assert grid.labels[:12] == ["a"] * 11 + ["b"] and grid.marked[11] and not any(grid.marked[12:])
    assert _image(grid.render()).size[1] >= 3 * pictures.CELL


@pytest.mark.parametrize("weird", [
    torch.full((4, 1, 28, 28), float("nan")), torch.full((4, 1, 28, 28), 1e30), -torch.ones(4, 28, 28),
    torch.randint(0, 255, (4, 28, 28, 3), dtype=torch.uint8), torch.rand(4, 1, 28, 28, dtype=torch.float64),
])
def test_any_numbers_a_submission_returns_are_drawn_as_clamped_pixels(weird):
    image = _image(pictures.Grid(weird, 4).render())
    assert image.size[0] >= 4 * pictures.CELL


@pytest.mark.parametrize("weird", [torch.rand(4, 7, 28, 28), torch.rand(2, 1, 4000, 4000), torch.rand(0, 1, 28, 28),
                                   "not a tensor"])
def test_what_cannot_be_drawn_becomes_a_caption_not_an_error(weird):
    picture = pictures.render("Samples", pictures.Grid(weird, 4))
    assert picture.png == b"" and "could not draw" in picture.caption


def test_a_picture_never_changes_a_score():
    def broken(ctx):
        ctx.picture("broken", lambda: 1 / 0)
        ctx.picture("fine", pictures.Grid(torch.rand(3, 28, 28), 3))
        return "All right."
    ctx = Context(workdir=KIT_ROOT, agent="")
    result = run_test(GradedTest("t", 5, broken), ctx)
    assert result.score == 5 and [p.title for p in result.pictures] == ["broken", "fine"]
    assert not result.pictures[0].png and result.pictures[1].png.startswith(b"\x89PNG")

    def failing(ctx):
        ctx.picture("what went wrong", pictures.Grid(torch.rand(3, 28, 28), 3))
        raise Fail("Not yet.")
    result = run_test(GradedTest("u", 5, failing), ctx)
    assert result.score == 0 and len(result.pictures) == 1   # a failed test shows its picture too
    assert run_test(GradedTest("v", 1, lambda c: None), ctx).pictures == []   # pictures never leak to the next test


# ----------------------------------------------------------------------------- results.json and feedback.html
def _noise_picture(title: str) -> pictures.Picture:
    return pictures.render(title, pictures.Grid(torch.rand(100, 1, 28, 28), 10))   # ~170 kB, incompressible


def test_results_json_stays_below_one_megabyte_whatever_the_feedback():
    hostile = "<script>alert(1)</script>" * 400_000   # ten megabytes of text
    results = [Result(f"test {i}", 1.0 * (i % 2), 1.0, hostile, pictures=[_noise_picture(f"p{i}a"),
                                                                              _noise_picture(f"p{i}b")])
               for i in range(12)]
    data = results_json(results, 1.0, hostile)
    text = json.dumps(data, indent=2)
    assert len(text.encode()) < SIZE_LIMIT, len(text)
    assert json.loads(text)["tests"][0]["output_format"] == "html"
    # Text a submission influences is rendered as text, or escaped where the output is HTML.
    assert data["output_format"] == "text"
    assert all(t["output_format"] == "text" or "<script>" not in t["output"] for t in data["tests"])
    assert all("feedback.html" in t["output"] for t in data["tests"])   # where the pictures are


def test_results_json_embeds_pictures_that_fit_and_keeps_plain_text():
    results = [Result("with pictures", 1.0, 2.0, "Half right: x < y & z.",
                          pictures=[pictures.render("Samples", pictures.Grid(torch.zeros(4, 28, 28), 4))]),
               Result("without", 1.0, 1.0, "Passed.")]
    data = results_json(results, 1.0)
    first, second = data["tests"]
    assert first["output_format"] == "html" and second["output_format"] == "text"
    assert "Half right: x &lt; y &amp; z." in first["output"] and first["extra_data"]["text"] == "Half right: x < y & z."
    uri = re.search(r'src="data:image/png;base64,([^"]+)"', first["output"]).group(1)
    assert base64.b64decode(uri) == results[0].pictures[0].png
    assert [t["number"] for t in data["tests"]] == ["1", "2"]
    assert len(json.dumps(data)) < 20_000


def test_feedback_page_is_self_contained_and_escapes_everything(tmp_path):
    results = [Result('<img src="https://example.com/x.png" onerror="alert(1)">', 0.0, 3.0,
                          "</pre><script>alert(2)</script>",
                          pictures=[pictures.render("<b>title</b>", pictures.Grid(torch.rand(4, 28, 28), 4))])]
    page = feedback.write(tmp_path, "hw4: feedback", results, "notes")
    text = page.read_text()
    assert "<script>" not in text and "<img src=\"https://" not in text
    assert "&lt;script&gt;alert(2)" in text and 'src="https://' not in text and "&lt;b&gt;title" in text
    assert re.findall(r'<img src="([^"]*)"', text) and all(
        src.startswith("data:image/png;base64,") for src in re.findall(r'<img src="([^"]*)"', text))
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["01-img-src-https-example-com-x-png-onerror-1.png"]


# ----------------------------------------------------------------------------- a real grading
def test_hw2_grading_draws_latent_arithmetic_from_the_sandbox_answer_not_from_student_files(tmp_path):
    """The student's folder holds a PNG of its own; the feedback shows only what the grader drew."""
    from autograder.homeworks.hw2 import hidden

    spec = load_spec("hw2")
    folder = tmp_path / "submission"
    shutil.copytree(spec.solution_dir, folder, ignore=shutil.ignore_patterns("__pycache__"))
    planted = folder / "outputs"
    planted.mkdir(exist_ok=True)
    fake = Image.new("RGB", (64, 64), (255, 0, 255))
    fake.save(planted / "latent_arithmetic.png")
    fake.save(folder / "feedback.png")
    data = grade("hw2", folder, tests=[hidden.compose], feedback=tmp_path / "feedback", timeout=120)
    test = data["tests"][0]
    assert test["score"] == test["max_score"], test["extra_data"]["text"]
    pngs = sorted((tmp_path / "feedback").glob("*.png"))
    assert len(pngs) == 1 and test["output_format"] == "html"
    # What was drawn is the grader's toy images, the sandbox's answer and the grader's expectation
    # (here equal to the answer up to float rounding): redraw it from the grader's side and compare.
    import numpy as np

    ctx = Context(workdir=folder, agent="", options={"seed": 0})
    toy = hidden._toy(ctx)
    vector = torch.randn(6, generator=ctx.generator(151))
    expected = hidden._decode(toy, hidden._encode(toy, toy["targets"]) + vector)
    redrawn = pictures.Rows([toy["targets"], expected, expected], ["image", "your compose", "expected"]).render()
    drawn = np.asarray(_image(pngs[0].read_bytes()), dtype=int)
    assert drawn.shape == np.asarray(_image(redrawn)).shape
    assert np.abs(drawn - np.asarray(_image(redrawn), dtype=int)).max() <= 1
    assert pngs[0].read_bytes() != (planted / "latent_arithmetic.png").read_bytes()
    page = (tmp_path / "feedback" / "feedback.html").read_text()
    assert "latent_arithmetic.png" not in page and "feedback.png" not in page
    uri = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(uri) == pngs[0].read_bytes()


def test_hw3_grading_shows_both_interpolation_grids(tmp_path):
    from autograder.homeworks.hw3 import hidden

    data = grade("hw3", load_spec("hw3").solution_dir, tests=[hidden.grid], feedback=tmp_path, timeout=120)
    test = data["tests"][0]
    assert test["score"] == test["max_score"], test["extra_data"]["text"]
    assert len(test["extra_data"]["pictures"]) == 2 and test["output"].count("<img") == 2
    grids = [_image(p.read_bytes()) for p in sorted(tmp_path.glob("*.png"))]
    assert len(grids) == 2 and grids[0].size == grids[1].size
    width, height = grids[0].size
    assert width >= 9 * pictures.CELL and height >= 10 * pictures.CELL      # 10 rows of 9
    assert _red_pixels(grids[0]) == 0   # the reference's grid equals create_interpolates row by row


def test_nearest_finds_the_training_image_a_sample_copies():
    reference = torch.rand(12000, 1, 28, 28)
    samples = reference[[7, 11000, 5003]] + 0.01 * torch.randn(3, 1, 28, 28)
    assert pictures.nearest(samples, reference, chunk=5000).tolist() == [7, 11000, 5003]
    as_uint8 = (reference * 255).round().to(torch.uint8)
    assert pictures.nearest(samples, as_uint8).tolist() == [7, 11000, 5003]


def test_hw5_clusters_picture_is_drawn_from_the_codes_the_grader_holds():
    """hw5's clustering test with the retraining's codes already in hand (random codes here): the
    picture shows six clusters of dev glyphs labelled with letters."""
    import numpy as np

    from autograder.homeworks.hw5 import hidden

    dev, test = hidden._images("dev"), hidden._images("test")
    rng = np.random.default_rng(0)
    ctx = Context(workdir=KIT_ROOT, agent="")
    ctx._cache["recomputed"] = ("value", {"dev": rng.normal(size=(dev.shape[0], 8)),
                                          "test": rng.normal(size=(test.shape[0], 8)), "seconds": 1.0})
    result = run_test(hidden.clustering, ctx)
    assert len(result.pictures) == 1 and result.pictures[0].png, result.pictures
    grid = _image(result.pictures[0].png)
    assert grid.size[1] >= 6 * 64 and _red_pixels(grid) > 0   # random codes mix letters: red frames


def test_hw4_memorisation_picture_pairs_copied_samples_with_their_training_images():
    """hw4's memorisation test with samples in hand that are replayed training digits: the test
    fails, and its picture shows the flagged samples above the training images they copy."""
    import numpy as np

    from autograder.homeworks.hw4 import hidden
    from data import mnist

    train, _ = mnist.tensors("train", 1000)
    digits = torch.arange(10).repeat_interleave(hidden.SAMPLES_PER_DIGIT)
    ctx = Context(workdir=KIT_ROOT, agent="")
    ctx._cache["trained-cvae"] = ("value", {"reported": torch.zeros(10), "seconds": torch.ones(10)})
    ctx.flags.add("harvested-cvae")   # a trained CVAE whose samples the grader already has:
    ctx._cache["cvae-samples"] = ("value", (digits, train.float() / 255))
    result = run_test(hidden.cvae_novelty, ctx)
    assert result.score == 0 and len(result.pictures) == 1 and result.pictures[0].png
    image = np.asarray(_image(result.pictures[0].png), dtype=int)
    cell = pictures.CELL
    x0 = pictures.ROW_NAME_WIDTH + 4
    sample, nearest = image[4:4 + cell, x0:x0 + cell], image[8 + cell:8 + 2 * cell, x0:x0 + cell]
    assert sample.max() == 255 and np.abs(sample - nearest).max() <= 1   # a copy next to its original
