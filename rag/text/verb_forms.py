"""The past participles that stemming cannot tie to their verb: « soumis » to « soumettre », « tenu » to « tenir ».

A question asks with the verb's lemma (« Qui a soumis… » → « soumettre ») and a document often states with its
participle (« Soumis par : les États-Unis », « tenue à La Haye »): Snowball French stems them apart (« soumettr » /
« soum »). :func:`with_participle` gives a verb its participle as well, so that both forms count as saying it.
"""

from __future__ import annotations

# Irregular verbs of institutional French (and their usual compounds), infinitive → past participle.
_PARTICIPLES = {
    "mettre": "mis", "soumettre": "soumis", "permettre": "permis", "promettre": "promis", "admettre": "admis",
    "transmettre": "transmis", "commettre": "commis", "émettre": "émis", "remettre": "remis",
    "prendre": "pris", "comprendre": "compris", "entreprendre": "entrepris", "reprendre": "repris",
    "apprendre": "appris", "surprendre": "surpris",
    "tenir": "tenu", "maintenir": "maintenu", "obtenir": "obtenu", "soutenir": "soutenu", "contenir": "contenu",
    "retenir": "retenu", "détenir": "détenu", "appartenir": "appartenu", "abstenir": "abstenu",
    "venir": "venu", "devenir": "devenu", "intervenir": "intervenu", "convenir": "convenu", "parvenir": "parvenu",
    "prévenir": "prévenu", "revenir": "revenu", "survenir": "survenu", "provenir": "provenu",
    "faire": "fait", "dire": "dit", "interdire": "interdit", "prédire": "prédit", "contredire": "contredit",
    "écrire": "écrit", "décrire": "décrit", "inscrire": "inscrit", "prescrire": "prescrit", "souscrire": "souscrit",
    "élire": "élu", "réélire": "réélu", "lire": "lu", "voir": "vu", "prévoir": "prévu", "revoir": "revu",
    "recevoir": "reçu", "concevoir": "conçu", "percevoir": "perçu",
    "conduire": "conduit", "produire": "produit", "construire": "construit", "détruire": "détruit",
    "réduire": "réduit", "traduire": "traduit", "introduire": "introduit", "instruire": "instruit",
    "ouvrir": "ouvert", "couvrir": "couvert", "découvrir": "découvert", "offrir": "offert",
    "reconnaître": "reconnu", "connaître": "connu", "paraître": "paru", "naître": "né",
    "joindre": "joint", "rejoindre": "rejoint", "atteindre": "atteint", "craindre": "craint",
    "résoudre": "résolu", "vivre": "vécu", "mourir": "mort", "courir": "couru", "recourir": "recouru",
    "acquérir": "acquis", "conquérir": "conquis", "asseoir": "assis", "vouloir": "voulu", "valoir": "valu",
}


def participle(lemma: str) -> str:
    """The irregular past participle of a French verb's lemma, or empty."""
    return _PARTICIPLES.get(lemma.lower(), "")


def with_participle(term: str) -> str:
    """A question's term followed by its irregular participle when it is such a verb (« soumettre » →
    « soumettre soumis »); the term alone otherwise."""
    form = participle(term)
    return f"{term} {form}" if form else term
