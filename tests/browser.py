"""A tiny headless-Chromium driver for tests: the DevTools protocol over a pipe.

No third-party package: Chromium is started with ``--remote-debugging-pipe``
and we exchange NUL-separated JSON messages on file descriptors 3 (to the
browser) and 4 (from the browser).  Only what the report tests need is here:
open a ``file://`` page at a given viewport, collect console errors, uncaught
exceptions, JavaScript dialogs and every network request, evaluate
JavaScript, and save full-page screenshots / PDFs.

Requests to anything other than ``file:``, ``data:``, ``about:`` or ``blob:``
URLs are intercepted and failed (and recorded), so a page under test can never
reach the network even if it tries.

Usage::

    with Browser.launch() as browser:
        page = browser.new_page(375, 800)
        page.goto(path)
        assert not page.console_errors
        page.screenshot(out_png)
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

ALLOWED_SCHEMES = ("file:", "data:", "about:", "blob:")
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
)


class BrowserError(RuntimeError):
    """The browser could not be started or a protocol call failed."""


def find_chromium() -> Optional[str]:
    """Path of a Chromium binary, or None.  ``CHROMIUM`` in the environment wins."""
    env = os.environ.get("CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Browser:
    """One Chromium process driven over ``--remote-debugging-pipe``."""

    def __init__(self, proc: subprocess.Popen, to_browser: int, from_browser: int, profile: tempfile.TemporaryDirectory):
        self._proc = proc
        self._out = to_browser
        self._in = from_browser
        self._profile = profile
        self._lock = threading.Lock()
        self._next_id = 0
        self._pending: dict[int, tuple[threading.Event, list]] = {}
        self._listeners: dict[str, Page] = {}  # sessionId -> page
        self._closed = False
        self._reader = threading.Thread(target=self._read_loop, name="cdp-reader", daemon=True)
        self._reader.start()

    # -- lifecycle -----------------------------------------------------------------------------
    @classmethod
    def launch(cls, executable: Optional[str] = None, *, extra_args: tuple[str, ...] = ()) -> Browser:
        executable = executable or find_chromium()
        if not executable:
            raise BrowserError("Chromium not found (install Debian's `chromium` package)")
        profile = tempfile.TemporaryDirectory(prefix="w2v-chromium-")
        # Our ends: we write to c_in_w, read from c_out_r.  Chromium's: fd 3 = c_in_r, fd 4 = c_out_w.
        c_in_r, c_in_w = os.pipe()
        c_out_r, c_out_w = os.pipe()

        def wire_fds() -> None:  # runs in the child before exec (and before unlisted fds are closed)
            read_end, write_end = os.dup(c_in_r), os.dup(c_out_w)  # both >= 5 now: no clobbering
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)

        args = [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile.name}", *extra_args, "about:blank"]
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds,
            pass_fds=(3, 4),
            start_new_session=True,
        )
        os.close(c_in_r)
        os.close(c_out_w)
        browser = cls(proc, c_in_w, c_out_r, profile)
        try:
            browser.call("Browser.getVersion", timeout=30)
        except Exception:
            browser.close()
            raise
        return browser

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._send({"id": self._take_id(), "method": "Browser.close"})
        except OSError:
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=10)
        for fd in (self._out, self._in):
            try:
                os.close(fd)
            except OSError:
                pass
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- protocol ------------------------------------------------------------------------------
    def _take_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message).encode() + b"\0"
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self._out, view)
                view = view[written:]

    def call(self, method: str, params: Optional[dict] = None, *, session: Optional[str] = None,
             timeout: float = 30.0) -> dict[str, Any]:
        msg_id = self._take_id()
        event = threading.Event()
        box: list = []
        self._pending[msg_id] = (event, box)
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._send(message)
        if not event.wait(timeout):
            self._pending.pop(msg_id, None)
            raise BrowserError(f"{method}: no answer within {timeout} s")
        reply = box[0]
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _read_loop(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._in, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                self._dispatch(message)
        for event, box in list(self._pending.values()):  # wake every waiter: the browser is gone
            box.append({"error": "browser closed the pipe"})
            event.set()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            waiter = self._pending.pop(message["id"], None)
            if waiter:
                waiter[1].append(message)
                waiter[0].set()
            return
        page = self._listeners.get(message.get("sessionId", ""))
        if page is not None:
            page._on_event(message["method"], message.get("params", {}))

    # -- pages ---------------------------------------------------------------------------------
    def new_page(self, width: int, height: int, *, mobile: Optional[bool] = None) -> Page:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        self._listeners[session] = page
        page._setup(width, height, mobile if mobile is not None else width < 600)
        return page


class Page:
    """One tab.  Records console errors, exceptions, dialogs and requests from the moment it opens."""

    def __init__(self, browser: Browser, target: str, session: str):
        self.browser = browser
        self.target = target
        self.session = session
        self.console_errors: list[str] = []
        self.console_messages: list[str] = []
        self.requests: list[str] = []
        self.blocked_requests: list[str] = []
        self.dialogs: list[str] = []
        self._loaded = threading.Event()
        self.scripts_disabled = False
        self.width = 0
        self.height = 0

    def call(self, method: str, params: Optional[dict] = None, timeout: float = 30.0) -> dict[str, Any]:
        return self.browser.call(method, params, session=self.session, timeout=timeout)

    def _setup(self, width: int, height: int, mobile: bool) -> None:
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable")
        # Intercept everything that is not a local page resource and fail it.
        self.call("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
        self.set_viewport(width, height, mobile)

    def set_viewport(self, width: int, height: int, mobile: Optional[bool] = None) -> None:
        self.width, self.height = width, height
        self.call("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1,
            "mobile": width < 600 if mobile is None else mobile,
        })

    def _on_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.console_messages.append(f"{params.get('type')}: {text}")
            if params.get("type") in ("error", "assert"):
                self.console_errors.append(text)
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exc = details.get("exception", {}).get("description") or details.get("text", "exception")
            self.console_errors.append(f"uncaught: {exc}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.console_messages.append(f"log/{entry.get('level')}: {entry.get('text')}")
            if entry.get("level") == "error":
                self.console_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            self.requests.append(params.get("request", {}).get("url", ""))
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(f"{params.get('type')}: {params.get('message')}")
            threading.Thread(target=self._dismiss_dialog, daemon=True).start()
        elif method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Fetch.requestPaused":
            threading.Thread(target=self._handle_paused, args=(params,), daemon=True).start()

    def _dismiss_dialog(self) -> None:
        try:
            self.call("Page.handleJavaScriptDialog", {"accept": False})
        except BrowserError:
            pass

    def _handle_paused(self, params: dict[str, Any]) -> None:
        url = params.get("request", {}).get("url", "")
        try:
            if url.startswith(ALLOWED_SCHEMES):
                self.call("Fetch.continueRequest", {"requestId": params["requestId"]})
            else:
                self.blocked_requests.append(url)
                self.call("Fetch.failRequest", {"requestId": params["requestId"], "errorReason": "BlockedByClient"})
        except BrowserError:
            pass

    @property
    def network_requests(self) -> list[str]:
        """Every request to something other than a local file / inline data."""
        seen = [u for u in self.requests if not u.startswith(ALLOWED_SCHEMES)]
        return sorted(set(seen) | set(self.blocked_requests))

    def goto(self, target: Path | str, *, timeout: float = 30.0) -> None:
        url = Path(target).resolve().as_uri() if not str(target).startswith(("file:", "about:", "data:")) else str(target)
        self._loaded.clear()
        result = self.call("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"navigation to {url} failed: {result['errorText']}")
        if not self._loaded.wait(timeout):
            raise BrowserError(f"{url}: load event not fired within {timeout} s")
        # Let layout and any deferred script settle (two frames; a plain pause when scripts are off).
        if self.scripts_disabled:
            time.sleep(0.2)
        else:
            self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))",
                          await_promise=True)
            time.sleep(0.05)

    def disable_scripts(self) -> None:
        """Load pages as a browser with JavaScript turned off would."""
        self.call("Emulation.setScriptExecutionDisabled", {"value": True})
        self.scripts_disabled = True

    def evaluate(self, expression: str, *, await_promise: bool = False) -> Any:
        result = self.call("Runtime.evaluate", {
            "expression": expression, "returnByValue": True, "awaitPromise": await_promise,
        })
        if result.get("exceptionDetails"):
            raise BrowserError(f"evaluate failed: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def emulate_media(self, media: str) -> None:
        self.call("Emulation.setEmulatedMedia", {"media": media})

    def screenshot(self, path: Path | str, *, full_page: bool = True, max_height: int = 20000) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = self.call("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            height = min(int(size["height"]) + 1, max_height)
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1})
        data = self.call("Page.captureScreenshot", params, timeout=60)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def pdf(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = self.call("Page.printToPDF", {"printBackground": False, "preferCSSPageSize": True}, timeout=60)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    # -- layout checks -------------------------------------------------------------------------
    def horizontal_overflow(self) -> int:
        """How many CSS pixels the document is wider than the viewport (0 = none)."""
        return int(self.evaluate(
            "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth"))

    def visibility(self, selector: str) -> dict[str, Any]:
        """Whether the first element matching ``selector`` is rendered inside the viewport's width."""
        js = """
        (sel => {
          const el = document.querySelector(sel);
          if (!el) return {found: false, visible: false};
          const style = getComputedStyle(el);
          const r = el.getBoundingClientRect();
          const visible = style.display !== 'none' && style.visibility !== 'hidden' && Number(style.opacity) > 0
                          && r.width > 0 && r.height > 0;
          return {found: true, visible, left: r.left, right: r.right, width: r.width, height: r.height,
                  within: r.left >= -1 && r.right <= window.innerWidth + 1};
        })(SELECTOR)
        """.replace("SELECTOR", json.dumps(selector))
        return self.evaluate(js)

    def close(self) -> None:
        self.browser._listeners.pop(self.session, None)
        try:
            self.browser.call("Target.closeTarget", {"targetId": self.target})
        except BrowserError:
            pass


