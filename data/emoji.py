"""Emoji images for homework 2, rendered offline from the Noto Color Emoji font.

>>> from data import emoji
>>> emojis = emoji.load()          # about 1,870 emoji (no skin-tone variants), built once, then cached
>>> emojis.images.shape, emojis.images.dtype
((1870, 64, 64, 3), dtype('uint8'))
>>> emojis.names[0], emojis.chars[0]
('grinning face', '😀')
>>> x = emojis.tensor()            # float32 (N, 3, 64, 64) in [0, 1]

Nothing is downloaded: every fully-qualified emoji listed in Unicode's ``emoji-test.txt`` is drawn
with its embedded colour bitmap from the Noto Color Emoji font onto a white square and shrunk to
64 x 64 RGB. Each image is named by its Unicode/CLDR short name ("grinning face", "nerd face",
"face with tongue"). Skin-tone variants are left out by default (``load(skin_tones=True)`` keeps
them: about 3,650 images).

Where the inputs are found (the first that exists wins):

- the font: ``$AEKIT_EMOJI_FONT`` (a path to ``NotoColorEmoji.ttf``), then the usual font folders
  of Debian/Ubuntu (``/usr/share/fonts/truetype/noto``, package ``fonts-noto-color-emoji``),
  Fedora, Arch, macOS and Windows, and the user's own font folders;
- the emoji list: ``$AEKIT_EMOJI_TEST`` (a path to ``emoji-test.txt``), then
  ``/usr/share/unicode/emoji/emoji-test.txt`` (Debian package ``unicode-data``) and
  ``emoji/emoji-test.txt`` in the kit's data folders (see :mod:`data.store`). Without the list the
  kit falls back to the single code points the font draws, named by Python's ``unicodedata``
  (fewer images, and no multi-character emoji such as flags).

The result (a uint8 array and the names) is cached under ``data.store.cache_dir()/emoji/``
with a SHA-256 checksum file. Every load verifies the checksums and rebuilds a cache that does not
match (or was built from a different font, list or option). A prebuilt cache in ``$AEKIT_DATA/emoji``
or ``../shared/data/emoji`` is used when its checksums match. Building takes a few seconds.

Command line::

    python -m data.emoji                                   # build (or load) and describe the set
    python -m data.emoji --contact-sheet sheet.png         # a grid of images with their names
    python -m data.emoji --contact-sheet faces.png --match face --count 60

Licences: the Noto Color Emoji font is distributed under the SIL Open Font License 1.1, and the
Noto emoji images under the Apache License 2.0 (Google, https://github.com/googlefonts/noto-emoji).
Unicode's emoji data files are under the Unicode License.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .store import DataError, cache_dir, search_dirs, write_atomically

SIZE = 64                       # side of every image, in pixels
FONT_FILE = "NotoColorEmoji.ttf"
FONT_PIXELS = 109               # the font's bitmap strike (CBDT): 136 x 128 pixel glyphs
FONT_PACKAGE = "fonts-noto-color-emoji"
TEST_FILE = "emoji-test.txt"
TEST_PACKAGE = "unicode-data"
FORMAT = 1                      # bump when the rendering changes, so old caches are rebuilt
SKIN_TONES = range(0x1F3FB, 0x1F400)

FONT_DIRS = (
    "/usr/share/fonts/truetype/noto",          # Debian, Ubuntu: fonts-noto-color-emoji
    "/usr/share/fonts/noto",                   # Arch: noto-fonts-emoji
    "/usr/share/fonts/google-noto-emoji",      # Fedora: google-noto-emoji-color-fonts
    "/usr/share/fonts/google-noto-color-emoji-fonts",
    "/usr/share/fonts/truetype",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "~/Library/Fonts",                         # macOS, when installed by hand
    "/Library/Fonts",
    "C:/Windows/Fonts",
)
TEST_DIRS = ("/usr/share/unicode/emoji", "/usr/share/unicode-data/emoji", "/usr/share/unicode",
             "/usr/local/share/unicode/emoji")

_MEMORY: dict = {}


@dataclass
class EmojiSet:
    """The rendered emoji.

    - images: uint8 array (N, 64, 64, 3), RGB on white, read-only;
    - names: N short names ("grinning face"), lower case as Unicode writes them;
    - chars: N strings, the emoji themselves (one or more code points);
    - groups, subgroups: N strings from ``emoji-test.txt`` ("Smileys & Emotion", "face-smiling"),
      empty when the names came from ``unicodedata``;
    - source: where the font and list were found and how the set was built.
    """

    images: np.ndarray
    names: list
    chars: list
    groups: list
    subgroups: list
    source: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)

    def tensor(self, indices=None):
        """The images (or those at ``indices``) as a float32 torch tensor (N, 3, 64, 64) in [0, 1]."""
        import torch

        images = self.images if indices is None else self.images[np.asarray(indices, dtype=np.int64)]
        return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float().div_(255.0)

    def find(self, name: str) -> int:
        """The index of the emoji named exactly ``name`` (case-insensitive); KeyError if none."""
        wanted = name.strip().lower()
        for index, candidate in enumerate(self.names):
            if candidate.lower() == wanted:
                return index
        raise KeyError(f"no emoji is named {name!r}")


# --------------------------------------------------------------------------- finding the inputs
def _named_by(variable: str, advice: str) -> Path | None:
    """The file the environment variable ``variable`` names, None when it is unset, and a
    :class:`DataError` ending with ``advice`` when it names no file."""
    value = os.environ.get(variable)
    if not value:
        return None
    path = Path(value).expanduser()
    if path.is_file():
        return path
    raise DataError(f"{variable} is set to {path}, but there is no file there. {advice}")


def find_font() -> Path:
    """The Noto Color Emoji font file; :class:`DataError` saying what to install when absent."""
    path = _named_by("AEKIT_EMOJI_FONT", f"Point it at {FONT_FILE}, or unset it to let the kit search the usual "
                                         "font folders.")
    if path:
        return path
    looked = []
    for folder in FONT_DIRS:
        path = Path(folder).expanduser() / FONT_FILE
        looked.append(str(path))
        if path.is_file():
            return path
    raise DataError(
        f"The emoji font {FONT_FILE} was not found, so the emoji images cannot be drawn.\n"
        f"Looked in:\n" + "\n".join(f"  - {p}" for p in looked) + "\n"
        f"What to do: on Debian or Ubuntu run `sudo apt-get install {FONT_PACKAGE}` (Fedora: "
        f"google-noto-emoji-color-fonts; Arch: noto-fonts-emoji), or download {FONT_FILE} from "
        f"https://github.com/googlefonts/noto-emoji and set AEKIT_EMOJI_FONT to its path."
    )


def find_emoji_test() -> Path | None:
    """Unicode's ``emoji-test.txt``, or None when it is nowhere to be found (see the module doc)."""
    path = _named_by("AEKIT_EMOJI_TEST", f"Point it at {TEST_FILE} (Debian package {TEST_PACKAGE}), or unset it.")
    if path:
        return path
    folders = [Path(d) for d in TEST_DIRS] + search_dirs("emoji")
    for folder in folders:
        path = folder / TEST_FILE
        if path.is_file():
            return path
    return None


