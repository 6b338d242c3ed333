"""Helpers shared by the evaluation scripts (``python -m eval``, ``eval.bench``, ``eval.load_app``, ``eval.load_test``,
``eval.bench_question_cost``): percentiles and timings, the generated blocks of README.md and docs/, memory, and
starting and stopping the web app on localhost for the load scripts."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from rag.settings import ROOT

TESTSET = ROOT / "eval" / "testset.jsonl"


# --------------------------------------------------------------------------- figures
def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile of ``values`` (linear interpolation between ranks, numpy's default); NaN if empty.

    The one definition of every p50/p95/p99 the evaluation scripts print.
    """
    if len(values) == 0:
        return float("nan")
    return float(np.percentile(np.asarray(values, dtype=float), p))


def p50_p95_ms(seconds: Sequence[float]) -> tuple[float, float]:
    """The median and the 95th percentile of durations in seconds, in milliseconds (see :func:`percentile`)."""
    return percentile(seconds, 50) * 1000, percentile(seconds, 95) * 1000


def timed(fn: Callable[[int], object], n: int) -> list[float]:
    """Seconds taken by each of ``fn(0)``, ..., ``fn(n - 1)``."""
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def rss_mb() -> float:
    """This process's resident memory now, in MB (NaN without psutil)."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        return float("nan")


def marked_page(start: str, end: str) -> Path | None:
    """The page of the documentation (README.md or docs/*.md) holding the block between ``start`` and ``end``."""
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        if start in text and end in text:
            return page
    return None


def update_readme(summary: str, start: str = "<!-- eval:start -->", end: str = "<!-- eval:end -->") -> None:
    """Replace the block between the ``start`` and ``end`` markers, in the README or the docs page that holds
    it, with ``summary``."""
    page = marked_page(start, end)
    if page is None:
        print(f"note: no page of README.md or docs/ has a {start} ... {end} block; not updated", file=sys.stderr)
        return
    head, rest = page.read_text(encoding="utf-8").split(start, 1)
    tail = rest.split(end, 1)[1]
    page.write_text(f"{head}{start}\n{summary.strip()}\n{end}{tail}", encoding="utf-8")
    print(f"updated {page.relative_to(ROOT)}")


def questions(n: int) -> list[str]:
    """``n`` questions of the test set, repeated as needed (two fixed ones if it is missing)."""
    qs = []
    if TESTSET.exists():
        for line in TESTSET.read_text(encoding="utf-8").splitlines():
            if line.strip():
                qs.append(json.loads(line)["question"])
    if not qs:
        qs = ["Que signifie un contrôle humain significatif ?", "What does meaningful human control mean?"]
    return [qs[i % len(qs)] for i in range(n)]


# --------------------------------------------------------------------------- the app on localhost
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MemoryWatch(threading.Thread):
    """Peak RSS of a process and its children."""

    def __init__(self, pid: int) -> None:
        import psutil

        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.samples: list[int] = []
        self.stop = threading.Event()

    def rss(self) -> int:
        import psutil

        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            try:
                value = self.rss()
            except psutil.Error:
                return
            self.samples.append(value)
            self.peak = max(self.peak, value)
            time.sleep(0.05)


def wait_ready(url: str, proc: subprocess.Popen | None, timeout: float) -> None:
    """Wait until the app answers at ``url`` (saying after how long); exit if it died or did not answer within
    ``timeout`` seconds."""
    import httpx

    started = time.time()
    deadline = started + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the app exited with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                print(f"app ready after {time.time() - started:.1f} s", flush=True)
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the app did not answer at {url} within {timeout:.0f} s")


def pid_listening_on(port: int) -> int | None:
    import psutil

    try:
        for c in psutil.net_connections(kind="tcp"):
            if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid:
                return c.pid
    except psutil.Error:
        pass
    return None


def start_app(log_name: str, index_dir: str | None = None) -> tuple[str, subprocess.Popen]:
    """Start ``python app.py`` on a free localhost port; its log goes to eval/out/ (git-ignored).

    The app gets no cap per address (its clients all share 127.0.0.1); the cap per session stays."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    env.setdefault("RAG_APP_PER_IP", "0")  # every client of these scripts is 127.0.0.1: no cap per address
    if index_dir:
        env["RAG_INDEX_DIR"] = index_dir
    log_path = ROOT / "eval" / "out" / log_name
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w", encoding="utf-8")
    print(f"starting python app.py on {url} (log: {log_path.relative_to(ROOT)})", flush=True)
    return url, subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=log, stderr=log)


def app_target(url: str | None, pid: int | None, log_name: str,
               index_dir: str | None = None) -> tuple[str, subprocess.Popen | None, int | None]:
    """``(url, process we started or None, app pid)``: the running app at ``url`` (localhost only),
    or a new ``python app.py`` on a free port."""
    import httpx

    if url is None:
        url, proc = start_app(log_name, index_dir)
        return url, proc, proc.pid
    url = url if url.endswith("/") else url + "/"
    host = httpx.URL(url).host
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"localhost only, not {host}")
    return url, None, pid or pid_listening_on(httpx.URL(url).port or 80)


def stop_app(proc: subprocess.Popen | None) -> None:
    """Stop an app started by :func:`start_app` (nothing for an app given by --url)."""
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
