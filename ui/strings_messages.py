"""The app's messages (notices, errors, uploads) and the About tab's text, French and English, under a key (read
through ``ui.i18n.text``; ``ui.strings.STRINGS`` holds them with the page's labels)."""

from __future__ import annotations

_NOTICES = {
    "empty": {"fr": "Posez une question sur la gouvernance de l'IA militaire, par exemple : « Que signifie un "
                    "contrôle humain significatif ? »",
              "en": "Ask a question about the governance of military AI, for example: “What does meaningful human "
                    "control mean?”"},
    "empty_api": {"fr": "La question est vide.", "en": "The question is empty."},
    "no_docs": {"fr": "Sélectionnez au moins un document dans les options de recherche.",
                "en": "Select at least one document in the search options."},
    "cut": {"fr": "Question longue : seul son début (« {start} ») a été lu, la limite étant de {tokens} unités de "
                  "texte (jetons) du modèle.",
            "en": "Long question: only its beginning (“{start}”) was read, the limit being {tokens} of the model's "
                  "text units (tokens)."},
    "evicted": {"fr": "Vos documents envoyés ont été retirés pour faire de la place : le serveur garde un nombre "
                      "limité de sessions et de textes à la fois, et la vôtre était la moins récemment utilisée. "
                      "Renvoyez-les si besoin.",
                "en": "Your uploaded documents were removed to make room: the server keeps a limited number of "
                      "sessions and texts at a time, and yours was the least recently used. Upload them again if "
                      "needed."},
    "cleared": {"fr": "Vos documents ont été supprimés, et la réponse qui pouvait les citer avec eux. Posez une "
                      "question.",
                "en": "Your documents were deleted, and with them the answer that could quote them. Ask a question."},
    "stale": {"fr": "Index plus ancien que le corpus : des fichiers ont changé depuis sa construction. Les passages "
                    "cités sont ceux de l'index ; redémarrez l'application pour le reconstruire.",
              "en": "The index is older than the corpus: files have changed since it was built. The passages quoted "
                    "are the index's; restart the app to rebuild it."},
    "too_long": {"fr": "Question trop longue : {n} caractères. La limite est de {limit} caractères.",
                 "en": "Question too long: {n} characters. The limit is {limit} characters."},
    "internal": {"fr": "La requête n'a pas pu être traitée (erreur interne) ; réessayez ou reformulez la question.",
                 "en": "The request could not be processed (internal error); try again or reword the question."},
    # the engine's error codes (rag.QueryError)
    "err_not_text": {"fr": "La question doit être du texte.", "en": "The question must be text."},
    "err_bad_k": {"fr": "k doit être un nombre entier de 1 à {max_k} (reçu : {detail}).",
                  "en": "k must be a whole number from 1 to {max_k} (received: {detail})."},
    "err_bad_mode": {"fr": "Mode de recherche inconnu ({detail}) ; modes possibles : {modes}.",
                     "en": "Unknown search mode ({detail}); possible modes: {modes}."},
    "err_bad_docs": {"fr": "docs doit être une liste d'identifiants de documents (ou null pour tous les documents).",
                     "en": "docs must be a list of document ids (or null for every document)."},
    "err_no_docs": {"fr": "docs ne nomme aucun document : donnez au moins un identifiant, ou null pour tous les "
                          "documents.",
                    "en": "docs names no document: give at least one id, or null for every document."},
    "err_too_many_docs": {"fr": "docs nomme plus de documents que l'index n'en contient ({detail}).",
                          "en": "docs names more documents than the index holds ({detail})."},
    "err_unknown_docs": {"fr": "Document(s) inconnu(s) : {detail}. Documents : {known}.",
                         "en": "Unknown document(s): {detail}. Documents: {known}."},
    "err_invalid": {"fr": "Requête invalide.", "en": "Invalid request."},
    "too_many_files": {"fr": "Au plus {limit} fichiers par session.", "en": "At most {limit} files per session."},
}

