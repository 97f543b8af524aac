"""Real-browser tests: Playwright driving Debian's Chromium (Playwright's own browser download is not used).

Every browser context a test opens is watched (`browser.new_context`, `browser.new_page`, pytest-playwright's
`context` and `page`, the `phone` and `watched` fixtures), and so is every answer the live server gives:
a console error, an uncaught script error, a request that failed, a Content-Security-Policy violation on
any page, or an answer of 400 or more (the browser's own requests, such as /favicon.ico, included) fails
the test when its body ends. A test that causes an error answer on purpose declares it with
`browser_problems.expect(500, "/the/path/")` (or `watched.check(expected=((500, "/the/path/"),))`)."""

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import one_recovery_code

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": ["--no-sandbox"]}


# Each violation is handed to the test at once, through a binding: it is not lost when the page navigates.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__reportCspViolation(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " in " + e.documentURI);
});
"""
# Run on each open page before the check: violation events and console messages still queued are delivered.
SETTLE = "() => new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0)))"


@dataclass
class Problem:
    text: str
    status: int | None = None  # an error answer: its status and path, to match what the test expects
    path: str = ""
    address: str = ""  # the whole address asked for, query included
    response: object = None  # the browser's answer, whose body the report quotes

    def is_answer(self, status: int, path: str) -> bool:
        return self.status == status and (self.path == path or self.address.endswith(path))

    def describe(self) -> str:
        try:
            body = self.response.text()[:300] if self.response is not None else ""
        except Exception:  # noqa: BLE001 - the body went with its page; the status says enough
            body = ""
        return f"{self.text} {' '.join(body.split())}".rstrip()


class ProblemLog:
    """What went wrong in one browser context, on every page it opened (pop-ups included)."""

    def __init__(self, context, owner: "BrowserProblems"):
        self.context, self.owner = context, owner
        self.problems: list[Problem] = []
        self.closed = False
        context.problem_log = self
        context.on("close", lambda _context: setattr(self, "closed", True))
        context.expose_binding("__reportCspViolation", lambda _source, text: self._add(f"CSP violation: {text}"))
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on("console", self._console)
        context.on("weberror", lambda e: self._add(f"page error: {e.error}"))
        context.on("requestfailed", self._request_failed)
        context.on("response", self._response)

    def _add(self, text: str) -> None:
        self.problems.append(Problem(text))

    def _console(self, message):
        # "Failed to load resource" repeats, without the address, a failed request or answer reported below.
        # "Blocked script execution ... sandboxed" is our own init script refused in a sandboxed document
        # (evidence files are served so): the sandbox doing its work, not a fault of the page.
        if (
            message.type == "error"
            and not message.text.startswith("Failed to load resource")
            and not (message.text.startswith("Blocked script execution in") and "frame is sandboxed" in message.text)
        ):
            self._add(f"console: {message.text}")

    def _request_failed(self, request):
        # net::ERR_ABORTED: the page itself dropped the request, by navigating away before it finished
        # (e.g. the favicon of a page left at once); any other failure is a fault.
        if request.failure != "net::ERR_ABORTED":
            self._add(f"request failed: {request.method} {request.url} {request.failure}")

    def _response(self, response):
        if response.status >= 400:
            self.problems.append(
                Problem(
                    f"answered {response.status}: {response.request.method} {response.url}",
                    response.status,
                    urlsplit(response.url).path,
                    response.url,
                    response,
                )
            )

    def settle(self) -> None:
        for page in [] if self.closed else self.context.pages:
            # A page navigating or closing now has nothing more to report.
            with contextlib.suppress(Exception):
                page.evaluate(SETTLE)


class ServerAnswers(logging.Handler):
    """The live server's error answers, as Django logs them (`django.request`): also those to requests
    the browser makes on its own, which Playwright does not see (the favicon)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.problems: list[Problem] = []

    def emit(self, record):
        request, status = getattr(record, "request", None), getattr(record, "status_code", None)
        if status is not None and status >= 400 and request is not None:
            self.problems.append(
                Problem(
                    f"server answered {status}: {request.method} {request.get_full_path()}",
                    status,
                    request.path,
                    request.get_full_path(),
                )
            )


