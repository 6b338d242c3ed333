"""The « À propos » tab's text, French and English (fixed HTML written here, filled with escaped figures by
``ui.about.render_about``), and the French of the evaluation summary's English rows (``eval/results/summary.md``)."""

from __future__ import annotations

_HOW = {
    "fr": """<h2>Comment ça marche</h2>
<ul>
<li><strong>Aucune génération.</strong> Les réponses sont des phrases citées telles quelles depuis les {documents}
documents du corpus (textes officiels, études, presse) ; l'interface n'ajoute que des libellés fixes.</li>
<li><strong>Recherche hybride.</strong> Chaque passage (≈ 160 jetons) est classé par similarité sémantique (plongements
multilingues : une question en anglais trouve du texte français), par mots-clés (BM25) et par la similarité de sa
meilleure phrase ; les trois classements sont fusionnés (fusion des rangs réciproques).</li>
<li><strong>Lecture de la question.</strong> Langue, type de réponse attendu (personne, organisation, lieu, date,
nombre, définition, raison…) et termes sur lesquels porte la question.</li>
<li><strong>Réponse extraite.</strong> Une phrase des meilleurs passages n'est citée que si un modèle calibré sur des
questions d'essai lui donne une probabilité de répondre d'au moins {threshold}. Il pèse ses indices : proximité
avec la question, termes de la question qu'elle reprend, et la présence d'une expression du type attendu (une date pour
« quand », un nombre pour « combien », un nom pour « qui », un lieu pour « où »), qui compte sans être exigée. Une
phrase qui renvoie à la précédente (« Ceux-ci désignent… ») est citée avec elle. La confiance affichée (élevée,
moyenne, faible) dit combien de fois sur 10 les réponses ainsi étiquetées étaient justes sur nos questions de test.
Chaque phrase est reliée à son passage et à ses positions exactes dans le fichier source.</li>
<li><strong>Trois issues.</strong> Une réponse citée ; ou « le corpus en parle, mais ne répond pas à cette question »,
avec les passages sur le sujet repliés ; ou « le corpus ne traite pas de cette question » (aussi pour une demande
qui donne des consignes à l'assistant, ou une question ni en français ni en anglais).</li>
</ul>""",
    "en": """<h2>How it works</h2>
<ul>
<li><strong>Nothing generated.</strong> The answers are sentences quoted as they are from the {documents} documents
of the corpus (official texts, studies, press); the interface adds only fixed labels.</li>
<li><strong>Hybrid search.</strong> Each passage (≈ 160 tokens) is ranked by semantic similarity (multilingual
embeddings: a question in English finds French text), by keywords (BM25) and by the similarity of its best sentence;
the three rankings are fused (reciprocal rank fusion).</li>
<li><strong>Reading the question.</strong> Its language, the type of answer expected (person, organisation, place,
date, number, definition, reason…) and the terms the question is about.</li>
<li><strong>Extracted answer.</strong> A sentence of the best passages is quoted only if a model calibrated on test
questions gives it a probability of answering of at least {threshold}. It weighs its clues: closeness to the
question, the question's terms it uses, and an expression of the expected type (a date for “when”, a number for
“how many”, a name for “who”, a place for “where”), which counts without being required. A sentence pointing back to
the one before (“These refer to…”) is quoted with it. The confidence shown (high, medium, low) says how many times
out of 10 the answers so labelled were right on our test questions. Each sentence is linked to its passage and to
its exact positions in the source file.</li>
<li><strong>Three outcomes.</strong> A quoted answer; or “the corpus talks about it, but does not answer this
question”, with the passages on the topic folded; or “the corpus does not deal with this question” (also for a
request giving the assistant instructions, or a question neither in French nor in English).</li>
</ul>""",
}

ABOUT = {
    "about_how": _HOW,
    "about_index": {"fr": "Index", "en": "Index"},
    "about_embedder": {"fr": "Modèle de plongements", "en": "Embedding model"},
    "about_vectors": {"fr": "Index vectoriel", "en": "Vector index"},
    "about_built": {"fr": "Construit le", "en": "Built on"},
    "about_counts": {"fr": "Documents · passages · phrases", "en": "Documents · passages · sentences"},
    "about_size": {"fr": "Taille sur disque", "en": "Size on disk"},
}

