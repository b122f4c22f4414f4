"""The emoji images of homework 2: parsing Unicode's list, drawing with the Noto font, the verified
cache (rebuilt when corrupt), the fallback names, the contact sheet and the missing-font message."""
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from data import DataError, emoji, store

KIT = Path(__file__).resolve().parents[1]

SNIPPET = """# group: Smileys & Emotion
# subgroup: face-smiling
1F600                                                  ; fully-qualified     # 😀 E1.0 grinning face
263A FE0F                                              ; fully-qualified     # ☺️ E0.6 smiling face
263A                                                   ; unqualified         # ☺ E0.6 smiling face
# subgroup: face-glasses
1F913                                                  ; fully-qualified     # 🤓 E1.0 nerd face
# group: People & Body
# subgroup: hand-fingers-open
1F44B                                                  ; fully-qualified     # 👋 E0.6 waving hand
1F44B 1F3FB                                            ; fully-qualified     # 👋🏻 E1.0 waving hand: light skin tone
1F3FB                                                  ; component           # 🏻 E1.0 light skin tone
1F468 200D 1F4BB                                       ; fully-qualified     # 👨‍💻 E4.0 man technologist
"""


def _font_or_skip() -> Path:
    try:
        return emoji.find_font()
    except DataError:
        pytest.skip(f"the emoji font is not installed (apt-get install {emoji.FONT_PACKAGE})")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty cache, no AEKIT_DATA, and a fresh in-process memory of loaded sets."""
    monkeypatch.setenv("AEKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AEKIT_DATA", raising=False)
    monkeypatch.delenv("AEKIT_EMOJI_FONT", raising=False)
    monkeypatch.delenv("AEKIT_EMOJI_TEST", raising=False)
    monkeypatch.setattr(emoji, "_MEMORY", {})
    return tmp_path


def test_parse_keeps_fully_qualified_and_drops_skin_tones():
    entries = emoji.parse_emoji_test(SNIPPET)
    assert [e[1] for e in entries] == ["grinning face", "smiling face", "nerd face", "waving hand", "man technologist"]
    assert entries[0] == ("\U0001F600", "grinning face", "Smileys & Emotion", "face-smiling")
    assert entries[1][0] == "\u263a\ufe0f" and entries[2][3] == "face-glasses"
    assert entries[-1] == ("\U0001F468\u200d\U0001F4BB", "man technologist", "People & Body", "hand-fingers-open")
    with_tones = emoji.parse_emoji_test(SNIPPET, skin_tones=True)
    assert "waving hand: light skin tone" in [e[1] for e in with_tones] and len(with_tones) == 6


def test_the_real_list_has_about_1870_emoji_without_skin_tones():
    path = emoji.find_emoji_test()
    if path is None:
        pytest.skip(f"emoji-test.txt is not installed (apt-get install {emoji.TEST_PACKAGE})")
    entries = emoji.parse_emoji_test(path.read_text(encoding="utf-8"))
    names = [e[1] for e in entries]
    assert 1800 <= len(entries) <= 2000
    assert {"nerd face", "face with tongue", "grinning face"} <= set(names)
    assert not any(ord(c) in emoji.SKIN_TONES for e in entries for c in e[0])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One real build into a private cache, timed (shared by the tests below)."""
    _font_or_skip()
    cache = tmp_path_factory.mktemp("emoji-cache")
    old = {k: os.environ.get(k) for k in ("AEKIT_CACHE", "AEKIT_DATA")}
    os.environ["AEKIT_CACHE"] = str(cache)
    os.environ.pop("AEKIT_DATA", None)
    saved, emoji._MEMORY = emoji._MEMORY, {}
    try:
        start = time.perf_counter()
        emojis = emoji.load()
        seconds = time.perf_counter() - start
    finally:
        emoji._MEMORY = saved
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    print(f"built {len(emojis)} emoji in {seconds:.1f} s")
    return emojis, cache, seconds


def test_build_draws_every_emoji_in_colour(built):
    emojis, cache, seconds = built
    assert seconds < 60
    assert emojis.images.shape == (len(emojis), 64, 64, 3) and emojis.images.dtype == np.uint8
    if emojis.source["names_from"] == "emoji-test.txt":
        assert 1800 <= len(emojis) <= 2000
    assert len(emojis.names) == len(emojis.chars) == len(emojis.groups) == len(emojis)
    # every image has something drawn on its white background, and the corners stay white
    drawn = (emojis.images < 200).any(axis=3).reshape(len(emojis), -1).mean(axis=1)
    assert drawn.min() > 0.01
    grinning = emojis.images[emojis.find("grinning face")].astype(int)
    assert (grinning[0, 0] >= 250).all()
    centre = grinning[20:44, 20:44].reshape(-1, 3).mean(axis=0)
    assert centre[0] > 180 and centre[1] > 130 and centre[2] < 110, centre  # yellow
    x = emojis.tensor([0, 5])
    assert tuple(x.shape) == (2, 3, 64, 64) and 0 <= float(x.min()) and float(x.max()) <= 1


