"""What the browser tests need: headless Chromium, a throwaway Jupyter server, and a student's clicks.

The tests open notebook 04 in JupyterLab and in Notebook 7 the way a student does, run every cell,
and drive the step-through player (classes ``tl-player``, ``tl-play``, ``tl-step-forward`` …) with
real clicks. Everything runs on temporary copies with a temporary ``HOME``; the server, its kernels
and the browser are always stopped.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "04_systolic_array.ipynb"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
# Flags seen to work headless as root on Debian (shared/reference/BROWSER-TESTING.md).
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REQUIRE_ENV = "TPU_LECTURE_REQUIRE_BROWSER"  # set by .ci/run: a missing browser fails instead of skipping
# TPU_LECTURE_BROWSER_BURNERS=2 keeps two processes spinning on the CPU while the browser tests run (issue 19):
# a busy lecturer's laptop or CI runner. Every wait is on a state (the page's, or a kernel reply), so nothing may
# depend on how fast the machine is; PATIENCE is the ceiling of every wait for a state that should come.
BURNERS_ENV = "TPU_LECTURE_BROWSER_BURNERS"
PATIENCE = float(os.environ.get("TPU_LECTURE_BROWSER_PATIENCE", "180"))
CYCLE = re.compile(r"cycle (\d+) of (\d+)")
KERNEL_STATE = re.compile(r"kernel state #(\d+): cycle (\d+) playing (True|False) fps ([\d.]+)")
KERNEL_PREFIX = "tl-browser-test kernel prefix: "
ALL_CELLS_RAN = "tl-browser-test: every cell ran"


def missing() -> str | None:
    """Why the browser tests cannot run here (exactly what is missing), or None if they can."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"chromium is not installed at {CHROMIUM}: apt-get install chromium (Debian's package)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright for Python is not installed: pip install -e '.[test]' (never `playwright install`)"
    return None


def launch_chromium(playwright):
    """Debian's Chromium, headless; Playwright never downloads a browser here."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)


@contextmanager
def chromium(why_missing: str | None, what: str) -> Iterator:
    """Debian's Chromium for a module's tests, closed afterwards. Where it cannot run (``why_missing``) the tests
    were only collected because CI requires them, so they fail saying what is missing."""
    if why_missing:
        import pytest

        pytest.fail(f"{REQUIRE_ENV} is set, so {what} must run, but {why_missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def cpu_burners(count: int | None = None) -> Iterator[list[subprocess.Popen]]:
    """``count`` processes (default: $TPU_LECTURE_BROWSER_BURNERS, else none) that spin on the CPU while the block
    runs, each stopped by its own PID afterwards: the browser tests must pass on a machine that is busy."""
    if count is None:
        raw = os.environ.get(BURNERS_ENV, "0").strip() or "0"
        if not raw.isdigit():
            raise ValueError(f"{BURNERS_ENV} is {raw!r}: give a whole number of CPU burners, e.g. 2")
        count = int(raw)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield burners
    finally:
        for burner in burners:
            burner.kill()
            burner.wait(timeout=10)


# --------------------------------------------------------------------------- the notebook copy


def standin_notebook() -> dict:
    """A few cells that show the player, used while notebooks/04 does not exist (and by the self-tests)."""
    import nbformat.v4 as nbf

    return nbf.new_notebook(
        cells=[
            nbf.new_markdown_cell("# Stand-in for 04_systolic_array: the step-through player only"),
            nbf.new_code_cell(
                "import tpu_lecture as tl\n\nA, W = tl.lecture_example()\n"
                "player = tl.animate(A, W, rows=2, cols=2)  # the state probe asks this one\nplayer"
            ),
            nbf.new_code_cell(
                "import numpy as np\n\nrng = np.random.default_rng(0)\n"
                "tl.animate(rng.integers(-3, 4, (4, 4)), rng.integers(-3, 4, (4, 4)), rows=4, cols=4)"
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}},
    )


def notebook_copy(folder: Path, source: Path | None = NOTEBOOK, first_cells: tuple[str, ...] = ()) -> Path:
    """Copy ``source`` into ``folder`` (the stand-in if it is None or missing) with the test's own cells.

    The copy starts with a cell that prints the kernel's ``sys.prefix`` (to prove the kernel is this
    environment's Python), then ``first_cells`` (the self-tests' sabotage), and ends with a cell whose
    output says that every cell ran. The repository's notebook is never opened, since Lab autosaves.
    """
    import nbformat
    import nbformat.v4 as nbf

    if source is not None and source.exists():
        nb = nbformat.read(source, as_version=4)
        name = source.name
    else:
        nb = standin_notebook()
        name = "04_standin.ipynb"
    probe = nbf.new_code_cell(f"import sys\nprint({KERNEL_PREFIX!r} + sys.prefix)")
    nb.cells = [probe, *(nbf.new_code_cell(c) for c in first_cells), *nb.cells, nbf.new_code_cell(STATE_PROBE),
                nbf.new_code_cell(f"print({ALL_CELLS_RAN!r})")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, path)
    return path


# Sabotage for the self-tests, run in the kernel before the player is built: each one breaks the
# player the way a real bug could, without touching the package.
IGNORE_STEP_FORWARD = '''\
import ipywidgets
_click = ipywidgets.Button._handle_button_msg
def _ignore_step_forward(self, widget, content, buffers):
    if "tl-step-forward" not in self._dom_classes:
        _click(self, widget, content, buffers)
ipywidgets.Button._handle_button_msg = _ignore_step_forward'''

FREEZE_FRAME = '''\
import ipywidgets
_open, _send = ipywidgets.Image.open, ipywidgets.Image._should_send_property
def _open_and_note_frame(self):
    self._tl_has_frame = bool(self.value)
    _open(self)
def _keep_first_frame(self, key, value):
    if key == "value":
        if getattr(self, "_tl_has_frame", False):
            return False
        self._tl_has_frame = bool(value)
    return _send(self, key, value)
ipywidgets.Image.open, ipywidgets.Image._should_send_property = _open_and_note_frame, _keep_first_frame'''


# A button that asks the kernel where the first player (the notebook's ``player``) thinks it is: its
# PlayerState, the one source of truth, must agree with what the page shows. Each answer is numbered, and the
# kernel answers only after the messages sent before the click: a reply is the moment the kernel has caught up.
STATE_PROBE = '''\
import itertools
import ipywidgets
_probe, _probe_out = ipywidgets.Button(description="ask the kernel"), ipywidgets.Label()
_probe.add_class("tl-state-probe")
_probe_out.add_class("tl-state-probe-out")
_asked = itertools.count(1)
def _read_state(_):
    s = player.state
    _probe_out.value = f"kernel state #{next(_asked)}: cycle {s.cycle} playing {s.playing} fps {s.fps}"
_probe.on_click(_read_state)
ipywidgets.HBox([_probe, _probe_out])'''


# --------------------------------------------------------------------------- the Jupyter server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class JupyterServer:
    """A running ``jupyter lab`` or ``jupyter notebook`` on loopback with a random token."""

    app: str
    port: int
    token: str
    root_dir: Path
    process: subprocess.Popen
    log: Path
    kernels_seen: dict = field(default_factory=dict)  # pid -> psutil.Process: the server's children

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(self.url(f"api/{path}"), method=method)
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
        return json.loads(body) if body else None

    def notebook_url(self, notebook: Path) -> str:
        """Lab opens each notebook in a fresh workspace, so no tab of an earlier test is restored beside it."""
        rel = notebook.relative_to(self.root_dir).as_posix()
        if self.app == "lab":
            return self.url(f"lab/workspaces/t{secrets.token_hex(6)}/tree/{rel}")
        return self.url(f"notebooks/{rel}")

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def kernels(self) -> list[dict]:
        kernels = self.api("kernels")
        self.kernels_seen.update(_children(self.process.pid))
        return kernels

    def wait_kernel_idle(self, timeout: float = PATIENCE) -> None:
        """Wait until a kernel exists and every kernel is idle (none starting or busy)."""
        deadline = time.monotonic() + timeout
        states: list[str] = []
        while time.monotonic() < deadline:
            try:
                states = [k["execution_state"] for k in self.kernels()]
            except (urllib.error.HTTPError, urllib.error.URLError) as error:
                # A busy server answers 500 while a kernel is still starting: a state not yet reached, not a result.
                if isinstance(error, urllib.error.HTTPError) and error.code < 500:
                    raise
                states = [f"the server answered {error}"]
            if states and all(s == "idle" for s in states):
                return
            time.sleep(0.2)
        raise AssertionError(f"the kernel did not become idle in {timeout:.0f} s (states {states}); "
                             f"server log:\n{self.log_tail()}")

    def shutdown_kernels(self) -> None:
        """Stop every kernel through the REST API (frees the CPU between tests)."""
        for kernel in self.kernels():
            with suppress(urllib.error.URLError, OSError):
                self.api(f"kernels/{kernel['id']}", method="DELETE")


def _children(pid: int) -> dict:
    try:
        import psutil

        return {p.pid: p for p in psutil.Process(pid).children(recursive=True)}
    except Exception:  # the process is gone, or psutil is missing: nothing more to track
        return {}


@contextmanager
def jupyter_server(app: str, root_dir: Path, home: Path, timeout: float = PATIENCE) -> Iterator[JupyterServer]:
    """Start ``python -m jupyter {app}`` serving ``root_dir``; always stop it and its kernels."""
    if app not in ("lab", "notebook"):
        raise ValueError(f"app is {app!r}: use 'lab' (JupyterLab) or 'notebook' (Notebook 7)")
    _quiet_settings(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
    env["HOME"] = str(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    port, token = free_port(), secrets.token_hex(24)
    log = home / f"jupyter-{app}.log"
    command = [
        sys.executable, "-m", "jupyter", app, "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
        "--ServerApp.port_retries=0", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root_dir}",
        "--allow-root",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, cwd=root_dir, stdout=out, stderr=subprocess.STDOUT)
    server = JupyterServer(app, port, token, root_dir, process, log)
    try:
        _wait_until_up(server, timeout)
        yield server
    finally:
        _stop(server)


def _quiet_settings(home: Path) -> None:
    """Lab's 'notified about Jupyter news?' toast sits over the page's corner and asks the network: say never."""
    folder = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))


def _wait_until_up(server: JupyterServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"jupyter {server.app} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            server.api("status")
            return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise AssertionError(f"jupyter {server.app} did not answer within {timeout:.0f} s:\n{server.log_tail()}")


def _stop(server: JupyterServer) -> None:
    """Kernels through the API, then the server with SIGTERM, then anything of ours still alive."""
    if server.process.poll() is None:
        with suppress(urllib.error.URLError, OSError):
            server.shutdown_kernels()
        server.kernels_seen.update(_children(server.process.pid))
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)
    for kernel in server.kernels_seen.values():
        with suppress(Exception):  # psutil checks the start time too, so a reused PID is never hit
            if kernel.is_running():
                kernel.kill()


# --------------------------------------------------------------------------- a student's session


def wait_for(check: Callable[[], object], timeout: float, what: Callable[[], str], page=None):
    """Poll ``check`` until it returns something truthy (a state, never a length of time, is waited for).

    After ``timeout`` seconds (a ceiling, generous for a busy machine) an AssertionError says ``what()``, the state
    that never came; with ``page`` a screenshot of that moment is saved and named in the message.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            message = f"{what()} (waited {timeout:.0f} s)"
            if page is not None:
                message += f"; screenshot: {failure_shot(page)}"
            raise AssertionError(message)
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)


