"""Every dashboard page in a real headless Chromium (Debian's), against a live server.

Each page's browser steps live in web/e2e/pages/<page>.e2e.mjs (playwright-core):
the page must load with no console errors, show values that match the API and
its main interactions must work. Screenshots are kept in
test-artifacts/browser/<page>/.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.browser.conftest import Dashboard
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow
PAGES = (
    "overview",
    "map",
    "segment",
    "analytics",
    "predictions",
    "alerts",
    "quality",
    "reports",
    "settings",
)


@pytest.mark.parametrize("page", PAGES)
def test_page_in_chromium(page: str, dashboard: Dashboard, artifacts: Path) -> None:
    script = PROJECT_ROOT / "web" / "e2e" / "pages" / f"{page}.e2e.mjs"
    assert script.exists(), f"no browser check for the {page} page"
    out = artifacts / "browser" / page
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*"):
        old.unlink()
    result = subprocess.run(
        [dashboard.node, str(script), dashboard.url, str(out)],
        cwd=PROJECT_ROOT / "web",
        capture_output=True,
        text=True,
        timeout=240,
    )
    print(result.stdout)
    assert result.returncode == 0, f"{page} page check failed:\n{result.stdout}\n{result.stderr}"
    shots = list(out.glob("*.png"))
    assert shots, f"no screenshot of the {page} page"
    assert all(s.stat().st_size > 5_000 for s in shots), f"a blank screenshot of the {page} page"