def test_cache_is_verified_reused_and_rebuilt_when_corrupt(built, monkeypatch):
    emojis, cache, _ = built
    folders = list((cache / "emoji").iterdir())
    assert len(folders) == 1 and (folders[0] / "checksums.json").is_file()
    monkeypatch.setenv("AEKIT_CACHE", str(cache))
    monkeypatch.delenv("AEKIT_DATA", raising=False)
    monkeypatch.setattr(emoji, "_MEMORY", {})
    start = time.perf_counter()
    again = emoji.load()
    assert time.perf_counter() - start < 5
    assert np.array_equal(again.images, emojis.images) and again.names == emojis.names

    raw = bytearray((folders[0] / "images.npy").read_bytes())
    raw[-100] ^= 0xFF
    (folders[0] / "images.npy").write_bytes(bytes(raw))
    with pytest.raises(DataError, match="corrupt"):
        emoji.read(folders[0])
    monkeypatch.setattr(emoji, "_MEMORY", {})
    rebuilt = emoji.load()
    assert np.array_equal(rebuilt.images, emojis.images)
    emoji.read(folders[0])  # the cache on disk is good again


def test_missing_font_is_one_clear_message(isolated, monkeypatch):
    monkeypatch.setattr(emoji, "FONT_DIRS", (str(isolated / "no-fonts"),))
    with pytest.raises(DataError) as err:
        emoji.load()
    message = str(err.value)
    assert "NotoColorEmoji.ttf was not found" in message and "apt-get install fonts-noto-color-emoji" in message
    assert "AEKIT_EMOJI_FONT" in message and str(isolated / "no-fonts") in message
    monkeypatch.setenv("AEKIT_EMOJI_FONT", str(isolated / "nowhere.ttf"))
    with pytest.raises(DataError, match="AEKIT_EMOJI_FONT is set to"):
        emoji.find_font()


def test_command_line_without_font_prints_instructions_not_a_traceback(tmp_path):
    env = dict(os.environ, AEKIT_CACHE=str(tmp_path / "cache"), AEKIT_EMOJI_FONT=str(tmp_path / "missing.ttf"))
    run = subprocess.run([sys.executable, "-m", "data.emoji"], cwd=KIT, env=env, capture_output=True, text=True)
    assert run.returncode == 1
    assert "AEKIT_EMOJI_FONT is set to" in run.stderr and "Traceback" not in run.stderr + run.stdout


def test_env_overrides_and_fallback_names_from_unicodedata(isolated, monkeypatch):
    font = _font_or_skip()
    monkeypatch.setenv("AEKIT_EMOJI_FONT", str(font))
    monkeypatch.setattr(emoji, "TEST_DIRS", ())
    monkeypatch.setattr(store, "KIT_ROOT", isolated / "kit")  # hide ../shared/data/emoji
    assert emoji.find_emoji_test() is None
    points = emoji.font_code_points(font)
    assert 0x1F600 in points and 0x1F913 in points
    fallback = emoji.load()
    assert fallback.source["names_from"].startswith("unicodedata")
    assert 1000 <= len(fallback) < 1870 and "grinning face" in fallback.names and "nerd face" in fallback.names
    # an explicit list wins, and a different list is a different cache
    listing = isolated / "emoji-test.txt"
    listing.write_text(SNIPPET, encoding="utf-8")
    monkeypatch.setenv("AEKIT_EMOJI_TEST", str(listing))
    small = emoji.load()
    assert small.names == ["grinning face", "smiling face", "nerd face", "waving hand", "man technologist"]
    assert len(list((isolated / "cache" / "emoji").iterdir())) == 2


def test_contact_sheet_is_a_png(isolated, tmp_path, monkeypatch):
    _font_or_skip()
    listing = tmp_path / "emoji-test.txt"
    listing.write_text(SNIPPET, encoding="utf-8")
    monkeypatch.setenv("AEKIT_EMOJI_TEST", str(listing))
    out = tmp_path / "sheet.png"
    assert emoji.main(["--contact-sheet", str(out), "--match", "face", "--count", "3"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert emoji.main(["--contact-sheet", str(out), "--match", "no such words"]) == 1
