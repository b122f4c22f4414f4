"""Grading homework 3: the reference, the untouched stencil, one-bug submissions, the public
checks, and the write-up PDF that ``zipout.py hw3`` makes. Only the full reference grading trains
a model (``slow``: about 80 s of CPU, 60 s of it training; its wall time grows with the machine's
load). The one-bug submissions run every test but the training one, because their bugs sit in
functions that training never calls."""
import json
import re
import shutil
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from grading_support import grade
from autograder.homeworks import load_spec
from autograder.homeworks.hw3 import hidden
import grading_support
from grading_support import (assert_failed_tests_say, assert_graded_stencil, assert_one_bug_costs_only,
                             assert_public_checks, build, feedback_of, feedback_text, names, scores)

KIT = Path(__file__).resolve().parents[1]
REFERENCE = KIT / "solutions" / "hw3"
STENCIL = KIT / "stencil" / "hw3"
SPEC = load_spec("hw3")
WITHOUT_TRAINING = [t for t in hidden.TESTS if t not in hidden.TRAINING_TESTS]


def test_untouched_stencil_scores_at_most_5_percent_with_feedback_on_every_test(tmp_path):
    results = grade("hw3", STENCIL, tmp_path / "results.json", timeout=120)
    assert_graded_stencil(results, hidden, tmp_path / "results.json", most=5)
    assert_failed_tests_say(results, "NotImplementedError", "TODO: fill in", only_lost=True)


ONE_BUG = {
    # The codes are sampled around the means before interpolating.
    "samples_not_means": ([("assignment.py", "        mu, _ = encoder(ends)\n",
                            "        mu, logvar = encoder(ends)\n        mu = sample(mu, logvar)\n", 1)],
                          {hidden.uses_means.name}),
    # Weights k/9 instead of k/8.
    "weights_k_over_9": ([("assignment.py", "/ (NUM_INTERIOR + 1)", "/ (NUM_INTERIOR + 2)", 1)],
                         {hidden.weights.name}),
    # The ends are the reconstructions of A and B, not A and B.
    "decoded_endpoints": ([("assignment.py", "images = torch.cat([ends[:1], middle, ends[1:]])",
                            "images = torch.cat([decoder(mu[:1]), middle, decoder(mu[1:])])", 1)],
                          {hidden.endpoints.name}),
    # Both pair functions draw from the training set.
    "pairs_from_training_set": ([("assignment.py", 'images, labels = load_images("test")',
                                  'images, labels = load_images("train")', 2)],
                                {hidden.from_test_set.name}),
}


@pytest.mark.parametrize("bug", sorted(ONE_BUG))
def test_one_bug_loses_only_its_points(tmp_path, bug):
    patches, lost = ONE_BUG[bug]
    results = grade("hw3", build("hw3", tmp_path / bug, patches), tests=WITHOUT_TRAINING)
    assert set(scores(results)) == names(*WITHOUT_TRAINING)
    assert_one_bug_costs_only(results, hidden, lost, bug=bug)
    for name in lost:
        assert len(feedback_of(results, name)) > 80, feedback_of(results, name)
    expected_hint = {"samples_not_means": "the codes were sampled", "weights_k_over_9": "k/9",
                     "decoded_endpoints": "reconstructions", "pairs_from_training_set": "training set"}[bug]
    assert expected_hint in " ".join(feedback_text(t) for t in results["tests"] if t["name"] in lost)


def test_public_checks_pass_on_the_reference_and_fail_on_the_stencil():
    assert_public_checks("hw3", REFERENCE, STENCIL)


@pytest.mark.slow
def test_reference_gets_full_marks(tmp_path):
    results = grade("hw3", REFERENCE, tmp_path / "results.json")
    assert results["score"] == 100, json.dumps(results, indent=1)[:3000]
    training = feedback_of(results, hidden.training)
    nelbo = float(re.search(r"is (\d+\.\d)", training).group(1))
    assert 90 < nelbo < hidden.NELBO_PASS, training


# ----------------------------------------------------------------------------- the write-up PDF
def read_pdf(path: Path):
    """A tiny reader for the PDFs matplotlib writes: the document title, and for every page (in
    order) the text of its literal strings and the number of images it draws."""
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    objects = {int(m.group(1)): m.group(2) for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)endobj", data, re.S)}

    def stream(body: bytes) -> bytes:
        match = re.search(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S)
        raw = match.group(1)
        return zlib.decompress(raw) if b"/FlateDecode" in body[:match.start()] else raw

    (tree,) = [body for body in objects.values() if re.search(rb"/Type\s*/Pages\b", body)]
    kids = [int(k) for k in re.findall(rb"(\d+) 0 R", re.search(rb"/Kids\s*\[(.*?)\]", tree, re.S).group(1))]
    pages = []
    for kid in kids:
        content = stream(objects[int(re.search(rb"/Contents\s+(\d+) 0 R", objects[kid]).group(1))])
        strings = re.findall(rb"\(((?:\\.|[^\\)])*)\)", content)
        text = re.sub(r"\\(.)", r"\1", b"".join(strings).decode("latin-1"))
        pages.append({"text": text, "images": len(re.findall(rb"/I\d+ Do", content))})
    title = re.search(rb"/Title\s*\((.*?)\)", data)
    return (title.group(1).decode("latin-1") if title else ""), pages


