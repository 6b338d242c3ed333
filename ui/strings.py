"""Every interface string of the app, French and English, under a key (read through ``ui.i18n.text``).

``{name}`` fields are filled by ``text(key, lang, name=...)``. The corpus's own words never appear here.
"""

from __future__ import annotations

_PAGE = {
    # the header, the tabs, the controls
    "page_title": {"fr": "IA militaire : corpus de gouvernance — questions-réponses citées",
                   "en": "Military AI: a governance corpus — cited questions and answers"},
    "skip_link": {"fr": "Aller au résultat", "en": "Skip to the result"},
    "heading": {"fr": "Gouvernance de l'IA militaire — questions-réponses citées",
                "en": "Governance of military AI — cited questions and answers"},
    "intro": {"fr": "Réponses extraites mot pour mot des {n} documents du corpus, chaque phrase reliée à sa source. "
                    "Questions en français ou en anglais.",
              "en": "Answers quoted word for word from the {n} documents of the corpus, each sentence linked to its "
                    "source. Ask in French or in English."},
    "switch_label": {"fr": "Langue de l'interface", "en": "Interface language"},
    "tab_ask": {"fr": "Question", "en": "Question"},
    "tab_corpus": {"fr": "Corpus", "en": "Corpus"},
    "tab_about": {"fr": "À propos", "en": "About"},
    "question_label": {"fr": "Votre question", "en": "Your question"},
    "question_placeholder": {"fr": "Ex. : Que signifie un contrôle humain significatif ?",
                             "en": "E.g. What does meaningful human control mean?"},
    "ask_button": {"fr": "Rechercher", "en": "Search"},
    "options": {"fr": "Options de recherche", "en": "Search options"},
    "k_label": {"fr": "Nombre de passages", "en": "Number of passages"},
    "mode_label": {"fr": "Mode de recherche", "en": "Search mode"},
    "mode_hybrid": {"fr": "Hybride : sens + mots-clés (recommandé)", "en": "Hybrid: meaning + keywords (recommended)"},
    "mode_dense": {"fr": "Sémantique seule (plongements)", "en": "Meaning only (embeddings)"},
    "mode_keyword": {"fr": "Mots-clés seuls (BM25)", "en": "Keywords only (BM25)"},
    "docs_label": {"fr": "Documents interrogés", "en": "Documents searched"},
    "examples_label": {"fr": "Exemples (cliquer pour poser la question)", "en": "Examples (click to ask)"},
    "my_docs_title": {"fr": "Mes documents (privés à cette session)", "en": "My documents (private to this session)"},
    "upload_label": {"fr": "Ajouter des documents ({kinds})", "en": "Add documents ({kinds})"},
    "clear_docs": {"fr": "Effacer mes documents", "en": "Clear my documents"},
    "reader_notes": {"fr": "Notes", "en": "Notes"},
    "reader_label": {"fr": "Lire un document (texte nettoyé)", "en": "Read a document (cleaned text)"},
    "evaluation": {"fr": "Évaluation", "en": "Evaluation"},
    "no_eval": {"fr": "Les résultats d'évaluation ne sont pas encore disponibles (eval/results/summary.md absent).",
                "en": "The evaluation results are not available yet (eval/results/summary.md is missing)."},
    # the page's script (copy, live region)
    "copied": {"fr": "✓ Référence copiée", "en": "✓ Reference copied"},
    "copy_failed": {"fr": "Copie impossible : voir « Référence à copier »",
                    "en": "Could not copy: see “Reference to copy”"},
    "live_answer": {"fr": "Réponse trouvée dans le corpus.", "en": "Answer found in the corpus."},
    "live_related": {"fr": "Pas de réponse : le corpus en parle sans répondre.",
                     "en": "No answer: the corpus talks about it without answering."},
    "live_off_topic": {"fr": "Pas de réponse : le corpus ne traite pas de cette question.",
                       "en": "No answer: the corpus does not deal with this question."},
}

