"""Headless Chromium for the report tests: find it (installing Debian's package where missing), load a page,
return its DOM after the scripts ran and every console message; take screenshots.

Console messages are read from Chromium's own log (``--enable-logging=stderr``), where every console call,
uncaught exception and Content-Security-Policy violation of the page appears as a ``CONSOLE`` line; a canary
test checks that errors are really seen this way.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]

CONSOLE_LINE = re.compile(r":CONSOLE[(:]\d*\)?\]?\s*(.*)")


class BrowserUnavailable(RuntimeError):
    """Chromium is missing and cannot be installed here; the message says why."""


def find_chromium() -> str | None:
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def install_chromium(timeout: float = 1500) -> str:
    """Install Debian's ``chromium`` package with apt-get (needs root) and return the program's path."""
    found = find_chromium()
    if found:
        return found
    if not shutil.which("apt-get"):
        raise BrowserUnavailable("chromium is not installed and there is no apt-get to install it")
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        raise BrowserUnavailable("chromium is not installed and installing it needs root (apt-get install chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise BrowserUnavailable(f"{' '.join(command)} failed: {' | '.join(tail)}")
    path = find_chromium()
    if path is None:
        raise BrowserUnavailable("apt-get install chromium succeeded but no chromium program is on PATH")
    return path


def _run(chromium: str, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="ultraopt-chromium-") as profile:
        command = [chromium, *FLAGS, f"--user-data-dir={profile}", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def load_page(chromium: str, page: Path, timeout: float = 120) -> tuple[str, list[str]]:
    """Open ``page``; return the DOM after its scripts ran, and the page's console messages."""
    done = _run(chromium, ["--enable-logging=stderr", "--v=0", "--dump-dom", page.resolve().as_uri()], timeout)
    if done.returncode != 0 or "<html" not in done.stdout:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    console = [match.group(1) for line in done.stderr.splitlines() if (match := CONSOLE_LINE.search(line))]
    return done.stdout, console


def screenshot(chromium: str, page: Path, out: Path, width: int = 1280, height: int = 1600,
               timeout: float = 120) -> Path:
    """Save a PNG of the top ``width`` x ``height`` pixels of ``page``."""
    done = _run(chromium, [f"--window-size={width},{height}", f"--screenshot={out.resolve()}", page.resolve().as_uri()],
                timeout)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"chromium could not take a screenshot ({done.returncode}): {done.stderr[-2000:]}")
    return out