# --------------------------------------------------------------------------- which emoji
def parse_emoji_test(text: str, skin_tones: bool = False) -> list[tuple[str, str, str, str]]:
    """``(chars, name, group, subgroup)`` of every fully-qualified emoji in ``emoji-test.txt``'s text.

    A line looks like ``1F600 ; fully-qualified # 😀 E1.0 grinning face``. Emoji holding a skin-tone
    modifier (U+1F3FB to U+1F3FF) are skipped unless ``skin_tones`` is true.
    """
    entries, group, subgroup = [], "", ""
    for line in text.splitlines():
        if line.startswith("# group:"):
            group = line.split(":", 1)[1].strip()
            continue
        if line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
            continue
        if not line.strip() or line.startswith("#") or ";" not in line:
            continue
        codes, rest = line.split(";", 1)
        status, _, comment = rest.partition("#")
        if status.strip() != "fully-qualified":
            continue
        points = [int(code, 16) for code in codes.split()]
        if not skin_tones and any(p in SKIN_TONES for p in points):
            continue
        # the comment is "<emoji> E<version> <name>"
        match = re.match(r"\s*\S+\s+E\d+\.\d+\s+(.+?)\s*$", comment)
        name = match.group(1) if match else comment.strip()
        entries.append(("".join(map(chr, points)), name, group, subgroup))
    return entries


