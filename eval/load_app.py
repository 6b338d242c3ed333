"""Load check of the web app (a benchmark, not a timed test).

    python eval/load_app.py                    # starts `python app.py` on a free port (real corpus)
    python eval/load_app.py --url http://127.0.0.1:7860/ [--pid 1234]

N concurrent gradio_client clients (default 20) each ask M questions (default 10)
through the `search` endpoint; every request must succeed. Prints p50/p95/max
latency, throughput and the app's peak resident memory (psutil, the app process
and its children, sampled every 50 ms). Exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: `python eval/load_app.py`
TESTSET = ROOT / "eval" / "testset.jsonl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def questions(n: int) -> list[str]:
    qs = []
    if TESTSET.exists():
        for line in TESTSET.read_text(encoding="utf-8").splitlines():
            if line.strip():
                qs.append(json.loads(line)["question"])
    if not qs:
        qs = ["Que signifie un contrôle humain significatif ?", "What does meaningful human control mean?"]
    return [qs[i % len(qs)] for i in range(n)]


class MemoryWatch(threading.Thread):
    """Peak RSS of a process and its children."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.peak = 0
        self.samples: list[int] = []
        self.stop = threading.Event()

    def rss(self) -> int:
        total = 0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                value = self.rss()
            except psutil.Error:
                return
            self.samples.append(value)
            self.peak = max(self.peak, value)
            time.sleep(0.05)


def wait_ready(url: str, proc: subprocess.Popen | None, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the app exited with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the app did not answer at {url} within {timeout:.0f} s")


def pid_listening_on(port: int) -> int | None:
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


def run_client(url: str, qs: list[str], k: int) -> tuple[list[float], list[str]]:
    from gradio_client import Client

    client = Client(url, verbose=False)
    latencies, errors = [], []
    for q in qs:
        t0 = time.perf_counter()
        try:
            result = client.predict(q, k, "hybrid", None, api_name="/search")
            if not isinstance(result, dict) or "passages" not in result:
                raise ValueError(f"unexpected result {str(result)[:100]}")
            latencies.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 (a load test counts every failure)
            errors.append(f"{q[:40]!r}: {exc.__class__.__name__}: {exc}")
    return latencies, errors


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    i = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[i]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running app on localhost; default: start `python app.py` on a free port")
    ap.add_argument("--pid", type=int, help="the running app's process id, for its memory (with --url)")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--questions", type=int, default=10, help="questions per client")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--startup-timeout", type=float, default=900)
    ap.add_argument("--readme", action="store_true",
                    help="also put the figures into README.md, between <!-- load:start --> and <!-- load:end -->")
    args = ap.parse_args(argv)

    url, proc, pid = app_target(args.url, args.pid, "load_app.log")
    try:
        t0 = time.time()
        wait_ready(url, proc, args.startup_timeout)
        print(f"app ready after {time.time() - t0:.1f} s", flush=True)
        watch = MemoryWatch(pid) if pid else None
        if watch:
            watch.start()
            time.sleep(0.2)
            idle = watch.rss()
        qs = questions(args.clients * args.questions)
        batches = [qs[i * args.questions:(i + 1) * args.questions] for i in range(args.clients)]
        print(f"{args.clients} clients x {args.questions} questions ...", flush=True)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(lambda b: run_client(url, b, args.k), batches))
        wall = time.perf_counter() - start
        if watch:
            watch.stop.set()
            watch.join()
        latencies = [x for lat, _ in results for x in lat]
        errors = [e for _, errs in results for e in errs]
        total = args.clients * args.questions
        print(f"requests: {total}, answered: {len(latencies)}, errors: {len(errors)}")
        for e in errors[:10]:
            print("  error:", e)
        if latencies:
            print(f"latency: p50 {pct(latencies, 50):.2f} s, p95 {pct(latencies, 95):.2f} s, "
                  f"max {max(latencies):.2f} s, mean {statistics.mean(latencies):.2f} s")
        print(f"wall time {wall:.1f} s, throughput {len(latencies) / wall:.1f} answers/s")
        if watch:
            print(f"app memory (RSS, process tree): idle {idle / 2**20:.0f} MiB, peak {watch.peak / 2**20:.0f} MiB")
        else:
            print("app memory: unknown (pass --pid)")
        if args.readme and latencies:
            from eval.common import update_readme

            update_readme("\n".join([
                "| clients × questions | answered | errors | p50 | p95 | max | throughput | app memory idle → peak |",
                "|---|---:|---:|---:|---:|---:|---:|---:|",
                f"| {args.clients} × {args.questions} | {len(latencies)} | {len(errors)} | {pct(latencies, 50):.2f} s"
                f" | {pct(latencies, 95):.2f} s | {max(latencies):.2f} s | {len(latencies) / wall:.1f} answers/s | "
                + (f"{idle / 2**20:.0f} → {watch.peak / 2**20:.0f} MiB |" if watch else "unknown |"),
                "", "Regenerate with `python eval/load_app.py --readme`."]), "<!-- load:start -->", "<!-- load:end -->")
        return 1 if errors or len(latencies) != total else 0
    finally:
        stop_app(proc)


if __name__ == "__main__":
    sys.exit(main())
