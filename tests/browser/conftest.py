"""Real-browser tests: Playwright driving Debian's Chromium (Playwright's own browser download is not used)."""

from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": ["--no-sandbox"]}


@pytest.fixture
def phone(browser):
    """A phone-sized page, in Chinese, as most appellants arrive."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(pytestconfig):
    """Save a full-page screenshot under test-artifacts/screenshots/ (not committed)."""
    folder = Path(pytestconfig.rootpath) / "test-artifacts" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