def font_code_points(path: Path) -> list[int]:
    """The code points a TrueType font maps to glyphs (read from its ``cmap`` table, formats 4 and 12)."""
    raw = Path(path).read_bytes()
    tables = {}
    count = struct.unpack_from(">H", raw, 4)[0]
    for i in range(count):
        tag, _, offset, _ = struct.unpack_from(">4sIII", raw, 12 + 16 * i)
        tables[tag] = offset
    if b"cmap" not in tables:
        return []
    base = tables[b"cmap"]
    points: set[int] = set()
    for i in range(struct.unpack_from(">H", raw, base + 2)[0]):
        _, _, offset = struct.unpack_from(">HHI", raw, base + 4 + 8 * i)
        sub = base + offset
        kind = struct.unpack_from(">H", raw, sub)[0]
        if kind == 12:
            for g in range(struct.unpack_from(">I", raw, sub + 12)[0]):
                start, end, _ = struct.unpack_from(">III", raw, sub + 16 + 12 * g)
                points.update(range(start, end + 1))
        elif kind == 4:
            segs = struct.unpack_from(">H", raw, sub + 6)[0] // 2
            ends = struct.unpack_from(f">{segs}H", raw, sub + 14)
            starts = struct.unpack_from(f">{segs}H", raw, sub + 16 + 2 * segs)
            for start, end in zip(starts, ends):
                if start != 0xFFFF:
                    points.update(range(start, end + 1))
    return sorted(points)


def single_code_point_entries(font: Path, skin_tones: bool = False) -> list[tuple[str, str, str, str]]:
    """The fallback list: every code point the font draws that Python's ``unicodedata`` can name,
    leaving out the pieces emoji are built from (joiners, selectors, tags, regional indicators)."""
    entries = []
    for point in font_code_points(font):
        if point < 0xA9 or 0x2000 <= point <= 0x206F or 0xFE00 <= point <= 0xFE0F or point == 0x20E3:
            continue
        if 0xE0000 <= point <= 0xE007F or 0x1F1E6 <= point <= 0x1F1FF:
            continue
        if point in SKIN_TONES and not skin_tones:
            continue
        name = unicodedata.name(chr(point), "")
        if name:
            entries.append((chr(point), name.lower(), "", ""))
    return entries


# --------------------------------------------------------------------------- drawing
def _font(path: Path):
    from PIL import ImageFont, features

    if features.check("raqm"):
        return ImageFont.truetype(str(path), FONT_PIXELS, layout_engine=ImageFont.Layout.RAQM), True
    return ImageFont.truetype(str(path), FONT_PIXELS, layout_engine=ImageFont.Layout.BASIC), False


def render(chars: str, font, size: int = SIZE):
    """One emoji as a uint8 array (size, size, 3) on white, or None when the font draws nothing
    or more than one glyph for it."""
    from PIL import Image, ImageDraw

    left, top, right, bottom = font.getbbox(chars)
    width, height = right - left, bottom - top
    if width <= 0 or height <= 0 or width > 1.4 * height:  # no glyph, or several side by side
        return None
    side = max(width, height)
    layer = Image.new("RGBA", (side, side), (255, 255, 255, 0))
    ImageDraw.Draw(layer).text(((side - width) // 2 - left, (side - height) // 2 - top), chars, font=font,
                               embedded_color=True)
    if layer.getbbox() is None:  # fully transparent: nothing was drawn
        return None
    canvas = Image.new("RGBA", (side, side), (255, 255, 255, 255))
    canvas.alpha_composite(layer)
    small = canvas.convert("RGB").resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.uint8)


def build(font: Path | None = None, emoji_test: Path | None = None, skin_tones: bool = False,
          size: int = SIZE) -> EmojiSet:
    """Draw every emoji now (a few seconds), without touching the cache."""
    start = time.perf_counter()
    font = Path(font) if font else find_font()
    emoji_test = Path(emoji_test) if emoji_test else find_emoji_test()
    if emoji_test is not None:
        entries = parse_emoji_test(emoji_test.read_text(encoding="utf-8"), skin_tones)
    else:
        entries = single_code_point_entries(font, skin_tones)
    try:
        drawer, shaped = _font(font)
    except OSError as err:
        raise DataError(f"{font} could not be opened as a font ({err}). Reinstall {FONT_PACKAGE} or point "
                        f"AEKIT_EMOJI_FONT at a good copy of {FONT_FILE}.") from None
    if not shaped:
        # Without text shaping (Pillow built without libraqm) a sequence draws as several glyphs;
        # the variation selector alone is harmless to drop.
        entries = [(c.replace("\ufe0f", ""), n, g, s) for c, n, g, s in entries]
    images, kept = [], []
    for entry in entries:
        image = render(entry[0], drawer, size)
        if image is not None:
            images.append(image)
            kept.append(entry)
    if not kept:
        raise DataError(f"The font {font} drew none of the {len(entries)} emoji. Is it really {FONT_FILE}? "
                        f"Reinstall {FONT_PACKAGE} or set AEKIT_EMOJI_FONT.")
    array = np.stack(images)
    array.setflags(write=False)
    source = {"font": str(font), "emoji_test": str(emoji_test) if emoji_test else "",
              "names_from": "emoji-test.txt" if emoji_test else "unicodedata " + unicodedata.unidata_version,
              "shaping": "raqm" if shaped else "basic", "skin_tones": bool(skin_tones), "size": size,
              "listed": len(entries), "drawn": len(kept), "seconds": round(time.perf_counter() - start, 2)}
    return EmojiSet(array, [e[1] for e in kept], [e[0] for e in kept], [e[2] for e in kept],
                    [e[3] for e in kept], source)