_UPLOADS = {
    "upload_limits": {"fr": "PDF, Word (.docx), HTML, Markdown ou texte ; {size} et {pages} pages au plus par fichier, "
                            "{chars} caractères de texte, {files} fichiers par session. Vos documents ne sont visibles "
                            "que dans cette session et sont effacés à sa fin (onglet fermé) ou après {minutes} minutes "
                            "sans usage.",
                      "en": "PDF, Word (.docx), HTML, Markdown or text; at most {size} and {pages} pages per file, "
                            "{chars} characters of text, {files} files per session. Your documents are visible in "
                            "this session only and are deleted when it ends (tab closed) or after {minutes} minutes "
                            "unused."},
    "no_extension": {"fr": "sans extension", "en": "no extension"},
    "up_bad_type": {"fr": "{name} : type de fichier non pris en charge ({detail}) ; envoyez un PDF, un .docx, un "
                          ".html, un .md ou un .txt.",
                    "en": "{name}: file type not supported ({detail}); send a PDF, a .docx, an .html, an .md or a "
                          ".txt."},
    "up_empty": {"fr": "{name} : fichier vide.", "en": "{name}: empty file."},
    "up_too_large": {"fr": "{name} : fichier trop lourd ({size} au plus).", "en": "{name}: file too large (at most "
                                                                                   "{size})."},
    "up_not_format": {"fr": "{name} : le contenu ne correspond pas à un fichier {detail} (fichier endommagé ou mal "
                            "nommé).",
                      "en": "{name}: the content is not that of a {detail} file (damaged or misnamed file)."},
    "up_unreadable": {"fr": "{name} : fichier illisible ({detail}).", "en": "{name}: unreadable file ({detail})."},
    "up_not_utf8": {"fr": "{name} : ce texte n'est pas encodé en UTF-8 ; enregistrez-le en UTF-8 et renvoyez-le.",
                    "en": "{name}: this text is not encoded in UTF-8; save it as UTF-8 and send it again."},
    "up_encrypted": {"fr": "{name} : PDF protégé par un mot de passe ; retirez la protection et renvoyez-le.",
                     "en": "{name}: password-protected PDF; remove the protection and send it again."},
    "up_zip_bomb": {"fr": "{name} : fichier Word refusé (son contenu décompressé serait démesuré).",
                    "en": "{name}: Word file refused (its unpacked content would be enormous)."},
    "up_damaged": {"fr": "{name} : fichier endommagé ou tronqué.", "en": "{name}: damaged or truncated file."},
    "up_no_text_layer": {"fr": "{name} : {detail}.", "en": "{name}: {detail}."},
    "up_too_many_pages": {"fr": "{name} : trop de pages ({limit} au plus).",
                          "en": "{name}: too many pages (at most {limit})."},
    "up_too_long": {"fr": "{name} : texte trop long ({chars} caractères au plus).",
                    "en": "{name}: text too long (at most {chars} characters)."},
    "up_no_text": {"fr": "{name} : aucun texte à indexer dans ce fichier.", "en": "{name}: no text to index in this "
                                                                                 "file."},
    "up_too_costly": {"fr": "{name} : lecture arrêtée, ce fichier demandait trop de mémoire ou de temps pour en "
                            "extraire le texte (fichier piégé ou démesuré).",
                      "en": "{name}: reading stopped, this file needed too much memory or time to extract its text "
                            "(a trapped or enormous file)."},
    "up_too_many": {"fr": "{name} : refusé, cette session a déjà {limit} documents (le maximum).",
                    "en": "{name}: refused, this session already has {limit} documents (the maximum)."},
    "up_budget": {"fr": "{name} : l'espace réservé aux documents envoyés est plein sur le serveur ; réessayez plus "
                        "tard.",
                  "en": "{name}: the server's room for uploaded documents is full; try again later."},
    "up_no_session": {"fr": "{name} : session inconnue ; rechargez la page.",
                      "en": "{name}: unknown session; reload the page."},
    "up_internal": {"fr": "{name} : le fichier n'a pas pu être traité (erreur interne).",
                    "en": "{name}: the file could not be processed (internal error)."},
    "up_cancelled": {"fr": "{name} : envoi annulé.", "en": "{name}: upload cancelled."},
    "up_refused": {"fr": "{name} : fichier refusé.", "en": "{name}: file refused."},
    # an upload's progress (the engine says it in French: rag.index.uploads)
    "up_reading": {"fr": "Lecture de {name}", "en": "Reading {name}"},
    "up_embedding": {"fr": "Calcul des plongements de {name} ({done}/{total})",
                     "en": "Embedding {name} ({done}/{total})"},
    "up_indexed": {"fr": "{name} indexé", "en": "{name} indexed"},
}

MESSAGES: dict[str, dict[str, str]] = {**_NOTICES, **_UPLOADS}
