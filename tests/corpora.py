"""The corpora of the tests: the tiny one with the debris of the real corpus (``TINY``), the app's French one
(``APP_DOCS``, with markup that must never run), a visitor's own note (``MINE``, uploaded), and ``write_corpus`` to
put one in a folder.

Plain data and helpers, imported by name (``from corpora import TINY, write_corpus``); the fixtures built on them
are in conftest.py.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository: its corpus/ is the real corpus

TINY = {
    "rapport-drones.md": """

# Rapport sur les drones autonomes

## Contexte

Les drones armés autonomes posent la question du contrôle humain<sup>1</sup>. Un contrôle humain significatif
suppose que l'opérateur comprenne le système et puisse interrompre une attaque à tout moment.

---

1. Voir la note du Comité international de la Croix-Rouge, 2021.

2. Ibid.

La Convention sur certaines armes classiques (CCAC) examine la question des SALA depuis
2014, sans être parvenue à un traité.

## Recommandations

Le rapport recommande un moratoire sur les <b>systèmes d'armes létaux autonomes</b> et la création d'un registre
international des essais. Les États devraient publier leurs doctrines d'emploi.

Scroll to Top
""",
    "resolution-test.md": """# Résolution 12/345

*L'Assemblée,*

1. *Prie* le Secrétaire général de présenter un rapport (A/12/678) sur l'intelligence artificielle militaire ;

2. *Décide* d'inscrire la question à l'ordre du jour de sa prochaine session.
""",
    "note-budget.txt": """Note sur le budget de la défense

Le budget consacré à l'intelligence artificielle de défense atteindra 1,5 milliard d'euros en 2030,
selon la loi de programmation militaire. La moitié financera la recherche sur le traitement des données.
""",
}

TINY_METADATA = """
["rapport-drones"]
title = "Rapport sur les drones autonomes"
body = "Commission d'essai"
date = "2024"
"""


def write_corpus(folder: Path, files: dict[str, str] = TINY, metadata: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    if metadata is not None:
        (folder / "metadata.toml").write_text(metadata, encoding="utf-8")
    return folder


# The app's corpus: three French notes with metadata; the technical one holds markup that must stay text.
XSS_IMG = "<img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>alert(2)</script>"

APP_DOCS = {
    "controle-humain": """# Le contrôle humain des systèmes d'armes

## Définition

Un contrôle humain significatif signifie qu'un opérateur humain comprend le système, peut anticiper ses effets et garde la décision finale sur l'emploi de la force.

Les États estiment que la responsabilité juridique ne peut jamais être transférée à une machine.

## Mise en œuvre

Les armées doivent former leurs opérateurs et documenter chaque décision de ciblage afin de rendre des comptes.
""",  # noqa: E501 (a paragraph on one line, as written: wrapping it would change the document)
    "resolution-onu": """# Résolution de l'Assemblée générale sur l'intelligence artificielle militaire

## Préambule

L'Assemblée générale des Nations Unies a adopté le 24 décembre 2024 une résolution sur l'intelligence artificielle dans le domaine militaire.

## Dispositif

Elle prie le Secrétaire général de recueillir les vues des États membres et de lui présenter un rapport lors de sa quatre-vingtième session.

Elle encourage les États à échanger leurs bonnes pratiques sur la gouvernance de ces technologies.
""",  # noqa: E501 (as above)
    "note-technique": f"""# Note technique sur la sécurité des interfaces

## Balises dangereuses

Une page web ne doit jamais exécuter le texte {XSS_IMG} fourni par un document.

Le fragment {XSS_SCRIPT} doit lui aussi rester affiché comme du simple texte dans l'interface.

## Recommandations

Les développeurs échappent tout contenu venant du corpus avant de l'afficher.
""",
}

APP_METADATA = """
["controle-humain"]
title = "Le contrôle humain des systèmes d'armes"
body = "Institut fictif d'études stratégiques"
kind = "Note"
date = "janvier 2025"

["resolution-onu"]
title = "Résolution fictive de l'Assemblée générale"
body = "Assemblée générale (document de test)"
kind = "Résolution"
date = "24 décembre 2024"
status = "simulation"

["note-technique"]
title = "Note technique <b>sécurité</b> des interfaces"
body = "Équipe de test <script>alert(3)</script>"
kind = "Note technique"
date = "2025"
"""


# A visitor's own document, uploaded in the tests of « Mes documents »: nothing of it is in any corpus.
MINE_ANSWER = "Le projet Héliotrope de drones sous-marins est financé à hauteur de 42 millions d'euros par la marine."
MINE = f"""# Le projet Héliotrope

## Financement

{MINE_ANSWER}

## Calendrier

Sa livraison à la marine est prévue en 2031, après deux années d'essais en mer.
"""