_RESULT = {
    # the answer, the declines, the passage cards
    "asked": {"fr": "Question :", "en": "Question:"},
    "no_passage": {"fr": "Aucun passage du corpus ne correspond à cette question (ni par le sens, ni par les mots).",
                   "en": "No passage of the corpus matches this question (neither by meaning nor by words)."},
    "related_head": {"fr": "Le corpus en parle, mais ne répond pas à cette question.",
                     "en": "The corpus talks about it, but does not answer this question."},
    "related_fold": {"fr": "Voir les {n} passages sur ce sujet (aucune de leurs phrases ne répond clairement)",
                     "en": "See the {n} passages on this topic (none of their sentences clearly answers)"},
    "off_topic_fold": {"fr": "Voir les {n} passages les moins éloignés (hors sujet, ne constituent pas une réponse)",
                       "en": "See the {n} least distant passages (off topic, not an answer)"},
    "reword": {"fr": "Reformulez la question ou élargissez les documents cherchés.",
               "en": "Reword the question or widen the documents searched."},
    "answer_title": {"fr": "Réponse extraite", "en": "Extracted answer"},
    "confidence": {"fr": "confiance {label}", "en": "{label} confidence"},
    "confidence_title": {"fr": "probabilité calibrée que la première phrase citée réponde : {p}",
                         "en": "calibrated probability that the first quoted sentence answers: {p}"},
    "level_high": {"fr": "élevée", "en": "high"},
    "level_medium": {"fr": "moyenne", "en": "medium"},
    "level_low": {"fr": "faible", "en": "low"},
    "level_note": {"fr": "juste {n} fois sur 10 sur nos questions de test",
                   "en": "right {n} times out of 10 on our test questions"},
    "go_to_passage": {"fr": "Aller au passage {n}", "en": "Go to passage {n}"},
    "answer_note": {"fr": "Phrases citées mot pour mot depuis le corpus ; aucun texte n'est généré. Chaque [n] renvoie "
                          "au passage source.",
                    "en": "Sentences quoted word for word from the corpus; no text is generated. Each [n] points to "
                          "its source passage."},
    "sources": {"fr": "Sources", "en": "Sources"},
    "passages": {"fr": "Passages ({n})", "en": "Passages ({n})"},
    "csl_export": {"fr": "Exporter les références (CSL-JSON)", "en": "Export the references (CSL-JSON)"},
    "csl_title": {"fr": "Pour Zotero, Mendeley et les autres gestionnaires de références",
                  "en": "For Zotero, Mendeley and other reference managers"},
    "download": {"fr": "Télécharger l'original ({kind})", "en": "Download the original ({kind})"},
    "mine": {"fr": "Mon document", "en": "My document"},
    "relevance": {"fr": "pertinence relative {p}\u00a0%", "en": "relative relevance {p}%"},
    "low_confidence": {"fr": "faible confiance", "en": "low confidence"},
    "quoted_in_answer": {"fr": "cité dans la réponse", "en": "quoted in the answer"},
    "same_document": {"fr": "même document que {others}", "en": "same document as {others}"},
    "copy_ref": {"fr": "Copier la référence", "en": "Copy the reference"},
    "copy_short": {"fr": "Copier la référence courte", "en": "Copy the short reference"},
    "read_in_doc": {"fr": "Lire dans le document", "en": "Read in the document"},
    "offsets_title": {"fr": "les caractères de la citation dans le fichier, comme la référence",
                      "en": "the quote's characters in the file, as in the reference"},
    "characters_span": {"fr": "caractères {start}–{end}", "en": "characters {start}–{end}"},
    "ref_box": {"fr": "Référence à copier", "en": "Reference to copy"},
    # what a document is (rag.corpus.documents.STATUSES)
    "status_official": {"fr": "texte officiel", "en": "official text"},
    "status_draft": {"fr": "projet, non adopté", "en": "draft, not adopted"},
    "status_simulation": {"fr": "simulation de l'ONU, texte non officiel", "en": "UN simulation, not an official text"},
    "status_press": {"fr": "article de presse", "en": "press article"},
    "status_study": {"fr": "étude", "en": "study"},
    "status_upload": {"fr": "document envoyé dans cette session", "en": "document uploaded in this session"},
    # the engine's declines (rag.answering.extraction), in the visitor's language
    "off_topic": {"fr": "Le corpus ne traite pas de cette question : aucun passage n'en est assez proche. Les passages "
                        "les moins éloignés sont repliés ci-dessous, à titre indicatif.",
                  "en": "The corpus does not deal with this question: no passage is close enough to it. The least "
                        "distant passages are folded below, for information only."},
    "instruction": {"fr": "Cette demande donne des consignes au lieu de poser une question sur les documents : "
                          "l'assistant ne suit aucune consigne et n'écrit rien lui-même, il cite les documents du "
                          "corpus qui répondent à une question sur leur contenu.",
                    "en": "This request gives instructions instead of asking a question about the documents: the "
                          "assistant follows no instructions and writes nothing itself; it quotes the documents of the "
                          "corpus that answer a question about their content."},
    "other_language": {"fr": "Je réponds aux questions posées en français ou en anglais. "
                             "I answer questions asked in French or English.",
                       "en": "I answer questions asked in English or French."},
    "related_absent": {"fr": "Aucun document ne nomme : {names}.", "en": "No document names {names}."},
    "related_unnamed": {"fr": "Aucun des passages trouvés ne nomme : {names}.",
                        "en": "None of the passages found names {names}."},
    "related_missing": {"fr": "Aucune phrase des passages trouvés ne dit clairement {what}.",
                        "en": "No sentence of the passages found clearly says {what}."},
    "related_searched": {"fr": "Mots cherchés, présents dans le corpus : {words}.",
                         "en": "Words searched, found in the corpus: {words}."},
    "related_try": {"fr": "Essayez d'autres mots, la question en français ou en anglais, ou d'autres documents "
                          "cherchés. Les passages les plus proches sont repliés ci-dessous.",
                    "en": "Try other words, the question in French or in English, or other documents to search. The "
                          "closest passages are folded below."},
    "in_documents": {"fr": "Documents cherchés : {docs}.", "en": "Documents searched: {docs}."},
    "all_documents": {"fr": "tous les documents du corpus", "en": "every document of the corpus"},
    "missing_person": {"fr": "qui", "en": "who"},
    "missing_organisation": {"fr": "quel organisme", "en": "which body"},
    "missing_place": {"fr": "où", "en": "where"},
    "missing_date": {"fr": "quand", "en": "when"},
    "missing_number": {"fr": "combien", "en": "how many or how much"},
    "missing_reason": {"fr": "pourquoi", "en": "why"},
    "missing_definition": {"fr": "ce que cela signifie", "en": "what it means"},
    "missing_list": {"fr": "lesquels", "en": "which ones"},
    "missing_yesno": {"fr": "si c'est le cas", "en": "whether it is so"},
    "missing_other": {"fr": "ce qui est demandé", "en": "what is asked"},
    # the Corpus tab, the reader, « Mes documents »
    "col_document": {"fr": "Document", "en": "Document"},
    "col_body": {"fr": "Émetteur", "en": "Issued by"},
    "col_kind": {"fr": "Nature", "en": "Kind"},
    "col_date": {"fr": "Date", "en": "Date"},
    "col_chars": {"fr": "Caractères", "en": "Characters"},
    "col_chunks": {"fr": "Passages indexés", "en": "Indexed passages"},
    "n_pages": {"fr": "{n} pages", "en": "{n} pages"},
    "reader_where": {"fr": "Passage cité surligné{at} (caractères {start}–{end} du texte nettoyé).",
                     "en": "Quoted passage highlighted{at} (characters {start}–{end} of the cleaned text)."},
    "choose_document": {"fr": "Choisissez un document à lire.", "en": "Choose a document to read."},
    "my_doc_line": {"fr": "{chars} caractères · {chunks} passages", "en": "{chars} characters · {chunks} passages"},
    "uploaded_note": {"fr": "Envoyé dans cette session : {name}", "en": "Uploaded in this session: {name}"},
    "no_my_docs": {"fr": "Aucun document envoyé dans cette session.", "en": "No document uploaded in this session."},
}

