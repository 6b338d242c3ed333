"""The retrieval evaluation (python -m eval): metrics, the relevance rule, test-set checks, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eval.calibrate import auc, choose_threshold
from eval.evaluate import CaseResult, Hit, abstention, ranx_metrics, relevant_chunks, run_dict, tradeoff_curve
from eval.relevance import contains_quote, is_relevant, normalize, quote_halves
from eval.testset import Case, GoldAnswer, TestSetError, load_testset, select

ROOT = Path(__file__).resolve().parent.parent

DOCS = {
    "drones-autonomes": """# Les drones autonomes

## Contrôle humain

Un contrôle humain significatif suppose que l’opérateur comprenne le système<sup>1</sup> et puisse
interrompre une attaque à tout moment. Les <b>systèmes d'armes létaux autonomes</b> inquiètent les États.

1. Voir la note du CICR.

## Registre

Le rapport recommande la création d'un registre international des essais de drones armés.
""",
    "budget-defense": """# Budget de la défense

## Montants

Le budget consacré à l'intelligence artificielle de défense atteindra 1,5 milliard d'euros en 2030.
La moitié financera la recherche sur le traitement des données massives.
""",
    "resolution-onu": """# Résolution 12/345

*L'Assemblée générale,*

1. *Prie* le Secrétaire général de présenter un rapport sur l'intelligence artificielle militaire ;

