"""Load test of the web app: concurrent clients for a fixed time, a mix of normal and odd questions.

    python -m eval.load_test                          # starts `python app.py` on a free port (real corpus)
    python -m eval.load_test --duration 60 --clients 50
    python -m eval.load_test --url http://127.0.0.1:7860/ [--pid 1234]
    python -m eval.load_test --index /tmp/some-index  # RAG_INDEX_DIR for the app it starts
    python -m eval.load_test --hostile 0.5            # half the clients hostile (issue 9), the others think 8 s

Each of --clients worker threads has its own gradio_client Client and calls the "/search" endpoint in a loop
until --duration seconds have passed or --max-requests requests have been sent in all. The questions mix:
normal ones (the test set), long ones (1,500 characters, accepted), empty ones and over-long ones (3,000
characters), which the app must refuse with its clear message: those refusals are counted apart, and any
other failure (or a refusal of a valid question, or an answer to an invalid one) is an error.

With ``--hostile F``, a fraction F of the clients are hostile and never pause: half of them ask 2,000-character
questions of random emoji and CJK characters (every character a token) in a loop, the other half send floods
of 10 questions at once through ``submit``, of which the app refuses all but 2 per session (HTTP 429, « trop
de requêtes en attente »: counted as expected refusals). The other clients are normal visitors who wait
``--think`` seconds (default 8 with --hostile, else 0) between questions (and arrive at a random time within
the first such pause). Every other failure, on either side,
is a loss.

The app this script starts has no per-address cap (RAG_APP_PER_IP=0): all its clients share 127.0.0.1.

Prints throughput, p50/p95/p99 latency per kind, the error count, and the app's resident memory (psutil,
process tree) at start and end, with the peak. Exits 1 if there was any error. Localhost only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict

import httpx

from .common import MemoryWatch, app_target, marked_page, percentile, questions, stop_app, update_readme, wait_ready

LONG_CHARS = 1500
OVER_LONG_CHARS = 3000
MIX = (("normal", 0.80), ("long", 0.10), ("empty", 0.05), ("over-long", 0.05))
EXPECTED_REFUSAL = {"empty": "vide", "over-long": "trop longue"}
FLOOD = 10
HOSTILE_CHARS = 2000


def hostile_question(rng: random.Random) -> str:
    """2,000 random emoji and CJK characters (each one a token of the embedder)."""
    blocks = [(0x4E00, 0x9FFF), (0x1F300, 0x1F5FF), (0x1F600, 0x1F64F), (0x3040, 0x30FF)]
    out = []
    for _ in range(HOSTILE_CHARS):
        lo, hi = rng.choice(blocks)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def long_question(base: str, n: int) -> str:
    text = base
    while len(text) < n:
        text += " " + base
    return text[:n]


def make_question(kind: str, rng: random.Random, pool: list[str]) -> str:
    base = rng.choice(pool)
    if kind == "normal":
        return base
    if kind == "long":
        return long_question(base, LONG_CHARS)
    if kind == "empty":
        return rng.choice(["", "   ", "\n\t "])
    return long_question(base, OVER_LONG_CHARS)


class Tally:
    def __init__(self, budget: int) -> None:
        self.lock = threading.Lock()
        self.budget = budget
        self.sent = 0
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.counts: Counter = Counter()
        self.errors: list[str] = []

    def take(self) -> bool:
        with self.lock:
            if self.sent >= self.budget:
                return False
            self.sent += 1
            return True


def record(tally: Tally, kind: str, q: str, elapsed: float, outcome: str, problem: str | None) -> None:
    with tally.lock:
        if problem:
            tally.counts["error"] += 1
            tally.errors.append(f"{kind} ({len(q)} chars): {problem}")
        else:
            tally.counts[outcome] += 1
            if outcome == "answered" or kind in EXPECTED_REFUSAL:
                tally.latencies[kind].append(elapsed)


def connect(url: str, seed: int, tally: Tally):
    """A ``gradio_client.Client`` for client ``seed``, or ``None`` (the failure counted in ``tally``)."""
    from gradio_client import Client

    try:
        return Client(url, verbose=False)
    except Exception as exc:  # noqa: BLE001
        with tally.lock:
            tally.errors.append(f"client {seed}: could not connect: {exc}")
        return None


def hostile_worker(url: str, seed: int, deadline: float, tally: Tally, pool: list[str], k: int) -> None:
    """Never pauses: 2,000-character emoji/CJK questions (even seeds) or floods of FLOOD at once (odd)."""
    rng = random.Random(seed)
    client = connect(url, seed, tally)
    if client is None:
        return
    while time.time() < deadline and tally.take():
        if seed % 2 == 0:
            q = hostile_question(rng)
            t0 = time.perf_counter()
            try:
                result = client.predict(q, k, "hybrid", None, api_name="/search")
                problem = None if isinstance(result, dict) and "passages" in result else "unexpected result"
            except Exception as exc:  # noqa: BLE001
                problem = f"{exc.__class__.__name__}: {str(exc)[:200]}"
            record(tally, "hostile", q, time.perf_counter() - t0, "answered", problem)
            continue
        t0 = time.perf_counter()
        jobs = [client.submit(rng.choice(pool), k, "hybrid", None, api_name="/search") for _ in range(FLOOD)]
        with tally.lock:
            tally.sent += FLOOD - 1
        for job in jobs:
            try:
                result = job.result()
                outcome, problem = "answered", None if isinstance(result, dict) else "unexpected result"
            except Exception as exc:  # noqa: BLE001
                message = str(exc)
                if "429" in message:
                    outcome, problem = "refused", None
                else:
                    outcome, problem = "error", f"{exc.__class__.__name__}: {message[:200]}"
            record(tally, "flood", "flood", time.perf_counter() - t0, outcome, problem)


def worker(url: str, seed: int, deadline: float, tally: Tally, pool: list[str], k: int, think: float = 0.0) -> None:
    rng = random.Random(seed)
    kinds, weights = zip(*MIX)
    client = connect(url, seed, tally)
    if client is None:
        return
    if think:  # visitors arrive at random times, not all at the first second
        time.sleep(rng.uniform(0, think))
    while time.time() < deadline and tally.take():
        kind = rng.choices(kinds, weights)[0]
        q = make_question(kind, rng, pool)
        t0 = time.perf_counter()
        outcome, problem = "answered", None
        try:
            result = client.predict(q, k, "hybrid", None, api_name="/search")
            if not isinstance(result, dict) or "passages" not in result:
                problem = f"unexpected result {str(result)[:100]}"
            elif kind in EXPECTED_REFUSAL:
                problem = "an invalid question was answered"
        except Exception as exc:  # noqa: BLE001 (every failure is counted)
            message = str(exc)
            if kind in EXPECTED_REFUSAL and EXPECTED_REFUSAL[kind] in message:
                outcome = "refused"
            else:
                problem = f"{exc.__class__.__name__}: {message[:200]}"
        record(tally, kind, q, time.perf_counter() - t0, outcome, problem)
        if think:
            time.sleep(min(think * rng.uniform(0.5, 1.5), max(0.0, deadline - time.time())))


def fmt_latency(values: list[float]) -> str:
    if not values:
        return "no requests"
    return (f"n {len(values):5d}  p50 {percentile(values, 50):6.2f} s  p95 {percentile(values, 95):6.2f} s  "
            f"p99 {percentile(values, 99):6.2f} s  max {max(values):6.2f} s  mean {statistics.mean(values):6.2f} s")


SOAK_HEADER = ["| clients, duration | requests | answered | expected refusals | errors | throughput "
               "| p50 | p95 | p99 | app memory start → end | up after |",
               "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
SOAK_NOTE = ("Regenerate with `python -m eval.load_test --readme` (normal, 1,500-character, empty and 3,000-character "
             "questions mixed; the last two are refused by design) and `python -m eval.load_test --hostile 0.5 "
             "--readme` (half the clients hostile: 2,000-character emoji/CJK questions and floods of 10 at once, "
             "refused past 2 per session; latencies are the normal questions'; errors are losses).")


def update_soak_table(row: str, hostile: bool) -> None:
    """Put ``row`` into the soak table of docs/performance.md, replacing the row of the same kind (hostile or not)."""
    page = marked_page("<!-- soak:start -->", "<!-- soak:end -->")
    readme = page.read_text(encoding="utf-8") if page else ""
    start, end = readme.find("<!-- soak:start -->"), readme.find("<!-- soak:end -->")
    rows = [line for line in readme[start:end].splitlines()[1:] if line.startswith("| ") and "---" not in line
            and not line.startswith(SOAK_HEADER[0][:20])] if start >= 0 < end else []
    rows = [r for r in rows if ("hostile" in r.split("|")[1]) != hostile] + [row]
    rows.sort(key=lambda r: "hostile" in r.split("|")[1])
    update_readme("\n".join(SOAK_HEADER + rows + ["", SOAK_NOTE]), "<!-- soak:start -->", "<!-- soak:end -->")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m eval.load_test", description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a running app on localhost; default: start `python app.py` on a free port")
    ap.add_argument("--pid", type=int, help="the running app's process id, for its memory (with --url)")
    ap.add_argument("--index", help="RAG_INDEX_DIR for the app this script starts (default: the app's own)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    ap.add_argument("--max-requests", type=int, default=20_000, help="stop after this many requests in all")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hostile", type=float, default=0.0, help="fraction of hostile clients (issue 9: 0.5)")
    ap.add_argument("--think", type=float, help="seconds a normal client waits between questions "
                                                "(default 8 with --hostile, else 0)")
    ap.add_argument("--startup-timeout", type=float, default=900)
    ap.add_argument("--readme", action="store_true",
                    help="also put the figures into docs/performance.md, between <!-- soak:start --> and "
                         "<!-- soak:end -->")
    return ap


def run_load(args, url: str, think: float, n_hostile: int) -> tuple[Tally, float]:
    """Every client's thread, run until the deadline or the request budget; the tally and the wall time."""
    pool = questions(200)
    tally = Tally(args.max_requests)
    print(f"{args.clients} clients for {args.duration:.0f} s (at most {args.max_requests} requests); "
          f"{n_hostile} hostile; normal mix (thinking {think:g} s): "
          + ", ".join(f"{kind} {w:.0%}" for kind, w in MIX), flush=True)
    start = time.perf_counter()
    deadline = time.time() + args.duration
    threads = [threading.Thread(target=hostile_worker if i < n_hostile else worker,
                                args=(url, args.seed * 1000 + i, deadline, tally, pool, args.k)
                                + (() if i < n_hostile else (think,)), daemon=True)
               for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally, time.perf_counter() - start


def print_tally(tally: Tally, wall: float, n_hostile: int) -> None:
    done = tally.counts["answered"] + tally.counts["refused"]
    print(f"\nrequests: {tally.sent} in {wall:.1f} s; answered {tally.counts['answered']}, "
          f"expected refusals {tally.counts['refused']}, errors {tally.counts['error']}")
    print(f"throughput: {done / wall:.2f} requests/s ({tally.counts['answered'] / wall:.2f} answers/s)")
    everything = [x for v in tally.latencies.values() for x in v]
    print(f"latency   all       {fmt_latency(everything)}")
    for kind in [k for k, _ in MIX] + (["hostile", "flood"] if n_hostile else []):
        print(f"          {kind:9} {fmt_latency(tally.latencies.get(kind, []))}")
    for e in tally.errors[:10]:
        print("  error:", e)


def still_up(url: str, proc) -> bool:
    """Whether the app (still running, if this script started it) answers at ``url``."""
    if proc is not None and proc.poll() is not None:
        return False
    try:
        return httpx.get(url, timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


def soak_row(args, tally: Tally, wall: float, think: float, n_hostile: int, memory: str, up: bool) -> str:
    """The README soak table's row for this run (latencies of the normal questions when some clients are hostile)."""
    done = tally.counts["answered"] + tally.counts["refused"]
    everything = [x for v in tally.latencies.values() for x in v]
    at = lambda p: percentile(tally.latencies.get("normal", []) if n_hostile else everything, p)  # noqa: E731
    first = (f"{args.clients} ({n_hostile} hostile, others think {think:g} s), {wall:.0f} s" if n_hostile
             else f"{args.clients}, {wall:.0f} s")
    return (f"| {first} | {tally.sent} | {tally.counts['answered']} | {tally.counts['refused']}"
            f" | {tally.counts['error']} | {done / wall:.2f} req/s | {at(50):.2f} s | {at(95):.2f} s | {at(99):.2f} s"
            f" | {memory} | {'yes' if up else 'NO'} |")


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    think = args.think if args.think is not None else (8.0 if args.hostile else 0.0)
    n_hostile = round(args.clients * args.hostile)
    url, proc, pid = app_target(args.url, args.pid, "load_test.log", args.index)
    try:
        wait_ready(url, proc, args.startup_timeout)
        watch = MemoryWatch(pid) if pid else None
        if watch:
            rss_start = watch.rss()
            watch.start()
        tally, wall = run_load(args, url, think, n_hostile)
        memory = "unknown"
        if watch:
            rss_end = watch.rss()
            watch.stop.set()
            watch.join()
            memory = f"{rss_start / 2**20:.0f} → {rss_end / 2**20:.0f} MiB (peak {watch.peak / 2**20:.0f})"
        print_tally(tally, wall, n_hostile)
        print(f"app memory (RSS, process tree): {memory}" if watch else "app memory: unknown (pass --pid)")
        up = still_up(url, proc)
        print(f"app still up after the load: {'yes' if up else 'NO'}")
        done = tally.counts["answered"] + tally.counts["refused"]
        if args.readme and any(tally.latencies.values()):
            update_soak_table(soak_row(args, tally, wall, think, n_hostile, memory, up), hostile=bool(n_hostile))
        return 1 if tally.counts["error"] or not up or not done else 0
    finally:
        stop_app(proc)


if __name__ == "__main__":
    sys.exit(main())
