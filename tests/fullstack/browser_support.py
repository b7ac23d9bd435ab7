"""Headless Chromium for the UI tests: Debian's build at /usr/bin/chromium, driven by Playwright.

Playwright never downloads its own browser here. Screenshots go to ``docs/images/`` (committed,
for the docs); the tests assert on the page, never on pixels.
"""

from __future__ import annotations

from pathlib import Path

from airflow_stack import ROOT

CHROMIUM = Path("/usr/bin/chromium")
IMAGES = ROOT / "docs" / "images"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
