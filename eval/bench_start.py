"""How fast `python app.py` is up, and what it holds idle, on each runtime of the bundled model (a benchmark, not a
timed test).

    python -m eval.bench_start [--runs 3] [--runtimes onnx,torch] [--readme]

Each run starts ``python app.py`` on the real corpus and its committed index, with ``RAG_BUNDLED_RUNTIME`` set,
the runtimes taking turns run by run (so that a change of load on the machine weighs on all alike); it measures the
time to the first HTTP 200 of the page, then, once the log says the warm-up is done (spaCy and the first query
vector), the resident memory of the idle app, and the time to the first answer through the API. The converted
and exported model must already be in the cache (the first start of each runtime makes it; that run is not
counted). ``--readme`` puts the table into docs/performance.md, between ``<!-- start:start -->`` and
``<!-- start:end -->``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from .common import ROOT, MemoryWatch, free_port, update_readme

QUESTION = "Quand la résolution 79/239 a-t-elle été adoptée ?"


def one_start(runtime: str, timeout: float = 300) -> dict:
    """Start the app once with ``runtime``: seconds to the page, to the end of the warm-up, idle RSS (MB), first
    answer (s)."""
    import httpx
    from gradio_client import Client

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", RAG_BUNDLED_RUNTIME=runtime)
    log_path = ROOT / "eval" / "out" / f"start-{runtime}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as log:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        fig = {"runtime": runtime}
        deadline = started + timeout
        while True:
            if proc.poll() is not None or time.perf_counter() > deadline:
                raise SystemExit(f"the app did not start ({runtime}); see {log_path.relative_to(ROOT)}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        fig["up_s"] = time.perf_counter() - started
        while "warm-up done" not in log_path.read_text(encoding="utf-8"):
            if proc.poll() is not None or time.perf_counter() > deadline:
                raise SystemExit(f"the app did not warm up ({runtime}); see {log_path.relative_to(ROOT)}")
            time.sleep(0.05)
        fig["warm_s"] = time.perf_counter() - started
        time.sleep(1)
        fig["idle_rss_mb"] = MemoryWatch(proc.pid).rss() / 2**20
        t = time.perf_counter()
        Client(url, verbose=False).predict(QUESTION, 5, "hybrid", None, api_name="/search")
        fig["first_answer_s"] = time.perf_counter() - t
        return fig
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def markdown(figs: dict[str, list[dict]], runs: int) -> str:
    lines = ["| runtime | app up (s) | warm-up done (s) | idle RSS (MB) | first answer through the API (s) |",
             "|---|---:|---:|---:|---:|"]
    for runtime, rows in figs.items():
        cells = [f"{statistics.median(r[k] for r in rows):.{d}f}"
                 for k, d in (("up_s", 1), ("warm_s", 1), ("idle_rss_mb", 0), ("first_answer_s", 2))]
        lines.append(f"| {runtime} | " + " | ".join(cells) + " |")
    lines += ["", f"Medians of {runs} starts of `python app.py` per runtime, taking turns, on the real corpus and its "
                  "committed index (the model already converted and exported). Regenerate with "
                  "`python -m eval.bench_start --readme`."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--runtimes", default="onnx,torch", help="default: %(default)s")
    ap.add_argument("--readme", action="store_true", help="put the table into docs/performance.md")
    args = ap.parse_args(argv)
    runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    for runtime in runtimes:  # not counted: makes the conversion and the export if they are missing
        one_start(runtime)
    figs: dict[str, list[dict]] = {r: [] for r in runtimes}
    for n in range(args.runs):
        for runtime in runtimes:
            fig = one_start(runtime)
            figs[runtime].append(fig)
            print(f"run {n + 1} {runtime}: up {fig['up_s']:.1f} s, warm {fig['warm_s']:.1f} s, idle "
                  f"{fig['idle_rss_mb']:.0f} MB, first answer {fig['first_answer_s']:.2f} s", flush=True)
    table = markdown(figs, args.runs)
    print(table)
    if args.readme:
        update_readme(table, "<!-- start:start -->", "<!-- start:end -->")
    return 0


if __name__ == "__main__":
    sys.exit(main())
