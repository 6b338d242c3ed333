"""The app's French messages, and the French message for each engine error code (the engine speaks English)."""

from __future__ import annotations

from typing import Sequence

from rag import MAX_K, MAX_QUESTION_CHARS, MODES, QueryError

MSG_EMPTY = ("Posez une question sur la gouvernance de l'IA militaire, par exemple : "
             "« Que signifie un contrôle humain significatif ? »")
MSG_EMPTY_API = "La question est vide."
MSG_NO_DOCS = "Sélectionnez au moins un document dans les options de recherche."
MSG_CUT = ("Question longue : seul son début (« {start} ») a été lu, la limite étant de {tokens} unités de texte "
           "(jetons) du modèle.")
MSG_EVICTED = ("Vos documents envoyés ont été retirés pour faire de la place : le serveur garde un nombre limité "
               "de sessions et de textes à la fois, et la vôtre était la moins récemment utilisée. Renvoyez-les si "
               "besoin.")
MSG_CLEARED = "Vos documents ont été supprimés, et la réponse qui pouvait les citer avec eux. Posez une question."
MSG_STALE = ("Index plus ancien que le corpus : des fichiers ont changé depuis sa construction. Les passages "
             "cités sont ceux de l'index ; redémarrez l'application pour le reconstruire.")


def msg_too_long(n: int) -> str:
    return f"Question trop longue : {n} caractères. La limite est de {MAX_QUESTION_CHARS} caractères."


MSG_INTERNAL = "La requête n'a pas pu être traitée (erreur interne) ; réessayez ou reformulez la question."
PARAMETER = {"not_text": "question", "empty": "question", "too_long": "question", "bad_k": "k", "bad_mode": "mode"}


def french(exc: QueryError, documents: Sequence[str] = ()) -> str:
    """The French message for an engine error, by its code (the engine's own message is English)."""
    code, detail = getattr(exc, "code", ""), getattr(exc, "detail", "")
    known = ", ".join(documents)
    return {
        "not_text": "La question doit être du texte.",
        "empty": MSG_EMPTY_API,
        "too_long": msg_too_long(int(detail)) if detail.isdigit() else msg_too_long(MAX_QUESTION_CHARS + 1),
        "bad_k": f"k doit être un nombre entier de 1 à {MAX_K} (reçu : {detail}).",
        "bad_mode": f"Mode de recherche inconnu ({detail}) ; modes possibles : {', '.join(MODES)}.",
        "bad_docs": "docs doit être une liste d'identifiants de documents (ou null pour tous les documents).",
        "no_docs": "docs ne nomme aucun document : donnez au moins un identifiant, ou null pour tous les documents.",
        "too_many_docs": f"docs nomme plus de documents que l'index n'en contient ({detail}).",
        "unknown_docs": f"Document(s) inconnu(s) : {detail}. Documents : {known}.",
    }.get(code, "Requête invalide.")


def mb(n: int) -> str:
    """Bytes in megabytes the French way (« 20 Mo », « 0,5 Mo »)."""
    value = int(n) / (1024 * 1024)
    return (f"{value:.0f}" if value >= 10 or value.is_integer() else f"{value:.1f}".replace(".", ",")) + " Mo"


def thousands(n: int) -> str:
    return f"{int(n):,}".replace(",", "\u202f")


def upload_limits(settings) -> str:
    """What the « Mes documents » panel says of its limits."""
    return (f"PDF, Word (.docx), HTML, Markdown ou texte ; {mb(settings.upload_max_bytes)} et "
            f"{settings.upload_max_pages} pages au plus par fichier, {thousands(settings.upload_max_chars)} "
            f"caractères de texte, {settings.upload_max_files} fichiers par session. Vos documents ne sont visibles "
            f"que dans cette session et sont effacés à sa fin (onglet fermé) ou après "
            f"{max(1, round(settings.upload_ttl / 60))} minutes sans usage.")


def french_upload(exc) -> str:
    """The French one-line reason an upload was refused, naming the file (``rag.index.uploads.UploadError``)."""
    name, detail = f"« {exc.name} »", exc.detail
    limit = int(detail) if str(detail).isdigit() else 0
    return {
        "bad_type": f"{name} : type de fichier non pris en charge ({detail or 'sans extension'}) ; envoyez un "
                    "PDF, un .docx, un .html, un .md ou un .txt.",
        "empty": f"{name} : fichier vide.",
        "too_large": f"{name} : fichier trop lourd ({mb(limit)} au plus).",
        "not_format": f"{name} : le contenu ne correspond pas à un fichier {detail} (fichier endommagé ou "
                      "mal nommé).",
        "unreadable": f"{name} : fichier illisible ({detail}).",
        "not_utf8": f"{name} : ce texte n'est pas encodé en UTF-8 ; enregistrez-le en UTF-8 et renvoyez-le.",
        "encrypted": f"{name} : PDF protégé par un mot de passe ; retirez la protection et renvoyez-le.",
        "zip_bomb": f"{name} : fichier Word refusé (son contenu décompressé serait démesuré).",
        "damaged": f"{name} : fichier endommagé ou tronqué.",
        "no_text_layer": f"{name} : {detail}.",
        "too_many_pages": f"{name} : trop de pages ({limit} au plus).",
        "too_long": f"{name} : texte trop long ({thousands(limit)} caractères au plus).",
        "no_text": f"{name} : aucun texte à indexer dans ce fichier.",
        "too_costly": f"{name} : lecture arrêtée, ce fichier demandait trop de mémoire ou de temps pour en extraire "
                      "le texte (fichier piégé ou démesuré).",
        "too_many": f"{name} : refusé, cette session a déjà {limit} documents (le maximum).",
        "budget": f"{name} : l'espace réservé aux documents envoyés est plein sur le serveur ; réessayez plus tard.",
        "no_session": f"{name} : session inconnue ; rechargez la page.",
        "internal": f"{name} : le fichier n'a pas pu être traité (erreur interne).",
    }.get(exc.code, f"{name} : fichier refusé.")
