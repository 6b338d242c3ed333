"""English to French vocabulary of AI and arms-control governance, for keyword search.

The corpus is French; many users ask in English. Dense search is multilingual,
but BM25 only matches words, so an English question is given the French terms
of the domain vocabulary it contains before keyword search. Longest phrases
are matched first. The list is general vocabulary of the field, not tuned to
any question.
"""

from __future__ import annotations

import re
import unicodedata

GLOSSARY: dict[str, str] = {
    "lethal autonomous weapons systems": "systèmes d'armes létaux autonomes SALA",
    "lethal autonomous weapon systems": "systèmes d'armes létaux autonomes SALA",
    "lethal autonomous weapons": "armes létales autonomes SALA",
    "autonomous weapons": "armes autonomes",
    "autonomous weapon": "arme autonome",
    "weapon systems": "systèmes d'armes",
    "weapons": "armes", "weapon": "arme",
    "meaningful human control": "contrôle humain significatif",
    "human control": "contrôle humain", "human judgment": "jugement humain", "human judgement": "jugement humain",
    "artificial general intelligence": "intelligence générale artificielle IGA",
    "artificial intelligence": "intelligence artificielle IA",
    "large language models": "grands modèles de langage LLM", "language models": "modèles de langage",
    "general assembly": "Assemblée générale", "security council": "Conseil de sécurité",
    "secretary-general": "Secrétaire général", "secretary general": "Secrétaire général",
    "united nations": "Nations unies ONU", "first committee": "Première Commission",
    "member states": "États membres", "states": "États", "state": "État", "countries": "pays", "country": "pays",
    "international humanitarian law": "droit international humanitaire DIH",
    "international law": "droit international", "human rights": "droits humains droits de l'homme",
    "arms race": "course aux armements course à l'armement", "arms control": "maîtrise des armements contrôle des armements",
    "disarmament": "désarmement", "non-proliferation": "non-prolifération", "proliferation": "prolifération",
    "nuclear": "nucléaire", "chemical": "chimiques", "cyberattacks": "cyberattaques", "cybersecurity": "cybersécurité",
    "governance": "gouvernance", "regulation": "régulation réglementation", "regulate": "réguler réglementer",
    "framework": "cadre", "treaty": "traité", "convention": "convention", "declaration": "déclaration",
    "resolution": "résolution", "draft": "projet", "report": "rapport", "summit": "sommet", "agenda": "ordre du jour",
    "recommendations": "recommandations", "principles": "principes", "guidelines": "lignes directrices",
    "binding": "contraignant contraignante", "non-binding": "non contraignantes", "voluntary": "volontaire volontaires",
    "sovereignty": "souveraineté", "sovereign": "souverain", "accountability": "responsabilité",
    "responsibility": "responsabilité", "responsible": "responsable", "transparency": "transparence",
    "trustworthy": "dignes de confiance", "safety": "sûreté sécurité", "security": "sécurité", "risks": "risques",
    "risk": "risque", "bias": "biais", "civilians": "civils", "civilian": "civil", "military": "militaire militaires",
    "defence": "défense", "defense": "défense", "army": "armée", "armed forces": "forces armées", "war": "guerre",
    "conflict": "conflit", "conflicts": "conflits", "escalation": "escalade", "deterrence": "dissuasion",
    "developing countries": "pays en développement", "capacity building": "renforcement des capacités",
    "cooperation": "coopération", "innovation": "innovation", "parliamentarians": "parlementaires",
    "parliament": "parlement", "webinar": "webinaire", "session": "session", "training": "formation",
    "testing": "tests essais", "deployment": "déploiement", "lifecycle": "cycle de vie", "life cycle": "cycle de vie",
    "targeting": "ciblage cibles", "targets": "cibles", "surveillance": "surveillance", "privacy": "vie privée",
    "data": "données", "disinformation": "désinformation", "deepfakes": "deepfakes hypertrucages",
    "environment": "environnement", "energy": "énergie", "jobs": "emplois", "employment": "emploi",
    "copyright": "droits d'auteur", "intellectual property": "propriété intellectuelle",
    "open source": "open source", "big tech": "Big Tech", "china": "Chine", "chinese": "chinois Chine",
    "united states": "États-Unis", "american": "américain États-Unis", "europe": "Europe", "european union": "Union européenne",
    "european": "européen", "france": "France", "french": "français France", "morocco": "Maroc",
    "standards": "normes standards", "standard": "norme", "oversight": "contrôle surveillance",
    "ethics": "éthique", "ethical": "éthique", "legal": "juridique", "adopted": "adoptée adopté",
    "vote": "vote votes", "unanimously": "unanimité", "endorsed": "approuvée soutenue", "signed": "signé",
    # operative verbs of UN resolutions
    "decide": "décide", "decides": "décide", "decided": "décide décidé", "decision": "décision",
    "request": "prie demande", "requests": "prie demande", "requested": "prie demandé", "ask": "demande prie",
    "asks": "demande prie", "asked": "demandé prie", "calls upon": "demande", "call upon": "demande",
    "encourage": "encourage", "encourages": "encourage", "encouraged": "encourage",
    "affirm": "affirme", "affirms": "affirme", "affirmed": "affirme", "welcome": "salue se félicite",
    "welcomes": "salue se félicite", "recognize": "reconnaît reconnaissant", "recognizes": "reconnaît",
    "urge": "exhorte demande", "urges": "exhorte demande",
    "study": "étude", "studies": "études", "published": "publié publiée publication", "publication": "publication",
    "author": "auteur autrice", "wrote": "écrit rédigé auteur", "written": "écrit rédigé auteur",
    "write": "écrire rédiger auteur", "chaired": "présidé présidence", "chair": "président présidence",
    "hosted": "accueilli hôte", "host": "hôte accueillir", "held": "tenu tenue", "meeting": "réunion",
    "recommendation": "recommandation", "measures": "mesures", "member": "membre", "members": "membres",
    "experts": "experts", "expert": "expert", "panel": "groupe", "agency": "agence", "body": "organe",
    # what questions ask about: roles, acts and counts
    "president": "président présidente présidence", "minister": "ministre", "head": "chef directeur",
    "founder": "fondateur créé", "founded": "fondé créé", "created": "créé créée création", "set up": "créé établi",
    "launched": "lancé lancée lancement", "opened": "ouvert ouverte ouverture", "speakers": "intervenants orateurs",
    "speaker": "intervenant orateur", "organisers": "organisateurs", "organizers": "organisateurs",
    "entry into force": "entrée en vigueur", "enter into force": "entrée en vigueur", "ratified": "ratifié ratification",
    "signatories": "signataires", "co-sponsored": "coauteurs parrainé", "sponsors": "coauteurs auteurs",
    "abstained": "abstention abstenus", "abstentions": "abstentions", "votes": "voix votes", "in favour": "pour",
    "against": "contre", "budget": "budget", "funding": "financement", "amount": "montant", "cost": "coût",
    "users": "utilisateurs", "companies": "entreprises sociétés", "company": "entreprise société",
    "ban": "interdiction interdire", "banned": "interdit interdiction", "pages": "pages", "elections": "élections",
    "election": "élection", "next": "prochain prochaine", "submitted": "présenté soumis", "proposed": "proposé proposée",
}