# -- helpers shared by the report tests ------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
VIEWPORTS = {"phone": (375, 800), "desktop": (1280, 900)}


def launch_or_skip() -> Browser:
    """A browser for a test module; without Chromium: fail under CI=true, skip elsewhere."""
    import pytest

    if not find_chromium():
        message = ("headless Chromium is not installed: `apt-get install chromium` (Debian's package); "
                   ".ci/run installs it")
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return Browser.launch()


def open_checked(browser: Browser, path: Path, viewport: str, *, selectors: tuple[str, ...] = (),
                 screenshot: Optional[str] = None) -> Page:
    """Open ``path`` at a named viewport and assert the basics every page must meet.

    No console error, no uncaught exception, no dialog, no request leaving the machine, every image
    decoded, every selector visible and inside the viewport's width, tracebacks and output wrapped
    (not scrolling sideways), and (on the phone) no horizontal scrolling of the page.  The caller
    closes the returned page.
    """
    width, height = VIEWPORTS[viewport]
    page = browser.new_page(width, height)
    page.goto(path)
    problems = []
    if page.console_errors:
        problems.append(f"console errors: {page.console_errors}")
    if page.network_requests:
        problems.append(f"network requests: {page.network_requests}")
    if page.dialogs:
        problems.append(f"dialogs opened: {page.dialogs}")
    broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                           ".map(i => i.alt.slice(0, 60))")
    if broken:
        problems.append(f"images that did not decode: {broken}")
    for selector in selectors:
        state = page.visibility(selector)
        if not state["visible"]:
            problems.append(f"{selector} not visible at {viewport}: {state}")
        elif not state["within"]:
            problems.append(f"{selector} sticks out of the {width}px viewport: {state}")
    # Tracebacks and program output wrap: no part of them hides off to the side (reproducers may scroll).
    sideways = page.evaluate("Array.from(document.querySelectorAll('pre.output, pre.note'))"
                             ".filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent.slice(0, 60))")
    if sideways:
        problems.append(f"tracebacks/output that scroll sideways: {sideways}")
    if viewport == "phone":
        overflow = page.horizontal_overflow()
        if overflow > 0:
            problems.append(f"page scrolls horizontally by {overflow}px at {width}px")
    if screenshot:
        page.screenshot(SCREENSHOTS / f"{screenshot}-{viewport}.png")
    if problems:
        page.close()
        raise AssertionError(f"{path.name} @ {viewport}:\n  " + "\n  ".join(problems))
    return page