def write_outputs(folder: Path, skip=()):
    """Small but real outputs: two PNG figures and a loss record."""
    import numpy as np
    from matplotlib.image import imsave

    def figure(path):
        imsave(path, np.random.default_rng(len(path.name)).random((60, 54)), cmap="gray")

    grading_support.write_outputs(SPEC, folder, {"model": "vae", "per_image_loss": [165.2, 121.8], "test_loss": 118.0},
                                  figure, skip)


@pytest.fixture
def hw3_folder(tmp_path):
    folder = tmp_path / "hw3"
    folder.mkdir()
    for name in SPEC.source_files:
        shutil.copy(REFERENCE / name, folder / name)
    (folder / "helpers.py").write_text("def double(x):\n    return 2 * x  # a $dollar$ sign\n")
    return folder


def _scripts():
    if str(KIT) not in sys.path:
        sys.path.insert(0, str(KIT))


def run_zipout(folder: Path, out: Path) -> int:
    _scripts()
    import zipout

    return zipout.main(["hw3", "--dir", str(folder), "--out", str(out)])


def test_zipout_makes_the_outputs_zip_and_the_writeup_pdf(hw3_folder, tmp_path, capsys):
    write_outputs(hw3_folder)
    out = tmp_path / "dist" / "hw3_outputs.zip"
    out.parent.mkdir()
    assert run_zipout(hw3_folder, out) == 0
    printed = capsys.readouterr().out
    pdf = out.with_name("hw3_writeup.pdf")
    assert "hw3_writeup.pdf" in printed and "hw3_outputs.zip" in printed
    with zipfile.ZipFile(out) as zf:
        assert set(zf.namelist()) == set(SPEC.output_files)   # the PDF is its own file, not in the zip
    title, pages = read_pdf(pdf)
    assert "Homework 3" in title
    lines = sum(len((hw3_folder / n).read_text().splitlines()) for n in ("vae.py", "assignment.py", "helpers.py"))
    assert len(pages) >= 2 + 3 and len(pages) <= 2 + lines // 40
    assert "Page 1. Same digit" in pages[0]["text"] and pages[0]["images"] == 1
    assert "Page 2. Di" in pages[1]["text"] and "10 random pairs" in pages[1]["text"] and pages[1]["images"] == 1
    code = pages[2:]
    assert all(p["images"] == 0 for p in code)
    assert "code, vae.py (1 of" in code[0]["text"]
    order = [re.search(r"code, (\w+\.py) \(", p["text"]).group(1) for p in code]
    assert order == sorted(order, key=["vae.py", "assignment.py", "helpers.py"].index)
    assert set(order) == {"vae.py", "assignment.py", "helpers.py"}
    everything = "".join(p["text"] for p in code)
    assert "def create_interpolates(A, B, encoder, decoder):" in everything
    assert "def train(encoder, decoder, train_loader, optimizer, num_epochs=10):" in everything
    assert "a $dollar$ sign" in everything   # no mathtext: code is shown as written
    assert f"({len(pages)} pages" in printed
    assert [p.name for p in out.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_zipout_refuses_missing_figure_and_writes_nothing(hw3_folder, tmp_path, capsys):
    write_outputs(hw3_folder, skip=["outputs/interpolation_different_digits.png"])
    out = tmp_path / "hw3_outputs.zip"
    assert run_zipout(hw3_folder, out) == 1
    err = capsys.readouterr().err
    assert "interpolation_different_digits.png" in err and "assignment.py" in err and "Traceback" not in err
    assert not out.exists() and not out.with_name("hw3_writeup.pdf").exists()


def test_zipout_refuses_damaged_png_and_keeps_the_previous_pdf(hw3_folder, tmp_path, capsys):
    write_outputs(hw3_folder)
    out = tmp_path / "hw3_outputs.zip"
    pdf = out.with_name("hw3_writeup.pdf")
    pdf.write_bytes(b"previous")
    figure = hw3_folder / "outputs" / "interpolation_same_digit.png"
    figure.write_bytes(figure.read_bytes()[:40])
    assert run_zipout(hw3_folder, out) == 1
    err = capsys.readouterr().err
    assert "interpolation_same_digit.png" in err and "cannot be read" in err and "Traceback" not in err
    assert pdf.read_bytes() == b"previous" and not out.exists()


def test_zipout_refuses_source_with_syntax_error(hw3_folder, tmp_path, capsys):
    write_outputs(hw3_folder)
    (hw3_folder / "vae.py").write_text("def broken(:\n")
    assert run_zipout(hw3_folder, tmp_path / "hw3_outputs.zip") == 1
    err = capsys.readouterr().err
    assert "vae.py" in err and "line 1" in err


def test_zipsrc_packs_sources_and_notebook(hw3_folder, tmp_path):
    _scripts()
    import zipsrc

    out = tmp_path / "hw3_source.zip"
    assert zipsrc.main(["hw3", "--dir", str(hw3_folder), "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as zf:
        assert set(zf.namelist()) == {"vae.py", "assignment.py", "helpers.py", "hw3.ipynb"}