# --------------------------------------------------------------------------- the cache
def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_digest(path: Path | None) -> str:
    if path is None:
        return "none"
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_key(font: Path, emoji_test: Path | None, skin_tones: bool, size: int) -> str:
    """A name for one build: it changes when the font, the list, the options, the renderer or
    Pillow's version do."""
    import PIL
    from PIL import features

    parts = [str(FORMAT), _file_digest(font), _file_digest(emoji_test), str(bool(skin_tones)), str(size),
             "raqm" if features.check("raqm") else "basic", PIL.__version__]
    return f"noto-{size}px{'-skin' if skin_tones else ''}-" + _sha256("|".join(parts).encode())[:12]


def identity(skin_tones: bool = False, size: int = SIZE) -> str:
    """The name of the set :func:`load` returns with these options (its cache key), without loading
    it: it changes whenever the images would. Raises :class:`data.DataError` like :func:`load` when
    the font is missing."""
    return cache_key(find_font(), find_emoji_test(), skin_tones, size)


def _payload(emojis: EmojiSet) -> tuple[bytes, bytes]:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(emojis.images))
    meta = json.dumps({"names": emojis.names, "chars": emojis.chars, "groups": emojis.groups,
                       "subgroups": emojis.subgroups, "source": emojis.source},
                      ensure_ascii=False, indent=0).encode("utf-8")
    return buffer.getvalue(), meta


def save(emojis: EmojiSet, folder: Path) -> bool:
    """Write ``images.npy``, ``meta.json`` and ``checksums.json`` into ``folder`` atomically.
    Returns False (and writes nothing) when the folder cannot be written, as in a read-only kit."""
    images, meta = _payload(emojis)
    checksums = json.dumps({"images.npy": _sha256(images), "meta.json": _sha256(meta)}, indent=1).encode()
    try:
        for name, data in (("images.npy", images), ("meta.json", meta), ("checksums.json", checksums)):
            write_atomically(folder / name, lambda out, data=data: out.write(data))
    except OSError:
        return False
    return True


def _array_from_npy(raw: bytes) -> np.ndarray:
    """The array of an ``.npy`` file's bytes, read in place (no copy of the 23 MB: ``np.load``
    would copy them); read-only."""
    import io

    from numpy.lib import format as npy

    stream = io.BytesIO(raw)
    try:
        version = npy.read_magic(stream)
        header = {(1, 0): npy.read_array_header_1_0, (2, 0): npy.read_array_header_2_0}[version]
        shape, fortran, dtype = header(stream)
        count = int(np.prod(shape))
        array = np.frombuffer(raw, dtype=dtype, count=count, offset=stream.tell())
    except (KeyError, ValueError) as err:
        raise DataError(f"the cached emoji images are not a readable .npy file ({err})") from None
    return array.reshape(shape, order="F" if fortran else "C")


def read(folder: Path) -> EmojiSet:
    """Load a cached set from ``folder``; :class:`DataError` naming the file when a checksum fails."""
    try:
        checksums = json.loads((folder / "checksums.json").read_text())
        images_raw = (folder / "images.npy").read_bytes()
        meta_raw = (folder / "meta.json").read_bytes()
    except (OSError, ValueError) as err:
        raise DataError(f"the emoji cache in {folder} is incomplete ({err})") from None
    for name, raw in (("images.npy", images_raw), ("meta.json", meta_raw)):
        if _sha256(raw) != checksums.get(name):
            raise DataError(f"{folder / name} is corrupt (its SHA-256 does not match checksums.json)")
    images = _array_from_npy(images_raw)
    meta = json.loads(meta_raw.decode("utf-8"))
    if images.shape[0] != len(meta["names"]):
        raise DataError(f"{folder} holds {images.shape[0]} images but {len(meta['names'])} names")
    return EmojiSet(images, meta["names"], meta["chars"], meta["groups"], meta["subgroups"], meta["source"])


