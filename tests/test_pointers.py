"""Lines that only point elsewhere (rag.text.pointers): a contact, a bibliographic reference. The answer model
weighs them as signals (a reference's title may be the corpus's only words on a fact, so it is not vetoed); on the
real corpus the sentence that answers comes before a note citing a work whose title shares its words."""

from __future__ import annotations

import pytest

from rag.text.pointers import is_contact, is_reference


def test_contact_lines():
    for line in ("E-mail : accueil@ifri.org", "Site internet : ifri.org",
                 "27 rue de la Procession 75740 Paris Cedex 15", "Tél. : +33 (0)1 40 61 60 00", "https://www.ifri.org"):
        assert is_contact(line), line
    assert not is_contact("La réunion de deux jours, tenue du 4 au 5 février à PALEXCO, a adopté la déclaration.")
    assert not is_contact("L'Ifri est une fondation reconnue d'utilité publique.")


@pytest.mark.parametrize("line", [
    "12. A. Martin, « Les drones et le droit de la guerre », Revue de défense, vol. 4, n° 2, 2021.",
    "7. J.-P. de Lattre et K. Ono, « Autonomy in Weapon Systems: A Primer », Arms Review, 3 mars 2023.",
    "58. B. Durand, « Les drones et le droit de la guerre », op. cit.",
    "9. « Drones Over the Front Line », The Daily Courier, 14 juin 2022, disponible sur : www.courier.example.",
    "Lire T. Nguyen, « Robots, Rules and Responsibility », Policy Quarterly, 2019.",
    "Voir « Rapport annuel sur les technologies émergentes », Ministère des Armées, mai 2024.",
    "31. R. Keller, « Who Controls the Machine?",  # a sentence cut inside its title
    "4. A/CONF.99/1, « Rapport du groupe de travail sur les systèmes autonomes », Genève, 2018.",
    "22. P. Weiss, « Arms Control Revisited », Polity Press, 2015 ; M. Dubois, « La maîtrise des armements », "
    "in L. Petit (dir.), Manuel de sécurité internationale, Paris, Presses universitaires, 2017.",
])
def test_bibliographic_references(line):
    assert is_reference(line)


@pytest.mark.parametrize("line", [
    # someone quoted, a work cited within what a note says, a title within a statement
    "« Nous devons garder la main sur chaque décision de tir », déclarait la ministre en mars 2024.",
    "14. Sur ce débat, lire le chapitre consacré aux drones armés, où l'auteur montre que les États hésitent depuis "
    "2019 à encadrer « l'autonomie » des systèmes d'armes, faute d'accord sur sa définition même.",
    "Le rapport « Vers un contrôle humain » a été publié en 2023 par le comité d'éthique de la défense.",
    "3. Les « robots tueurs » sont des systèmes qui choisissent et frappent leurs cibles sans intervention humaine.",
    "Ainsi, en mai 2023, le « père de l'IA » quittait son poste.",
    "La réunion de deux jours, tenue du 4 au 5 février à PALEXCO, a adopté la déclaration.",
])
def test_statements_are_not_references(line):
    assert not is_reference(line)


def test_the_sentence_that_says_why_is_quoted_before_the_note_citing_an_article_of_the_same_words(real_retriever):
    # note 51 cites « En raison de l'influence de TikTok, les juges roumains annulent la présidentielle »; the text
    # says why, and that is the answer
    answer = real_retriever.answer("Pourquoi les juges roumains ont-ils annulé la présidentielle ?")
    assert answer.status == "answered", answer.message
    first = answer.sentences[0].text
    assert not is_reference(first) and "TikTok" in first and "roumaine" in first, first
