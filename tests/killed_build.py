"""A build that kills itself (SIGKILL) at a named point, for the crash tests (test_faults, test_incremental,
test_resume, test_milvus).

    proc = start(point, settings, incremental=False, memo=None)   # a subprocess; killed: proc.returncode == -9
    code, output = wait(proc)                                     # its exit code and output (killed past 240 s)
    code, output = run(point, settings)                           # the two at once

Points:
- ``embedding``: the first call to the embedder; ``sentences-embedding``: the second (chunk vectors done);
  ``third-document``: with one document per embedding batch, the third one's first call (two documents
  embedded and saved);
- ``chunks-half-written``, ``sentences-half-written``: half of that file written, then killed;
- ``vectors-save``, ``keyword-save``: as that index is saved;
- ``manifest-written``: the build folder complete, before it is synced and renamed (a Milvus update: after its
  rows are inserted);
- ``build-renamed``: the folder renamed, before ``CURRENT`` names it;
- ``current-tmp-written``: ``CURRENT``'s new copy written, before it replaces the old one;
- ``current-switched``: after the switch, before old builds are removed.

The build uses ``settings`` as they are; with ``memo`` (a pickle of passage vectors by text), the bundled
embedder does not embed again the texts it holds.
"""

from __future__ import annotations

import os
import subprocess
import sys

from corpora import ROOT

SCRIPT = r"""
import io, os, pickle, signal, sys  # rag from PYTHONPATH
import numpy as np
import rag.index.resume
import rag.index.folder as store
from rag import Settings, build_index
from rag.embedding.bundled import BundledEmbedder

point, settings_json, incremental, memo_path = sys.argv[1:5]

def die(*args, **kwargs):
    print("KILLED", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

real_encode = BundledEmbedder.encode_passages
memo = pickle.load(open(memo_path, "rb")) if memo_path else {}

def encode(self, texts, progress=False):
    if texts and all(t in memo for t in texts):
        return np.stack([memo[t] for t in texts])
    return real_encode(self, texts, progress)

def die_at_call(n):
    calls = []
    def encode_or_die(self, texts, progress=False):
        calls.append(1)
        if len(calls) == n:
            die()
        return encode(self, texts, progress)
    return encode_or_die

BundledEmbedder.encode_passages = encode
if point == "embedding":
    BundledEmbedder.encode_passages = die_at_call(1)
elif point == "sentences-embedding":
    BundledEmbedder.encode_passages = die_at_call(2)
elif point == "third-document":
    rag.index.resume.BATCH_CHUNKS = 1  # one document per batch, two calls each
    BundledEmbedder.encode_passages = die_at_call(5)
elif point == "chunks-half-written":
    real_jsonl = store._write_jsonl
    def write_jsonl(path, records):
        if path.name == "chunks.jsonl":
            buf = io.StringIO()
            for rec in records:
                buf.write(store.json.dumps(rec, ensure_ascii=False) + "\n")
            path.write_text(buf.getvalue()[: len(buf.getvalue()) // 2], encoding="utf-8")
            die()
        return real_jsonl(path, records)
    store._write_jsonl = write_jsonl
elif point == "vectors-save":
    store.VectorIndex.save = die
elif point == "sentences-half-written":
    real_save = np.save
    def save(file, arr, *a, **k):
        buf = io.BytesIO()
        real_save(buf, arr)
        open(file, "wb").write(buf.getvalue()[: len(buf.getvalue()) // 2])
        die()
    store.np.save = save
elif point == "keyword-save":
    store.KeywordIndex.save = die
elif point == "manifest-written":
    store._fsync_tree = die
elif point == "build-renamed":
    store._switch = die
elif point == "current-tmp-written":
    real_replace = os.replace
    def replace(src, dst, *a, **k):
        if os.path.basename(str(dst)) == store.CURRENT:
            die()
        return real_replace(src, dst, *a, **k)
    store.os.replace = replace
elif point == "current-switched":
    store._remove_stale = die
else:
    raise SystemExit("unknown point " + point)
build_index(Settings.from_json(settings_json), incremental=bool(incremental))
print("not killed")
sys.exit(3)
"""


def start(point: str, settings, incremental: bool = False, memo=None) -> subprocess.Popen:
    """The build of ``settings``, killed at ``point``, started in a subprocess (several can run side by side)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", SCRIPT, point, settings.to_json(), "1" if incremental else "",
                             str(memo or "")], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True)


def wait(proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
    """The exit code (-9 when killed) and what it printed; a build still running after ``timeout`` seconds (within
    the test's own 300) is killed and the wait fails."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, stdout + stderr


def run(point: str, settings, incremental: bool = False, memo=None) -> tuple[int, str]:
    """``start``, waited for."""
    return wait(start(point, settings, incremental, memo))
