"""Homework 3's hook: ``python zipout.py hw3`` makes the outputs zip AND the write-up PDF.

    python zipout.py hw3                  # stencil/hw3 -> hw3_outputs.zip and hw3_writeup.pdf
    python zipout.py hw3 --dir FOLDER --out some/where/hw3_outputs.zip   # PDF: some/where/hw3_writeup.pdf

The handout asks for a write-up PDF: page 1 is the same-digit interpolation figure, page 2 the
different-digits figure, and the pages after them show the code (``vae.py``, ``assignment.py``
and any other ``.py`` helper at the top of the homework folder, with line numbers). The PDF is
written as its OWN file next to the outputs zip, not inside it, because Gradescope's PDF
assignments take a PDF upload (which graders annotate page by page), not a zip. The zip holds
the two figures and ``losses.json``, collected and checked as for every homework
(``autograder.packaging.output_files``).

Nothing is written unless every file passes its checks; the PDF is written atomically (a
temporary file renamed into place), so a failed run leaves an earlier PDF as it was.
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

from autograder.packaging import (PackagingError, check_source_file, code_files, homework_folder, output_files,
                                  show)

OUTPUT_ZIP = "hw3_outputs.zip"
WRITEUP_PDF = "hw3_writeup.pdf"
FIGURES = (
    ("outputs/interpolation_same_digit.png",
     "Page 1. Same digit: one random pair of test images per digit 0-9"),
    ("outputs/interpolation_different_digits.png",
     "Page 2. Different digits: 10 random pairs of test images"),
)
PAGE_SIZE = (8.5, 11.0)     # inches (US letter; prints fine on A4)
LINES_PER_PAGE = 78
LINE_WIDTH = 112            # characters, line number included; longer lines wrap


def writeup_path(args) -> Path:
    """The PDF goes next to the outputs zip (``--out``), or into the current folder."""
    out = Path(args.out) if getattr(args, "out", None) else Path(OUTPUT_ZIP)
    return out.with_name(WRITEUP_PDF)


def _wrap(text: str) -> list[str]:
    """Numbered lines of ``text``, wrapped at LINE_WIDTH characters, tabs expanded and control
    characters made visible."""
    lines = []
    body = LINE_WIDTH - 6
    for number, line in enumerate(text.splitlines() or [""], start=1):
        line = "".join(c if c.isprintable() else "?" for c in line.expandtabs(4))
        pieces = [line[i:i + body] for i in range(0, len(line), body)] or [""]
        lines.append(f"{number:4d}  {pieces[0]}")
        lines += [f"   +  {piece}" for piece in pieces[1:]]
    return lines


def code_pages(files: list[Path]) -> list[tuple[str, list[str]]]:
    """``(header, lines)`` for every page of code."""
    pages = []
    for path in files:
        text = path.read_bytes().decode("utf-8", errors="replace")
        lines = _wrap(text)
        chunks = [lines[i:i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)]
        for index, chunk in enumerate(chunks, start=1):
            pages.append((f"{path.name} ({index} of {len(chunks)})", chunk))
    return pages


def read_figures(figures: list[tuple[str, Path]]) -> list[tuple[str, object]]:
    """``(caption, RGB(A) array)`` of every figure; a damaged PNG is refused."""
    import matplotlib.image as mpimg

    images = []
    for caption, path in figures:
        try:
            images.append((caption, mpimg.imread(str(path))))
        except Exception as err:  # a PNG signature on a damaged file
            raise PackagingError(f"{show(path)} cannot be read as an image ({type(err).__name__}). Run the homework "
                                 "again to redraw it.") from None
    return images


def page_figures(images, pages, title: str):
    """The write-up's pages as matplotlib figures, in order: each figure, then the code."""
    from matplotlib.figure import Figure

    for caption, image in images:
        fig = Figure(figsize=PAGE_SIZE)
        fig.text(0.5, 0.965, title, ha="center", va="top", fontsize=13, parse_math=False)
        fig.text(0.5, 0.935, caption, ha="center", va="top", fontsize=11, parse_math=False)
        ax = fig.add_axes((0.06, 0.05, 0.88, 0.86))
        ax.imshow(image, interpolation="nearest")
        ax.set_axis_off()
        yield fig
    for header, lines in pages:
        fig = Figure(figsize=PAGE_SIZE)
        fig.text(0.06, 0.975, f"{title}: code, {header}", ha="left", va="top", fontsize=9,
                 family="monospace", parse_math=False)
        fig.text(0.06, 0.955, "\n".join(lines), ha="left", va="top", family="monospace", fontsize=7.2,
                 linespacing=1.2, parse_math=False)
        yield fig


def write_writeup(pdf_path: Path, figures: list[tuple[str, Path]], files: list[Path], title: str) -> int:
    """Write the PDF: one page per figure, then the code; returns the number of pages."""
    from matplotlib.backends.backend_pdf import PdfPages

    images = read_figures(figures)
    pages = code_pages(files)
    fd, tmp = tempfile.mkstemp(prefix=f".{pdf_path.name}.", suffix=".tmp", dir=pdf_path.parent)
    os.close(fd)
    count = 0
    try:
        metadata = {"Title": f"{title}: write-up", "Subject": "page 1: same-digit interpolations; page 2: "
                    "different-digit interpolations; then the code", "Creator": "zipout.py"}
        with warnings.catch_warnings(), PdfPages(tmp, metadata=metadata) as pdf:
            warnings.simplefilter("ignore")   # e.g. a glyph missing from the monospace font
            for fig in page_figures(images, pages, title):
                pdf.savefig(fig)
                count += 1
        os.chmod(tmp, 0o644)
        os.replace(tmp, pdf_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return count


def collect_outputs(spec, args) -> list[tuple[str, Path]]:
    """zipout.py's hook: check the outputs, write the write-up PDF, return the zip's members."""
    folder = homework_folder(Path(args.dir) if getattr(args, "dir", None) else spec.student_folder)
    members = output_files(spec, folder)
    files = [path for _, path in code_files(spec, folder)]
    for path in files:
        check_source_file(path)
    pdf_path = writeup_path(args)
    if not pdf_path.parent.is_dir():
        raise PackagingError(f"cannot write {show(pdf_path)}: the folder {show(pdf_path.parent)} does not exist.")
    figures = [(caption, folder / name) for name, caption in FIGURES]
    count = write_writeup(pdf_path, figures, files, spec.title)
    print(f"Wrote {show(pdf_path)} ({count} pages: the two figures, then {count - len(figures)} of code). "
          f"Upload this PDF to the Gradescope write-up assignment of {spec.name}.")
    return members
