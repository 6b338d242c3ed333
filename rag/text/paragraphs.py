"""Where a sentence sits in a resolution: its paragraph, as a diplomat cites it.

    paragraph_label(clean, clean_offset)   # « par. 8 », « par. 2 b) », « préambule, al. 3 », or ""

United Nations resolutions and draft resolutions are cited by operative paragraph (« A/RES/79/239, par. 8 ») and
lettered sub-clause (« par. 2 b) »); their preambular paragraphs carry no number and are cited by rank
(« préambule, al. 3 », the third alinéa). The labels are read from the cleaned text's blocks
(``rag.text.cleaning``): the preamble begins after the line that names the body (« L'Assemblée générale, »,
« Le Conseil de sécurité, ») and ends at the first numbered paragraph; a block that starts with a lower-case letter
continues the one before (a paragraph cut by a page break). Blocks after the operative part that carry no number
(the closing « Décide de rester saisi de la question », the meeting's date) get no label, and neither does
anything in a document without that structure: its references cite the section and the characters instead.
"""

from __future__ import annotations

import bisect
import re
import weakref

from rag.text.cleaning import NOTE_NUMBER, CleanDoc

OPENING = re.compile(r"^(?:l['’]assemblée générale|le conseil de sécurité|the general assembly|the security council)"
                     r"\s*,?\s*$", re.IGNORECASE)
NUMBERED = re.compile(r"^(\d{1,3})\.\s")
LETTERED = re.compile(r"^([a-z])\)\s")


def paragraph_labels(clean: CleanDoc) -> list[tuple[int, int, str]]:
    """``(start, end, label)`` in clean-text offsets for each block that has a paragraph label, in order."""
    out: list[tuple[int, int, str]] = []
    state, alinea, number, label = "before", 0, "", ""
    for b in clean.blocks:
        if b.kind != "text":
            continue
        text = clean.text[b.start:b.end].lstrip()
        if state == "before":
            state = "preamble" if OPENING.match(text) else state
            continue
        if text[:1].islower() and label and not LETTERED.match(text):  # the block before goes on
            out.append((b.start, b.end, label))
            continue
        numbered, lettered = NUMBERED.match(text), LETTERED.match(text)
        if numbered:
            state, number = "operative", numbered.group(1)
            label = f"par. {number}"
        elif state == "preamble":
            alinea += 1
            label = f"préambule, al. {alinea}"
        elif lettered and number:
            label = f"par. {number} {lettered.group(1)})"
        else:  # past the operative part, unnumbered
            number, label = "", ""
        if label:
            out.append((b.start, b.end, label))
    return out


def paragraph_label(clean: CleanDoc, offset: int) -> str:
    """The label of the paragraph holding clean-text ``offset`` ("" when none); in a footnote, « note 12 »."""
    if clean.notes_start is not None and offset >= clean.notes_start:
        block = next((b for b in clean.blocks if b.kind == "note" and b.start <= offset < b.end), None)
        number = NOTE_NUMBER.match(clean.text[block.start:block.end]) if block is not None else None
        return f"note {number.group(1)}" if number else ""
    starts, labels = _labels_of(clean)
    i = bisect.bisect_right(starts, offset) - 1
    if i >= 0 and labels[i][0] <= offset < labels[i][1]:
        return labels[i][2]
    return ""


# Each document's labels and their starts, read once per document (a citation asks for one label).
_LABELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _labels_of(clean: CleanDoc) -> tuple[list[int], list[tuple[int, int, str]]]:
    found = _LABELS.get(clean)
    if found is None:
        labels = paragraph_labels(clean)
        found = _LABELS[clean] = ([s for s, _, _ in labels], labels)
    return found
