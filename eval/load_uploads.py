"""Other visitors' questions and the app's memory while a hostile visitor uploads (a benchmark, not a test).

    python -m eval.load_uploads            # starts `python app.py` (real corpus, uploads on) on a free port
    python -m eval.load_uploads --readme   # also writes the table into docs/performance.md

The app trusts one proxy hop (``RAG_APP_TRUSTED_PROXIES=1``), so each client here is a visitor of its own
through the ``X-Forwarded-For`` address it sends, as behind a Space's proxy. Three visitors ask questions one
after another through the ``search`` endpoint, first for ``--quiet`` seconds alone, then while one more visitor
sends the probe's hostile mix through Gradio's own routes, as the page does:

* four 100,000-character text files at once, from four sessions;
* a 117 KB PDF whose page inflates to 60 MB of drawing operators, a Word file holding 93 MiB of XML padded with a
  stored random part, and a 19 MB Word file of 56 MB of varied text;
* 150 new sessions with a tiny file each, from 150 addresses (the cap of sessions holding documents is 100).

Printed, quiet beside hostile: the questions' p50 and p95, the app process's resident memory (without its reading
workers, which have their own limit) at the start, its peak, and at the end, and what became of each upload; and
first, on the idle app, how long one 100,000-character text takes from its upload to searchable.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from .common import app_target, percentile, questions, stop_app, update_readme, wait_ready
from .hostile_files import long_word, padded_word, pdf_bomb

QUESTIONERS = 3


class Rss(threading.Thread):
    """The resident memory of one process, sampled every 50 ms: start, peak, last."""

    def __init__(self, pid: int) -> None:
        import psutil

        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.first = self.last = self.peak = self.proc.memory_info().rss
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            try:
                self.last = self.proc.memory_info().rss
            except Exception:  # noqa: BLE001 (the app stopped: the last sample stays)
                return
            self.peak = max(self.peak, self.last)

    def reset(self) -> None:
        self.first = self.peak = self.last


def ask_loop(url: str, visitor: str, pool: list[str], until: threading.Event, out: list[float], errors: list[str]):
    from gradio_client import Client

    client = Client(url, verbose=False, headers={"X-Forwarded-For": f"192.0.2.1, {visitor}"})
    rng = random.Random(visitor)
    while not until.is_set():
        q = rng.choice(pool)
        t0 = time.perf_counter()
        try:
            result = client.predict(q, 5, "hybrid", None, api_name="/search")
            if not isinstance(result, dict) or "passages" not in result:
                raise ValueError(str(result)[:100])
            out.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 (a benchmark counts every failure)
            errors.append(f"{exc.__class__.__name__}: {str(exc)[:100]}")


def upload(url: str, fn: int, visitor: str, name: str, data: bytes, session: str | None = None) -> tuple[str, float]:
    """One file through Gradio's upload route then the panel's event; ``(what the panel says, seconds)``."""
    import httpx

    t0 = time.perf_counter()
    session = session or uuid.uuid4().hex[:12]
    headers = {"X-Forwarded-For": f"192.0.2.{random.randint(1, 254)}, {visitor}"}
    r = httpx.post(url + "gradio_api/upload", files={"files": (name, data)}, headers=headers, timeout=120)
    if r.status_code != 200:
        return f"HTTP {r.status_code}", time.perf_counter() - t0
    files = [{"path": r.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}]
    body = {"data": [files], "fn_index": fn, "session_hash": session, "event_data": None, "trigger_id": None}
    r = httpx.post(url + "gradio_api/queue/join", json=body, headers=headers, timeout=120)
    if r.status_code != 200:
        return f"HTTP {r.status_code}", time.perf_counter() - t0
    event = r.json()["event_id"]
    with httpx.stream("GET", url + f"gradio_api/queue/data?session_hash={session}", headers=headers,
                      timeout=600) as s:
        for line in s.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed" and msg.get("event_id") == event:
                    panel = msg["output"]["data"][0] if msg.get("success") else "error"
                    return outcome(panel), time.perf_counter() - t0
    return "no answer", time.perf_counter() - t0


def outcome(panel: str) -> str:
    """« indexed », or « refused: » and the panel's reason."""
    import html
    import re

    refused = re.search(r'<li class="upload-refused">(.*?)</li>', panel, re.S)
    if refused:
        return "refused: « " + html.unescape(refused.group(1)).split(" : ", 1)[-1][:120] + " »"
    return "indexed" if "doc-mine" in panel else "? " + html.unescape(re.sub(r"<[^>]+>", " ", panel))[:60]


def hostile_files() -> list[tuple[str, str, bytes]]:
    """(label, name, bytes): the probe's files."""
    return [("PDF, 117 KB → 60 MB of operators", "piege.pdf", pdf_bomb()),
            ("Word, 93 MiB of XML, padded", "piege.docx", padded_word()),
            ("Word, 19 MB of varied text", "long.docx", long_word())]


def long_text(seed: int) -> bytes:
    rnd = random.Random(seed)
    parts, size = ["# Note de travail\n"], 0
    while size < 98_000:
        s = (f"Le point {rnd.randint(1, 9999)} de la note {seed} traite du contrôle humain des systèmes "
             f"d'armes et de l'article {rnd.randint(1, 99)} du projet.")
        parts.append(s)
        size += len(s) + 1
    return "\n".join(parts).encode("utf-8")