2. *Décide* d'inscrire la question à l'ordre du jour de sa quatre-vingtième session.
""",
}

CASES = [
    {"id": "t1", "question": "Que suppose un contrôle humain significatif ?", "lang": "fr", "answerable": True,
     "kind": "definition", "split": "tune",
     "answers": [{"doc": "drones-autonomes",
                  "quote": "Un contrôle humain significatif suppose que l’opérateur comprenne le système"}]},
    {"id": "t2", "question": "Quel est le budget de l'IA de défense en 2030 ?", "lang": "fr", "answerable": True,
     "kind": "factual", "split": "heldout",
     "answers": [{"doc": "budget-defense", "quote": "atteindra 1,5 milliard d'euros en 2030"}]},
    {"id": "t3", "question": "What does the General Assembly ask the Secretary-General?", "lang": "en",
     "answerable": True, "kind": "paraphrase", "split": "heldout",
     "answers": [{"doc": "resolution-onu", "quote": "*Prie* le Secrétaire général de présenter un rapport"}]},
    {"id": "t4", "question": "Que recommande le rapport sur les essais de drones ?", "lang": "fr", "answerable": True,
     "kind": "keyword", "split": "tune",
     "answers": [{"doc": "drones-autonomes",
                  "quote": "la création d'un registre international des essais de drones armés"}]},
    {"id": "t5", "question": "Comment faire une pâte à crêpes ?", "lang": "fr", "answerable": False,
     "kind": "unanswerable_off_topic", "split": "heldout", "answers": []},
    {"id": "t6", "question": "Who won the 2022 football world cup?", "lang": "en", "answerable": False,
     "kind": "unanswerable_off_topic", "split": "tune", "answers": []},
]


def _write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (folder / f"{name}.md").write_text(text, encoding="utf-8")
    return folder


def _write_testset(path: Path, lines) -> Path:
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)) + "\n"
                            for line in lines),
                    encoding="utf-8")
    return path


# ------------------------------------------------------------------ metrics (hand-worked)
def test_ranx_metrics_hand_worked():
    # q1: relevant a, b; retrieved x, a, b.  q2: relevant c; retrieved c, y.
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}}
    run = {"q1": {"x": 3.0, "a": 2.0, "b": 1.0}, "q2": {"c": 2.0, "y": 1.0}}
    m = ranx_metrics(qrels, run)
    assert m["recall@1"] == pytest.approx(0.5)  # a relevant passage at rank 1: q2 only
    assert m["recall@2"] == pytest.approx(1.0)
    assert m["mrr@10"] == pytest.approx((1 / 2 + 1) / 2)
    assert m["passage_recall@5"] == pytest.approx(1.0)  # every relevant chunk within 5
    idcg = 1 + 1 / 1.5849625007211562
    dcg = 1 / 1.5849625007211562 + 1 / 2
    assert m["ndcg@10"] == pytest.approx((dcg / idcg + 1) / 2)


def test_ranx_passage_recall_and_empty_runs():
    qrels = {"q1": {"a": 1, "b": 1}, "q2": {"c": 1}, "q3": {}}
    run = {"q1": {"a": 2.0, "x": 1.0}, "q2": {}}
    m = ranx_metrics(qrels, run)
    assert m["passage_recall@5"] == pytest.approx((1 / 2 + 0 + 0) / 3)
    assert m["recall@5"] == pytest.approx(1 / 3)  # nothing retrieved / nothing relevant score 0
    assert m["mrr@10"] == pytest.approx(1 / 3)


def _case(cid="q", answerable=True, answers=(), split="heldout", lang="fr", kind="factual"):
    return Case(cid, "?", lang, answerable, kind, split, tuple(answers))


def test_run_dict_keeps_rank_order_and_abstention_rates():
    hits = [Hit(f"c{i}", "d", "", "", 0.5, i == 2) for i in range(4)]  # equal engine scores
    r = CaseResult(_case("q1"), hits, confidence=1.0, abstained=True)
    run = run_dict([r])["q1"]
    assert sorted(run, key=run.get, reverse=True) == ["c0", "c1", "c2", "c3"]
    assert r.first_relevant == 3
    rs = [CaseResult(_case("a1"), [], 5.0, False), CaseResult(_case("a2"), [], 1.0, True),
          CaseResult(_case("u1", False), [], 0.5, True), CaseResult(_case("u2", False), [], 4.0, False)]
    ab = abstention(rs, 2.0)
    assert ab["unanswerable_abstained"] == 0.5 and ab["answerable_wrongly_abstained"] == 0.5
    curve = tradeoff_curve(rs)
    assert curve[0][1:] == (0.0, 0.0) and curve[-1][1:] == (1.0, 1.0)


def test_threshold_choice_and_auc():
    conf = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 1, 2, 3, 6.5]
    labels = [True] * 20 + [False] * 4
    t, una, ans = choose_threshold(conf, labels)
    # Catching 6.5 would wrongly abstain on 5 and 6 (10% > 5%): the best is 3 of 4, with no answerable lost.
    assert (una, ans) == (0.75, 0.0) and 3 < t < 5
    assert auc([3, 2, 1], [True, False, False]) == 1.0
    assert auc([1, 1], [True, False]) == 0.5


# ------------------------------------------------------------------ relevance rule
def test_normalize_markup_apostrophes_whitespace():
    assert normalize("l’opérateur\u00a0 comprend\n  le système<sup>1</sup>.") == "l'opérateur comprend le système."
    assert normalize("Les <b>systèmes</b> *Prie* le [lien](http://x) &amp; \\*") == "Les systèmes Prie le lien &"
    assert normalize("## Titre") == "Titre"


def test_quote_rule_matches_cleaned_and_raw_text():
    raw = DOCS["drones-autonomes"]
    quote = "Un contrôle humain significatif suppose que l’opérateur comprenne le système"
    cleaned = "Un contrôle humain significatif suppose que l'opérateur comprenne le système et puisse\ninterrompre"
    gold = [GoldAnswer("drones-autonomes", quote, normalize(quote))]
    assert is_relevant("drones-autonomes", normalize(cleaned), gold)
    assert is_relevant("drones-autonomes", normalize(raw), gold)
    assert not is_relevant("budget-defense", normalize(cleaned), gold)  # right text, wrong document


def test_half_quote_rule():
    quote = normalize("Le rapport recommande la création d'un registre international des essais de drones armés")
    whole, first, second = quote_halves(quote)
    assert whole == quote and first + " " + second == quote
    assert contains_quote("… fin de chunk : " + first, quote)
    assert contains_quote(second + " Début du suivant", quote)
    assert not contains_quote(first[: len(first) // 2], quote)
    short = normalize("atteindra 1,5 milliard")
    assert quote_halves(short) == (short,)
    assert not contains_quote("atteindra 1,5", short)


def test_relevant_chunks_over_all_chunks():
    case = _case("q1", answers=[GoldAnswer("d", "x", normalize("registre international"))])
    chunks = [("d@0", "d", "un registre  international ici"), ("d@1", "d", "autre"),
              ("e@0", "e", "registre international")]
    assert relevant_chunks([case], chunks) == {"q1": {"d@0": 1}}


# ------------------------------------------------------------------ test-set loading
@pytest.fixture()
def documents():
    return dict(DOCS)


def test_loader_accepts_the_tiny_set_and_missing_split(tmp_path, documents):
    lines = [dict(c) for c in CASES]
    del lines[0]["split"]
    cases = load_testset(_write_testset(tmp_path / "t.jsonl", lines + [""]), documents)
    assert len(cases) == 6 and cases[0].split == "heldout"
    assert [c.id for c in select(cases, "tune")] == ["t4", "t6"]


@pytest.mark.parametrize("bad, problem", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ({k: v for k, v in CASES[1].items() if k != "question"}, "missing field 'question'"),
    ({**CASES[1], "answerable": "yes"}, "field 'answerable' must be true or false"),
    ({**CASES[1], "lang": "de"}, "lang must be one of"),
    ({**CASES[1], "split": "dev"}, "split must be one of"),
    ({**CASES[1], "id": "t1"}, "duplicate id"),
    ({**CASES[1], "answers": []}, "answerable but no answers"),
    ({**CASES[4], "answers": CASES[1]["answers"]}, "unanswerable but has answers"),
    ({**CASES[1], "answers": [{"doc": "inconnu", "quote": "x"}]}, "unknown document 'inconnu'"),
    ({**CASES[1], "answers": [{"doc": "budget-defense"}]}, "missing field 'quote'"),
    ({**CASES[1], "answers": [{"doc": "budget-defense", "quote": "2 milliards d'euros"}]}, "quote not found"),
    ({**CASES[1], "kind": "unanswerable_on_topic"}, "answerable is true"),
    ({**CASES[1], "kind": "multi_doc"}, "at least 2 documents"),
    ({**CASES[1], "answer": [{"doc": "budget-defense", "quote": "3 milliards"}]}, "answer span 1: quote not found"),
    ({**CASES[1], "answer": {"doc": "budget-defense"}}, "field 'answer' must be a list"),
    ({**CASES[4], "answer": [{"doc": "budget-defense", "quote": "1,5 milliard"}]},
     "unanswerable but has an answer span"),
    ({**CASES[1], "type": "montant"}, "type must be one of"),
])
def test_loader_rejects_bad_lines_naming_the_line(tmp_path, documents, bad, problem):
    path = _write_testset(tmp_path / "t.jsonl", [CASES[0], bad, CASES[2]])
    with pytest.raises(TestSetError) as err:
        load_testset(path, documents)
    assert err.value.line == 2
    assert problem in str(err.value) and "line 2" in str(err.value)


def test_loader_keeps_answer_spans_and_type(tmp_path, documents):
    span = {"doc": "budget-defense", "quote": "1,5 milliard d'euros"}
    case = {**CASES[1], "answer": [span], "type": "number", "note": "x"}
    got = load_testset(_write_testset(tmp_path / "t.jsonl", [case, CASES[0]]), documents)
    assert [(a.doc, a.quote) for a in got[0].spans] == [(span["doc"], span["quote"])]
    assert got[0].type == "number" and got[0].extra == {"note": "x"} and got[0].line == 1
    assert got[1].spans == () and got[1].type == ""


def test_loader_rejects_empty_and_missing_files(tmp_path, documents):
    (tmp_path / "empty.jsonl").write_text("\n\n", encoding="utf-8")
    with pytest.raises(TestSetError, match="empty"):
        load_testset(tmp_path / "empty.jsonl", documents)
    with pytest.raises(TestSetError, match="not found"):
        load_testset(tmp_path / "nope.jsonl", documents)


def test_quote_with_normalised_markup_is_accepted(tmp_path, documents):
    case = {**CASES[1], "answers": [{"doc": "resolution-onu", "quote": "Prie le Secrétaire général"}]}
    assert load_testset(_write_testset(tmp_path / "t.jsonl", [case]), documents)[0].answers[0].doc == "resolution-onu"


def test_project_testset_is_valid():
    from rag.corpus.documents import load_corpus

    docs = {d.doc_id: d.text for d in load_corpus(ROOT / "corpus")}
    cases = load_testset(ROOT / "eval" / "testset.jsonl", docs)
    assert len(cases) >= 200
    assert {c.split for c in cases} == {"tune", "heldout"}
    assert all(c.kind.startswith("unanswerable") != c.answerable for c in cases)
    multi_doc = [c for c in cases if c.kind == "multi_doc"]
    assert multi_doc and all(len({a.doc for a in c.answers}) >= 2 for c in multi_doc)
    # Our own quotes are verbatim, character for character (the loader itself also accepts normalised markup).
    missing = [(c.id, a.quote[:40]) for c in cases for a in (*c.answers, *c.spans) if a.quote not in docs[a.doc]]
    assert not missing
    # Every answerable case says what type of answer it asks for; most have hand-written shortest spans.
    answerable = [c for c in cases if c.answerable]
    assert answerable and all(c.type for c in answerable)
    assert not any(c.type or c.spans for c in cases if not c.answerable)
    assert sum(bool(c.spans) for c in cases) >= 0.95 * sum(c.answerable for c in cases)


# ------------------------------------------------------------------ end to end
def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update(RAG_CORPUS_DIR=str(_write_corpus(tmp_path / "corpus")), RAG_INDEX_DIR=str(tmp_path / "index"),
               RAG_EMBEDDER="bundled", HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore")
    return env


def _run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eval", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=240)  # within the test's own timeout (300 s); it takes under a minute


def test_cli_bad_testset_exits_2_before_computing(tmp_path):
    env = _env(tmp_path)
    path = _write_testset(tmp_path / "t.jsonl", [CASES[0], {**CASES[1], "answers": [{"doc": "nope", "quote": "x"}]}])
    proc = _run(["--testset", str(path), "--out", str(tmp_path / "out")], env)
    assert proc.returncode == 2
    assert "line 2" in proc.stderr and "unknown document 'nope'" in proc.stderr
    assert not (tmp_path / "index").exists() and not (tmp_path / "out").exists()


def test_cli_end_to_end_on_tiny_corpus(tmp_path):
    env = _env(tmp_path)
    path = _write_testset(tmp_path / "t.jsonl", CASES)
    out = tmp_path / "out"
    proc = _run(["--testset", str(path), "--out", str(out), "--cache", str(tmp_path / "cache"), "--split", "all"], env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("metrics.json", "report.md", "retrieval.png", "summary.md", "failures.jsonl"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"keyword", "dense", "hybrid", "baseline", "hybrid, no glossary"}
    for mode in ("keyword", "dense", "hybrid"):
        assert 0 <= metrics[mode]["recall@5"] <= 1 and "unanswerable_abstained" in metrics[mode]
    assert metrics["hybrid"]["recall@10"] >= 0.75  # the tiny set is easy
    assert "| hybrid |" in proc.stdout
    assert (out / "retrieval.png").read_bytes()[:4] == b"\x89PNG"
    for name in ("details.json", "report.md"):  # no machine's paths in committed results
        text = (out / name).read_text(encoding="utf-8")
        assert str(ROOT) not in text and str(Path.home()) not in text and str(tmp_path) not in text, name
    # The baseline's vectors are cached: a second run embeds nothing new.
    assert list((tmp_path / "cache").glob("baseline-*.npy"))


def test_the_load_checks_http_client_counts_each_answer_and_each_refusal(app_url):
    """``python -m eval.load_app``'s default client speaks Gradio's HTTP API: an answered question is timed, a
    refused one (empty, 422 before queueing) is counted as an error, not dropped."""
    import asyncio

    from eval import load_app

    ((latencies, errors),) = asyncio.run(load_app._http_clients(
        app_url, [["Que signifie un contrôle humain significatif ?", "", "Qui finance le programme ?"]], 3))
    assert len(latencies) == 2 and all(0 < t < 60 for t in latencies)
    assert len(errors) == 1 and "HTTPStatusError" in errors[0] and "422" in errors[0]