class BrowserProblems:
    """What went wrong during one test, in each browser context it opened and on the server."""

    def __init__(self):
        self.logs: list[ProblemLog] = []
        self.server = ServerAnswers()
        self.expected: list[tuple[int, str]] = []

    def log_for(self, context) -> ProblemLog:
        if getattr(context, "problem_log", None) is None:
            self.logs.append(ProblemLog(context, self))
        return context.problem_log

    def expect(self, status: int, path: str) -> None:
        """An error answer the test causes on purpose: `status` for the address whose path is `path`."""
        self.expected.append((status, path))

    def unexpected(self, problems: list[Problem]) -> list[Problem]:
        return [p for p in problems if not any(p.is_answer(status, path) for status, path in self.expected)]

    def found(self, logs: list[ProblemLog]) -> list[str]:
        for log in logs:
            log.settle()
        in_browser = self.unexpected([p for log in logs for p in log.problems])
        seen = {(p.status, p.path) for p in in_browser}
        # An answer the browser saw is reported once, by the browser, with its body.
        on_server = [p for p in self.unexpected(self.server.problems) if (p.status, p.path) not in seen]
        return [p.describe() for p in in_browser + on_server]

    def check(self, logs: list[ProblemLog] | None = None) -> None:
        problems = self.found(self.logs if logs is None else logs)
        assert problems == [], "the browser saw problems:\n" + "\n".join(problems)


@pytest.fixture(autouse=True)
def browser_problems(browser, monkeypatch):
    """Watches every browser context the test opens and the server's answers; checked when the test body
    ends (`pytest_runtest_call` below)."""
    problems = BrowserProblems()
    new_context, new_page = browser.new_context, browser.new_page

    def watched_new_context(**kwargs):
        context = new_context(**kwargs)
        problems.log_for(context)
        return context

    def watched_new_page(**kwargs):
        page = new_page(**kwargs)
        problems.log_for(page.context)
        return page

    monkeypatch.setattr(browser, "new_context", watched_new_context)
    monkeypatch.setattr(browser, "new_page", watched_new_page)
    logging.getLogger("django.request").addHandler(problems.server)
    yield problems
    logging.getLogger("django.request").removeHandler(problems.server)
    for log in problems.logs:
        if not log.closed:
            log.context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test whose body passed still fails if the browser saw a problem it did not expect; a test that
    failed shows them beside its error."""
    problems = item.funcargs.get("browser_problems")
    try:
        result = yield
    except BaseException:
        if problems is not None and (found := problems.found(problems.logs)):
            item.add_report_section("call", "browser problems", "\n".join(found))
        raise
    if problems is not None:
        problems.check()
    return result


@pytest.fixture
def phone(browser):
    """A phone-sized page, in Chinese, as most appellants arrive."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    yield page
    context.close()


def preview_widths(page) -> list[int]:
    """The natural widths of the form's file previews, once each has loaded or failed (0: not shown)."""
    page.wait_for_function("() => [...document.querySelectorAll('[data-previews] img')].every(i => i.complete)")
    return page.eval_on_selector_all("[data-previews] img", "images => images.map(i => i.naturalWidth)")


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


class Watched:
    """A new page in `context` (a context the test opened, so already watched). Its problems and those of
    every other page of the context are checked by themselves when the test ends; `check()` checks now."""

    def __init__(self, context):
        self.log = context.problem_log
        self.page = context.new_page()

    @property
    def problems(self) -> list[str]:
        return [problem.text for problem in self.log.problems]

    def check(self, *, expected: tuple = ()):
        """`expected`: the error answers the test itself causes, as (status, path) pairs."""
        for status, path in expected:
            self.log.owner.expect(status, path)
        self.log.owner.check([self.log])


@pytest.fixture
def watched(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN")
    yield Watched(context)
    context.close()


STAFF_PASSWORD = "a-long-demo-password-42"


def staff_signed_in(browser, live_server, user, *, locale: str = "en-US", bypass_csp: bool = False) -> Watched:
    """A watched desktop page, signed in to the console as `user` (whose password this sets). `bypass_csp`
    lets a test inject axe-core (tests/browser/test_accessibility.py's `serious_violations`)."""
    user.set_password(STAFF_PASSWORD)
    user.save()
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale=locale, bypass_csp=bypass_csp)
    watched = Watched(context)
    page = watched.page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("[name=username]", user.get_username())
    page.fill("[name=password]", STAFF_PASSWORD)
    code = one_recovery_code(user)
    page.click("main button[type=submit]")
    second_step_passed(page, code)
    return watched


def second_step_passed(page, code: str, landing: str = "**/desk/") -> None:
    """After the password: the second step, with a recovery code made for this sign-in before it
    (`one_recovery_code`; the app and passkeys are tested in test_two_factor_sign_in.py); then
    `landing`, the console by default."""
    page.wait_for_url("**/accounts/two-factor/?next=**")
    page.fill("[name=code]", code)
    page.click("[data-code-form] button[type=submit]")
    page.wait_for_url(landing)
