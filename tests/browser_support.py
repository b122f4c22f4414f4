"""A real headless Chromium for the tests that check pages as people see them.

``.ci/run`` installs Debian's ``chromium``. Without it these tests are skipped, unless
``AEKIT_REQUIRE_BROWSER`` is set (CI sets it), where a missing browser fails them.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CONSOLE = re.compile(r":CONSOLE[^\]]*\]\s*(.*)")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("AEKIT_REQUIRE_BROWSER"):
        pytest.fail("headless Chromium is required here (Debian package chromium) but is not installed")
    pytest.skip("headless Chromium is not installed (Debian package chromium)")


def _run(url: str, *flags: str, profile: Path) -> subprocess.CompletedProcess:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--enable-logging=stderr", "--v=0", f"--user-data-dir={profile}",
               *flags, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def open_page(url: str, profile: Path, screenshot: Path | None = None, size=(1200, 1800)) -> tuple[str, list[str]]:
    """The DOM of ``url`` after its scripts ran, and every message its scripts wrote to the console
    (errors included). With ``screenshot``, also a PNG of the page at ``size``."""
    done = _run(url, "--dump-dom", "--virtual-time-budget=3000", profile=profile)
    messages = [m.group(1) for m in map(CONSOLE.search, done.stderr.splitlines()) if m]
    if screenshot is not None:
        shot = _run(url, f"--screenshot={screenshot}", f"--window-size={size[0]},{size[1]}",
                    "--hide-scrollbars", profile=profile)
        assert Path(screenshot).is_file(), shot.stderr[-2000:]
    return done.stdout, messages