def hostile_mix(url: str, fn: int, log: list[str]) -> None:
    with ThreadPoolExecutor(4) as pool:  # four 100k-character files at once, from four sessions of one visitor
        t0 = time.perf_counter()
        done = list(pool.map(lambda n: upload(url, fn, "198.51.100.66", f"note{n}.md", long_text(n)), range(4)))
        log.append(f"4 × 100,000-character texts, 4 sessions at once: {', '.join(o for o, _ in done)} "
                   f"(all done in {time.perf_counter() - t0:.0f} s)")
    for label, name, data in hostile_files():
        result, seconds = upload(url, fn, "198.51.100.66", name, data)
        log.append(f"{label}: {result} in {seconds:.1f} s")
    t0, results = time.perf_counter(), []
    for n in range(150):
        results.append(upload(url, fn, f"10.1.{n // 200}.{n % 200 + 1}", "t.md",
                              f"# Note {n}\n\nUne note brève numéro {n}.\n".encode())[0])
    log.append(f"150 new sessions with a tiny file, 150 addresses: {results.count('indexed')} indexed "
               f"in {time.perf_counter() - t0:.0f} s")


def phase(url: str, pool: list[str], run) -> tuple[list[float], list[str]]:
    """Questions from QUESTIONERS visitors while ``run()`` runs; their latencies and errors."""
    until, latencies, errors = threading.Event(), [], []
    askers = [threading.Thread(target=ask_loop, args=(url, f"203.0.113.{i + 1}", pool, until, latencies, errors))
              for i in range(QUESTIONERS)]
    for t in askers:
        t.start()
    try:
        run()
    finally:
        until.set()
        for t in askers:
            t.join()
    return latencies, errors


def main(argv=None) -> int:
    import os

    ap = argparse.ArgumentParser(prog="python -m eval.load_uploads", description=__doc__.splitlines()[0])
    ap.add_argument("--quiet", type=float, default=30, help="seconds of questions alone (default 30)")
    ap.add_argument("--startup-timeout", type=float, default=900)
    ap.add_argument("--readme", action="store_true", help="also write the table into docs/performance.md, between "
                                                          "<!-- uploads:start --> and <!-- uploads:end -->")
    args = ap.parse_args(argv)
    os.environ.setdefault("RAG_APP_TRUSTED_PROXIES", "1")
    os.environ.setdefault("RAG_UPLOADS", "on")
    url, proc, pid = app_target(None, None, "load_uploads.log")
    try:
        wait_ready(url, proc, args.startup_timeout)
        import httpx

        config = httpx.get(url + "config", timeout=30).json()
        fn = next(i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == "upload")
        pool = questions(200)
        alone, alone_seconds = upload(url, fn, "198.51.100.1", "seul.md", long_text(99))
        rss = Rss(pid)
        rss.start()
        quiet_lat, quiet_err = phase(url, pool, lambda: time.sleep(args.quiet))
        quiet = (rss.first, rss.peak, rss.last)
        rss.reset()
        log: list[str] = []
        t0 = time.perf_counter()
        hostile_lat, hostile_err = phase(url, pool, lambda: hostile_mix(url, fn, log))
        wall = time.perf_counter() - t0
        hostile = (rss.first, rss.peak, rss.last)
        rss.stop.set()
    finally:
        stop_app(proc)

    def row(name, lat, err, mem, seconds):
        mib = [m / 2**20 for m in mem]
        return (f"| {name} | {seconds:.0f} s | {len(lat)} | {len(err)} | {percentile(lat, 50):.2f} s | "
                f"{percentile(lat, 95):.2f} s | {mib[0]:.0f} → {mib[1]:.0f} → {mib[2]:.0f} MiB |")

    table = "\n".join([
        f"| {QUESTIONERS} visitors asking | duration | answers | errors | p50 | p95 | app memory start → peak → end |",
        "|---|---:|---:|---:|---:|---:|---|",
        row("alone", quiet_lat, quiet_err, quiet, args.quiet),
        row("beside the hostile uploads", hostile_lat, hostile_err, hostile, wall)])
    uploads = "\n".join(f"- {line}" for line in log)
    idle = (f"On the idle app, one 100,000-character text goes from upload to searchable in {alone_seconds:.1f} s "
            f"({alone}).")
    print(idle, table, uploads, sep="\n\n")
    for e in (quiet_err + hostile_err)[:5]:
        print("error:", e)
    if args.readme:
        update_readme(f"{idle}\n\n{table}\n\nThe hostile visitor's uploads, in order:\n\n{uploads}\n\n"
                      "Regenerate with `python -m eval.load_uploads --readme` (memory: the app's process, without "
                      "the reading workers, each capped at `RAG_UPLOAD_READ_MEMORY`).",
                      "<!-- uploads:start -->", "<!-- uploads:end -->")
    return 1 if quiet_err or hostile_err else 0


if __name__ == "__main__":
    sys.exit(main())