def load(skin_tones: bool = False, size: int = SIZE, rebuild: bool = False, verbose: bool = False) -> EmojiSet:
    """The emoji set: from a verified cache when there is one, else drawn now and cached.

    A cache whose checksum does not match is reported (with ``verbose``) and rebuilt. Raises
    :class:`data.DataError` with instructions when the font is missing.
    """
    font, emoji_test = find_font(), find_emoji_test()
    key = cache_key(font, emoji_test, skin_tones, size)
    if key in _MEMORY and not rebuild:
        return _MEMORY[key]
    problems = []
    if not rebuild:
        for folder in search_dirs("emoji"):
            if (folder / key / "checksums.json").is_file():
                try:
                    emojis = read(folder / key)
                    emojis.source["cache"] = str(folder / key)
                    _MEMORY[key] = emojis
                    return emojis
                except DataError as err:
                    problems.append(str(err))
    for problem in problems:
        if verbose:
            print(f"Rebuilding the emoji images: {problem}.", file=sys.stderr)
    emojis = build(font, emoji_test, skin_tones, size)
    target = cache_dir() / "emoji" / key
    emojis.source["cache"] = str(target) if save(emojis, target) else ""
    _MEMORY[key] = emojis
    return emojis


# --------------------------------------------------------------------------- contact sheet
def contact_sheet(emojis: EmojiSet, path: Path, indices=None, columns: int = 10, title: str = "") -> Path:
    """Save a grid of the emoji at ``indices`` (default: the first 100), each with its name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    indices = list(range(min(100, len(emojis)))) if indices is None else list(indices)
    rows = max(1, -(-len(indices) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.25, rows * 1.45 + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, index in zip(axes.flat, indices):
        ax.imshow(emojis.images[index])
        name = emojis.names[index]
        wrapped = name if len(name) <= 18 else _wrap(name, 18)
        ax.set_title(wrapped, fontsize=6.5, pad=2)
    fig.suptitle(title or f"{len(indices)} of {len(emojis)} emoji (Noto Color Emoji, {emojis.images.shape[1]} px)",
                 fontsize=10, y=1 - 0.12 / (rows * 1.45 + 0.5))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.5 / (rows * 1.45 + 0.5)))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _wrap(text: str, width: int) -> str:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines[:3])


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m data.emoji", description="Build and look at the emoji images.")
    parser.add_argument("--contact-sheet", metavar="PATH", help="save a grid of images with their names (PNG)")
    parser.add_argument("--match", default="", help="only emoji whose name contains this text (case-insensitive)")
    parser.add_argument("--count", type=int, default=100, help="how many images the sheet shows (default 100)")
    parser.add_argument("--columns", type=int, default=10)
    parser.add_argument("--skin-tones", action="store_true", help="include the skin-tone variants")
    parser.add_argument("--rebuild", action="store_true", help="ignore the cache and draw everything again")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        emojis = load(skin_tones=args.skin_tones, rebuild=args.rebuild, verbose=True)
    except DataError as err:
        print(err, file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    print(f"{len(emojis)} emoji, images {emojis.images.shape} {emojis.images.dtype}, in {elapsed:.2f} s")
    for key, value in emojis.source.items():
        print(f"  {key}: {value}")
    if args.contact_sheet:
        indices = [i for i, n in enumerate(emojis.names) if args.match.lower() in n.lower()][:args.count]
        if not indices:
            print(f"No emoji name contains {args.match!r}.", file=sys.stderr)
            return 1
        title = (f"{len(indices)} emoji whose name contains '{args.match}'" if args.match
                 else f"The first {len(indices)} of {len(emojis)} emoji")
        print("Saved", contact_sheet(emojis, Path(args.contact_sheet), indices, args.columns, title))
    return 0


if __name__ == "__main__":
    sys.exit(main())


def prepare() -> None:
    """Build (or verify) the cached emoji set (used before grading: see autograder/prefetch.py)."""
    load()