# The evaluation summary is written in English by ``python -m eval``; a French page shows it in French, line by
# line: each known English phrase replaced by its French (a phrase not listed here stays English).
SUMMARY_FR = {
    "### Answer step (held-out split)": "### Étape de réponse (moitié réservée)",
    "### Retrieval evaluation (held-out split)": "### Évaluation de la recherche (moitié réservée)",
    "| measure | value |": "| mesure | valeur |",
    "a returned passage holds the answer (answerable; the ceiling of the two below)":
        "un passage renvoyé contient la réponse (questions qui en ont une ; le plafond des deux suivantes)",
    "first quoted sentence holds the answer (answerable)":
        "la première phrase citée contient la réponse (questions qui en ont une)",
    "some quoted sentence holds the answer (answerable)":
        "une des phrases citées contient la réponse (questions qui en ont une)",
    "answerable questions wrongly declined": "questions qui ont une réponse, déclinées à tort",
    "on-topic unanswerable questions declined (related or off_topic)":
        "questions du domaine sans réponse, déclinées (related ou off_topic)",
    "off-topic questions given off_topic": "questions hors sujet classées off_topic",
    "first quoted sentence right, among answered answerable questions":
        "première phrase citée juste, parmi les questions qui ont une réponse et en reçoivent une",
    "expected calibration error of the answer probability (10 bins)":
        "erreur de calibration attendue de la probabilité de réponse (10 classes)",
    "answers labelled « élevée »: first sentence right (n)":
        "réponses étiquetées « élevée » : première phrase juste (n)",
    "answers labelled « moyenne »: first sentence right (n)":
        "réponses étiquetées « moyenne » : première phrase juste (n)",
    "answers labelled « faible »: first sentence right (n)":
        "réponses étiquetées « faible » : première phrase juste (n)",
    "median answer time, ms (analysis, retrieval, extraction)":
        "temps de réponse médian, ms (analyse, recherche, extraction)",
    "question analyser (spaCy) loaded in a fresh process, s":
        "analyseur de questions (spaCy) chargé dans un nouveau processus, s",
    "| questions | cases | answered | related | off_topic |": "| questions | cas | répondues | related | off_topic |",
    "| answerable |": "| avec réponse |",
    "| unanswerable_on_topic |": "| sans réponse, dans le domaine |",
    "| unanswerable_off_topic |": "| sans réponse, hors sujet |",
    "| unans. abstained | ans. wrongly abstained |": "| sans réponse, déclinées | avec réponse, déclinées à tort |",
    "| keyword |": "| mots-clés |",
    "| dense |": "| sémantique |",
    "| hybrid |": "| hybride |",
    "| baseline |": "| référence naïve |",
    "| hybrid, no glossary |": "| hybride, sans glossaire |",
}

# Its paragraphs, whole (their lines joined by one space).
SUMMARY_FR_PARAGRAPHS = {
    "The answer step (hybrid, 5 passages). A quoted sentence is right when it holds a gold answer span of the case "
    "(the shortest verbatim span that answers it, written by hand from the documents). A question is declined when its "
    "outcome is `related` or `off_topic`; answer probabilities are calibrated on the tune half.":
        "L'étape de réponse (hybride, 5 passages). Une phrase citée est juste quand elle contient un extrait de "
        "référence du cas (l'extrait mot pour mot le plus court qui y répond, écrit à la main depuis les documents). "
        "Une question est déclinée quand son issue est `related` ou `off_topic` ; les probabilités de réponse sont "
        "calibrées sur la moitié de réglage.",
    "Definitions. A passage is relevant when it comes from the gold document and contains the gold quote (after "
    "normalising whitespace, apostrophes and markup; a long quote cut by a chunk boundary counts when half of it is "
    "there). R@k: share of answerable questions with a relevant passage in the top k (ranx `hit_rate@k`); MRR@10 and "
    "nDCG@10 from ranx over all relevant chunks of the index. Abstention columns use every question of the split (the "
    "baseline has no abstention).":
        "Définitions. Un passage est pertinent quand il vient du document de référence et contient la citation de "
        "référence (espaces, apostrophes et balisage normalisés ; une longue citation coupée par une limite de passage "
        "compte quand la moitié y est). R@k : part des questions qui ont une réponse avec un passage pertinent parmi "
        "les k premiers (`hit_rate@k` de ranx) ; MRR@10 et nDCG@10 par ranx sur tous les passages pertinents de "
        "l'index. Les colonnes des refus portent sur toutes les questions de la moitié (la référence naïve ne refuse "
        "jamais).",
    "Reproduce with `python -m eval` (see `eval/README.md`).":
        "Pour reproduire : `python -m eval` (voir `eval/README.md`).",
}

# The English summary names the labels as the French page shows them: an English page names them in English.
SUMMARY_EN = {"« élevée »": "“high”", "« moyenne »": "“medium”", "« faible »": "“low”"}
