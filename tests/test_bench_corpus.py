"""``python -m eval.bench --corpus DIR --queries FILE`` on a small generated corpus of hard-wrapped plain text."""

from __future__ import annotations

import json
import random

import pytest

from eval.bench import main
from eval.bench_corpus import QueriesError, load_queries
from eval.wrap import wrap_text

TOPICS = {
    "drones": ("DRONES ARMÉS", "Les drones armés autonomes posent la question du contrôle humain sur l'emploi de la "
               "force. Les États débattent d'un moratoire sur leur emploi dans les conflits.",
               "Que disent les États sur les drones armés autonomes ?", "What do states say about armed drones?"),
    "budget": ("1. Le budget", "Le budget de la défense consacré à l'intelligence artificielle atteindra 1,5 milliard "
               "d'euros en 2030, selon la loi de programmation militaire.",
               "Quel budget pour l'intelligence artificielle de défense ?", "What budget for defence AI in 2030?"),
    "cyber": ("Article 3", "Les cyberattaques dopées à l'IA visent les hôpitaux et les réseaux électriques ; les "
              "plaintes pour cybercriminalité ont doublé en deux ans.",
              "Combien de plaintes pour cybercriminalité ?", "How did cybercrime complaints change?"),
    "nucleaire": ("II. LA DISSUASION", "La dissuasion nucléaire exclut toute délégation de la décision de tir à une "
                  "machine, rappelle la doctrine.", "Qui décide du tir nucléaire ?",
                  "Can a machine decide a nuclear strike?"),
}


def write_example(folder):
    corpus = folder / "corpus"
    corpus.mkdir()
    rng = random.Random(3)
    lines = []
    for name, (heading, text, q_fr, q_en) in TOPICS.items():
        body = f"{heading}\n" + " ".join([text] * 4) + "\n\nAutres considérations générales sur le sujet " \
               f"{name}, sans plus de précision. " * 3 + "\n"
        (corpus / f"{name}.txt").write_text(wrap_text(body, rng, 60, 80), encoding="utf-8")
        lines += [json.dumps({"question": q_fr, "doc": name, "lang": "fr"}),
                  json.dumps({"question": q_en, "doc": name, "lang": "en"})]
    queries = folder / "queries.jsonl"
    queries.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus, queries


def test_bench_on_any_folder_reports_build_cost_and_known_item_retrieval(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RAG_EMBEDDER", "bundled")
    corpus, queries = write_example(tmp_path)
    out = tmp_path / "bench.json"
    assert main(["--corpus", str(corpus), "--queries", str(queries), "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    build = res["build"]
    assert build["documents"] == 4 and build["lines"] > 4 * 6  # hard-wrapped
    assert build["chunks"] >= 4 and 0 < build["sentence_vector_share"] < 1
    # Each file opens on a plain-text heading (capitals, « 1. », « Article 3 », « II. »): every passage is under one.
    assert build["headings"] == 4 and build["chunks_with_section"] == build["chunks"]
    # Hard-wrapped lines are joined: far fewer sentences than lines of text (one a line, before).
    text_lines = sum(1 for f in corpus.iterdir() for line in f.read_text().splitlines() if line.strip())
    logical = sum(len(t[1].split(". ")) * 4 + 3 + 1 for t in TOPICS.values())  # 4 repeats, 3 fillers, the heading
    assert build["sentences"] <= logical < text_lines
    for mode in ("keyword", "dense", "hybrid"):
        assert res["known_item"][mode]["queries"] == 8
        assert set(res["known_item"][mode]["by_lang"]) == {"fr", "en"}
    assert res["known_item"]["hybrid"]["recall@5"] == 1.0
    assert res["known_item"]["keyword"]["by_lang"]["fr"]["recall@1"] == 1.0
    assert "known-item retrieval" in capsys.readouterr().out
    assert not any(tmp_path.glob("rag-bench-*"))  # the temporary index is gone


def test_bad_queries_are_refused_with_the_line(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"question": "Quoi ?", "doc": "drones"}\n{"question": "Et ?", "doc": "absent"}\n')
    with pytest.raises(QueriesError, match="line 2: unknown document 'absent'"):
        load_queries(bad, {"drones"})
    bad.write_text('{"doc": "drones"}\n')
    with pytest.raises(QueriesError, match="line 1"):
        load_queries(bad, {"drones"})
    assert main(["--corpus", str(tmp_path / "none"), "--queries", str(bad)]) == 2