_PATTERN = re.compile(r"\b(" + "|".join(re.escape(k) for k in sorted(GLOSSARY, key=len, reverse=True)) + r")\b",
                      re.IGNORECASE)


def french_groups(question: str) -> list[str]:
    """The French equivalents of each glossary phrase an English question contains, one string a phrase
    (« chaired » gives « présidé présidence »)."""
    return [GLOSSARY[m.group(1).lower()] for m in _PATTERN.finditer(question)]


def french_terms(question: str) -> str:
    """French terms for the domain vocabulary an English question contains (may be empty)."""
    return " ".join(french_groups(question))


_WORD = re.compile(r"[^\W_]+(?:[/.\-'’][^\W_]+)*")
_NAME = re.compile(r"^(?:[A-Z][A-Za-z\-]*[A-Z][A-Za-z\-]*|\d[\d/.,\-]*|[A-Z]/[\w/.\-]+)$")  # REAIM, NATO, 2026, A/79/408
_ASKING = frozenset("what which who whom whose when where why how does do did is are was were mean means meant "
                    "define according text texts document documents say says said tell the a an of and or to in on "
                    "at for by from with about as into than then this that these those it its their there they "
                    "them he she his her be been being has have had can could would will should shall may might "
                    "must not no any some all each other such many much".split())


def coverage(question: str) -> float:
    """Share of an English question's content words that keyword search can match in French text:
    words inside a glossary phrase, and acronyms, numbers and symbols (0 when it has none).

    It tells how far the keyword side of hybrid search can be trusted for that question: the
    other English words only meet French text by accident.
    """
    spans = [m.span() for m in _PATTERN.finditer(question)]
    n = covered = 0
    for m in _WORD.finditer(question):
        word = m.group(0)
        folded = "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))
        if folded in _ASKING:
            continue
        n += 1
        inside = any(a <= m.start() < b for a, b in spans)
        if inside or _NAME.match(word):
            covered += 1
    return covered / n if n else 0.0
