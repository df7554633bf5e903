"""Headless Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``), no library needed.

Opens a page, records console errors, uncaught exceptions and every network request, evaluates JavaScript, moves
the mouse and takes screenshots. Used by the report's browser test and, as a script, for the README screenshot:

    python tests/search/chromium.py runs/flagship/report.html docs/report.png --scroll '#s0-front' \
        --hover 'g.pts[id$="-front"] use'
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
         "--mute-audio", "--hide-scrollbars", "--remote-debugging-pipe"]


def executable() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium and one page in it; ``events`` keeps every protocol event received."""

    def __init__(self, width: int = 1280, height: int = 900, timeout_s: float = 60.0):
        exe = executable()
        if exe is None:
            raise FileNotFoundError("chromium is not installed (Debian: apt-get install -y chromium)")
        self.profile = tempfile.mkdtemp(prefix="catx-chromium-")
        self.timeout_s = timeout_s
        to_browser_r, self._w = os.pipe()
        self._r, from_browser_w = os.pipe()

        def pipes_on_3_and_4() -> None:          # the browser reads commands on fd 3 and writes replies on fd 4
            r, w = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=pipes_on_3_and_4)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(f"{domain}.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    # -- protocol ------------------------------------------------------------------------------------------------
    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout_s
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("no reply from chromium")
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout_s: float | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        seen = len(self.events)
        for e in self.events:
            if e.get("method") == method:
                return e
        while time.monotonic() < deadline:
            e = self._read()
            self.events.append(e)
            if e.get("method") == method:
                return e
        raise TimeoutError(f"no {method} event after {seen} events")

    # -- page ----------------------------------------------------------------------------------------------------
    def open(self, url: str) -> None:
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")

    def eval(self, expression: str) -> Any:
        r = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                      awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"JavaScript error: {r['exceptionDetails']}")
        return r["result"].get("value")

    def mouse(self, x: float, y: float) -> None:
        self.call("Input.dispatchMouseEvent", session=True, type="mouseMoved", x=x, y=y)

    def screenshot(self, path: str | Path, full_page: bool = False, height: int | None = None) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page or height:
            w = self.eval("document.documentElement.scrollWidth")
            h = height or self.eval("document.documentElement.scrollHeight")
            params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": w, "height": h, "scale": 1})
        data = self.call("Page.captureScreenshot", session=True, **params)["data"]
        Path(path).write_bytes(base64.b64decode(data))

    # -- what happened -------------------------------------------------------------------------------------------
    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails'].get('text')} "
                           f"{p['exceptionDetails'].get('exception', {}).get('description', '')}")
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        return out

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._r)
        os.close(self._w)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def main(argv: list[str]) -> None:
    """Screenshot of a page, optionally scrolled to an element and hovering the first point of a plot's front."""
    import argparse
    ap = argparse.ArgumentParser(description="screenshot a page in headless Chromium")
    ap.add_argument("page", type=Path)
    ap.add_argument("png")
    ap.add_argument("--size", default="1280x1500", help="viewport WIDTHxHEIGHT")
    ap.add_argument("--scroll", help="CSS selector of the element to scroll to the top")
    ap.add_argument("--hover", help="CSS selector of an SVG point to hover (shows its tooltip)")
    a = ap.parse_args(argv)
    w, h = (int(x) for x in a.size.split("x"))
    with Browser(width=w, height=h) as b:
        b.open(a.page.resolve().as_uri())
        if a.scroll:
            b.eval(f"document.querySelector({json.dumps(a.scroll)}).scrollIntoView()")
        if a.hover:
            x, y = b.eval(f"(() => {{ const r = document.querySelector({json.dumps(a.hover)})"
                          ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
            b.mouse(x, y)
        b.screenshot(a.png)
        print(f"{a.png}: {w}x{h}; requests {b.requests()}; errors {b.errors()}")


if __name__ == "__main__":
    main(sys.argv[1:])