# the feedback panel (ui.feedback), « Mes documents » and its uploads (ui.my_documents), « Pourquoi ce passage ? »
# and the follow-up note (ui.why)
_PANELS = {
    "feedback_title": {"fr": "Cette réponse est-elle juste ?", "en": "Is this answer right?"},
    "feedback_right": {"fr": "Juste", "en": "Right"},
    "feedback_wrong": {"fr": "Faux", "en": "Wrong"},
    "feedback_missing": {"fr": "Il manque quelque chose", "en": "Something is missing"},
    "feedback_comment": {"fr": "Commentaire (facultatif, {limit} caractères au plus)",
                         "en": "Comment (optional, at most {limit} characters)"},
    "feedback_placeholder": {"fr": "Ex. : la bonne réponse est au paragraphe 8 de la résolution.",
                             "en": "E.g. the right answer is in paragraph 8 of the resolution."},
    "feedback_privacy": {"fr": "Sont enregistrés la question, les options, les passages affichés, votre avis et votre "
                               "commentaire ; ni votre adresse, ni votre session, ni le texte de vos documents.",
                         "en": "What is recorded: the question, the options, the passages shown, your verdict and your "
                               "comment; not your address, your session or the text of your own documents."},
    "feedback_thanks": {"fr": "Merci : votre avis « {verdict} » est enregistré ; il servira à écrire de nouvelles "
                              "questions de test.",
                        "en": "Thank you: your verdict “{verdict}” is recorded; it will help write new test "
                              "questions."},
    "feedback_no_answer": {"fr": "Posez d'abord une question : l'avis porte sur la réponse affichée.",
                           "en": "Ask a question first: the verdict is about the answer on screen."},
    "feedback_too_long": {"fr": "Commentaire trop long : {n} caractères, {limit} au plus. Raccourcissez-le puis "
                                "cliquez de nouveau ; rien n'a été enregistré, votre texte est conservé.",
                          "en": "Comment too long: {n} characters, at most {limit}. Shorten it and click again; "
                                "nothing was recorded and your text is kept."},
    "feedback_full": {"fr": "Votre avis n'a pas été enregistré : le fichier des avis a atteint sa taille maximale "
                            "({mb} Mo). La réponse reste affichée.",
                      "en": "Your verdict was not recorded: the feedback file has reached its maximum size ({mb} MB). "
                            "The answer stays on screen."},
    "feedback_unwritable": {"fr": "Votre avis n'a pas pu être enregistré : le fichier des avis n'est pas accessible en "
                                  "écriture sur le serveur. La réponse reste affichée.",
                            "en": "Your verdict could not be recorded: the feedback file cannot be written on the "
                                  "server. The answer stays on screen."},
    "my_doc_mine": {"fr": "{letter} · {title} (vos documents)", "en": "{letter} · {title} (your documents)"},
    "my_doc_not_yours": {"fr": "Ce document n'est pas disponible : un document envoyé n'est lisible que dans la "
                               "session qui l'a envoyé (il a peut-être été effacé).",
                         "en": "This document is not available: an uploaded document can only be read in the session "
                               "that uploaded it (it may have been deleted)."},
    "upload_cancel": {"fr": "Annuler l'envoi", "en": "Cancel the upload"},
    "upload_cancelled": {"fr": "Envoi annulé : aucun de ses fichiers n'a été gardé ; vos documents sont tels qu'avant "
                               "l'envoi.",
                         "en": "Upload cancelled: none of its files was kept; your documents are as they were before "
                               "it."},
    "upload_cancelling": {"fr": "Annulation demandée : l'envoi s'arrête à sa prochaine étape, sans rien garder.",
                          "en": "Cancellation requested: the upload stops at its next step and keeps nothing."},
    "upload_none": {"fr": "Aucun envoi en cours.", "en": "No upload under way."},
    "why_title": {"fr": "Pourquoi ce passage ?", "en": "Why this passage?"},
    "understood": {"fr": "Compris comme :", "en": "Understood as:"},
    "understood_after": {"fr": "(lu avec la question précédente)", "en": "(read with the previous question)"},
    "ask_alone": {"fr": "Poser la question seule", "en": "Ask the question on its own"},
}

STRINGS: dict[str, dict[str, str]] = {**_PAGE, **_RESULT, **_PANELS}

# the app's messages (ui.messages) and the About tab (ui.about) add theirs
from ui.strings_about import ABOUT  # noqa: E402
from ui.strings_messages import MESSAGES  # noqa: E402

STRINGS.update(MESSAGES)
STRINGS.update(ABOUT)