def failure_shot(page) -> Path | str:
    """A screenshot of the page (or frame's page) as a wait gave up, under test-artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"timeout-{time.strftime('%H%M%S')}-{secrets.token_hex(3)}.png"
    try:
        (page.page if hasattr(page, "page") and not hasattr(page, "screenshot") else page).screenshot(path=str(path))
    except Exception as error:  # a crashed page takes none; the message still says what never came
        return f"none ({type(error).__name__})"
    return path


def next_animation_frame(target) -> None:
    """Wait until the browser has laid out and painted once more (two animation frames): a state, not a time."""
    target.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done())))")


class Shots:
    """Numbered screenshots under test-artifacts/browser/, named after the front-end and the step."""

    def __init__(self, prefix: str):
        self.prefix, self.count = prefix, 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in ARTIFACTS.glob(f"{prefix}-*.png"):
            old.unlink()

    def take(self, target, step: str) -> Path:
        self.count += 1
        path = ARTIFACTS / f"{self.prefix}-{self.count}-{step}.png"
        target.screenshot(path=str(path))
        return path


def shown_notebook(page):
    """The notebook on screen (Lab keeps other tabs in the page, hidden)."""
    return page.locator(".jp-Notebook:visible").first


def run_all_cells(page, server: JupyterServer, notebook: Path, timeout: float = 5 * PATIENCE) -> str:
    """Open the notebook, run every cell from the Run menu, wait for the last one; the kernel's sys.prefix."""
    page.goto(server.notebook_url(notebook), timeout=PATIENCE * 1000)
    shown = shown_notebook(page)
    wait_for(lambda: shown.locator(".jp-Cell").count(), PATIENCE,
             lambda: f"{server.app} shows no cell of {notebook.name}", page)
    server.wait_kernel_idle()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).first.click()
    outputs = shown.locator(".jp-OutputArea-output")
    done = outputs.filter(has_text=ALL_CELLS_RAN)
    errors = outputs.and_(page.locator("[data-mime-type='application/vnd.jupyter.stderr']"))

    def finished():
        if done.count():
            return True
        traceback = [t for t in errors.all_text_contents() if "Traceback" in t or re.search(r"^\w*Error\b", t, re.M)]
        if traceback:
            raise AssertionError(f"a cell of {notebook.name} failed in {server.app}:\n{traceback[0][-3000:]}")
        return False

    wait_for(finished, timeout, lambda: f"{notebook.name} did not finish running in {server.app} within "
             f"{timeout:.0f} s; server log:\n{server.log_tail()}", page)
    server.wait_kernel_idle()
    prefix = outputs.filter(has_text=KERNEL_PREFIX).first.text_content() or ""
    return prefix.split(KERNEL_PREFIX, 1)[1].strip()


