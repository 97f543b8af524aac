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


RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


class Watched:
    """A page whose console errors, failed requests and CSP violations are collected."""

    def __init__(self, context):
        context.add_init_script(RECORD_CSP_VIOLATIONS)
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"answered {r.status}: {r.url}"))

    def check(self, *, expected: tuple = ()):
        """`expected`: the failed answers the test itself causes, as "answered <status>: <path>" endings."""
        violations = self.page.evaluate("window.__cspViolations || []")
        problems = [
            p for p in self.problems
            if not p.startswith("console: Failed to load resource")  # reported with its address just below
            and not any(p.startswith(f"answered {status}: ") and p.endswith(path) for status, path in expected)
        ]
        assert problems == [] and violations == [], "\n".join(problems + violations)


@pytest.fixture
def watched(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  locale="zh-CN")
    yield Watched(context)
    context.close()