class Player:
    """The first step-through player on the page, read and clicked the way a student does."""

    def __init__(self, page):
        self.page = page
        self.root = shown_notebook(page).locator(".tl-player").first
        self.caption = self.root.locator(".tl-caption").first
        self.frame = self.root.locator("img.tl-frame, .tl-frame img").first
        self.forward = self.root.locator(".tl-step-forward").first
        self.back = self.root.locator(".tl-step-back").first
        self.play_buttons = self.root.locator(".tl-play button")

    def drag_slider(self, css: str, fraction: float) -> None:
        """Drag the handle of slider ``css`` (tl-slider, tl-speed) to ``fraction`` of its track (0 left, 1 right)."""
        track = self.root.locator(f".{css} .noUi-base, .{css} .ui-slider").first  # ipywidgets 8, 7
        handle = self.root.locator(f".{css} .noUi-handle, .{css} .ui-slider-handle").first
        handle.scroll_into_view_if_needed()
        box, grip = track.bounding_box(), handle.bounding_box()
        if not (box and grip):
            raise AssertionError(f"the player's slider .{css} is not on screen")
        x = box["x"] + fraction * box["width"] + (fraction - 0.5) * 20  # a little past an end: it stops there
        y = grip["y"] + grip["height"] / 2
        self.page.mouse.move(grip["x"] + grip["width"] / 2, y)
        self.page.mouse.down()
        self.page.mouse.move(x, y, steps=8)
        self.page.mouse.up()

    def readout(self, css: str) -> str:
        return self.root.locator(f".{css} .widget-readout").first.inner_text().strip()

    def playing(self) -> bool | None:
        """Whether Play is playing (ipywidgets 8 shows a pause icon then); None where the front-end does not say."""
        icon = self.play_buttons.first.locator("i")
        if not icon.count():
            return None
        return "fa-pause" in (icon.first.get_attribute("class") or "")

    def pause_button(self):
        """ipywidgets 8 toggles play/pause on the first button; ipywidgets 7 has play, pause, stop, repeat."""
        return self.play_buttons.nth(1) if self.play_buttons.count() == 4 else self.play_buttons.first

    def wait_shown(self, timeout: float = PATIENCE) -> None:
        wait_for(lambda: self.root.count() and self.root.is_visible(), timeout,
                 lambda: "the step-through player (.tl-player) is not on screen", self.page)
        self.root.scroll_into_view_if_needed()
        wait_for(lambda: self.frame_loaded() and CYCLE.search(self.caption_text()), timeout,
                 lambda: f"the player shows no frame and caption (caption {self.caption_text()!r})", self.page)

    def caption_text(self) -> str:
        return (self.caption.text_content() or "") if self.caption.count() else ""

    def cycle(self) -> tuple[int, int]:
        match = CYCLE.search(self.caption_text())
        if not match:
            raise AssertionError(f"the caption {self.caption_text()!r} does not read 'cycle t of T'")
        return int(match[1]), int(match[2])

    def frame_src(self) -> str:
        return self.frame.get_attribute("src") or ""

    def frame_loaded(self) -> bool:
        """The frame is an image the browser decoded (not a broken or empty <img>)."""
        return bool(self.frame.count()) and self.frame.evaluate("img => img.complete && img.naturalWidth > 0")

    def wait_for_change(self, before: tuple[tuple[int, int], str], want: Callable[[int], bool], action: str,
                        timeout: float = PATIENCE) -> tuple[tuple[int, int], str]:
        """After ``action``, wait until the cycle satisfies ``want`` and a new decoded frame is shown.

        If that does not come within ``timeout``, the kernel is asked where it is (its reply comes after every
        message the action caused) and the page is given until it shows the kernel's cycle, so the error says
        what the player did, not how slow the machine was."""
        (t0, total), src0 = before

        def changed():
            t, src = self.cycle()[0], self.frame_src()
            return want(t) and src != src0 and self.frame_loaded() and (self.cycle(), src)

        def why():
            t, src = self.cycle()[0], self.frame_src()
            cycle = f"the cycle stayed at {t}" if t == t0 else f"the cycle went from {t0} to {t}"
            frame = "the frame image did not change" if src == src0 else "the frame image changed"
            return f"after {action}: {cycle} (caption {self.caption_text()!r}); {frame}"

        try:
            return wait_for(changed, timeout, why, self.page)
        except AssertionError:
            if not self.has_probe():
                raise
        self.settle()
        return wait_for(changed, 0, why, self.page)

    def has_probe(self) -> bool:
        return bool(shown_notebook(self.page).locator(".tl-state-probe").count())

    def settle(self) -> tuple[int, bool, float]:
        """Wait until the kernel has handled everything sent so far (its probe reply) and the page shows the cycle the
        kernel's PlayerState holds with a decoded frame; returns that state."""
        kernel = self.kernel_state()
        wait_for(lambda: self.frame_loaded() and CYCLE.search(self.caption_text())
                 and self.cycle()[0] == kernel[0], PATIENCE,
                 lambda: f"the page shows caption {self.caption_text()!r}, the kernel's PlayerState cycle "
                 f"{kernel[0]}", self.page)
        return kernel

    def kernel_state(self, timeout: float = PATIENCE) -> tuple[int, bool, float]:
        """(cycle, playing, fps) of the player's PlayerState in the kernel, asked through the probe button."""
        notebook = shown_notebook(self.page)
        out = notebook.locator(".tl-state-probe-out").first

        def answer():
            return KERNEL_STATE.search((out.text_content() or "") if out.count() else "")

        asked = int(answer()[1]) if answer() else 0
        notebook.locator(".tl-state-probe").first.click()
        found = wait_for(lambda: (found := answer()) and int(found[1]) > asked and found, timeout,
                         lambda: f"the kernel did not answer probe #{asked + 1} (it shows {out.text_content()!r})",
                         self.page)
        return int(found[2]), found[3] == "True", float(found[4])

    def state(self) -> tuple[tuple[int, int], str]:
        return self.cycle(), self.frame_src()
