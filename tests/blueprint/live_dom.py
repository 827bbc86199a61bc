"""The live board's fragment rules in Python, over an lxml tree of the whole page.

What static/js/live.js does to the DOM, minus what only a browser has (open forms, focus, drags):
tests apply a frame's fragments to the page as it was loaded and compare the result with a fresh
page load (Zulip's ``verify_action``), and the fuzz test reuses it for long random sequences.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import lxml.html
from lxml.html import HtmlElement


def page(html: str | bytes) -> HtmlElement:
    # decoded here: lxml guesses bytes as Latin-1 when the meta charset comes late
    return lxml.html.document_fromstring(html.decode() if isinstance(html, bytes) else html)


def by_id(doc: HtmlElement, element_id: str | None) -> HtmlElement | None:
    if not element_id:
        return None
    found = doc.xpath("//*[@id=$id]", id=element_id)
    return found[0] if found else None


def element(html: str) -> HtmlElement:
    """A fragment's html as one element (every fragment is a single element)."""
    parsed = lxml.html.fragments_fromstring(html.strip())
    elements = [e for e in parsed if isinstance(e, HtmlElement)]
    assert len(elements) == 1 and not any(isinstance(e, str) and e.strip() for e in parsed), html[:200]
    return elements[0]


def _swap(old: HtmlElement, new: HtmlElement) -> None:
    new.tail = old.tail
    parent = old.getparent()
    assert parent is not None
    parent.replace(old, new)


_STAGE_OR_CARD = (
    './/*[@id][contains(concat(" ", normalize-space(@class), " "), " column ")'
    ' or contains(concat(" ", normalize-space(@class), " "), " card ")]'
)


def _drop_duplicates(doc: HtmlElement, fresh: HtmlElement) -> None:
    """Remove stale copies of what new content holds, as live.js's ``dropDuplicates`` does.

    Fragments render the present, so a replaced stage may bring a card that the page, not yet
    told of the card's move, still shows in another stage."""
    inside = set(fresh.iter())
    for element_id in [fresh.get("id"), *(e.get("id") for e in fresh.xpath(_STAGE_OR_CARD))]:
        for other in doc.xpath("//*[@id=$id]", id=element_id):
            if other not in inside:
                other.drop_tree()


def _place(doc: HtmlElement, fragment: Mapping[str, Any]) -> None:
    old = by_id(doc, fragment["id"])
    if old is not None:
        old.drop_tree()
    parent = by_id(doc, fragment["parent"])
    if parent is None:
        return
    new = element(fragment["html"])
    end = next((child for child in parent if child.get("data-end") is not None), None)
    before = by_id(doc, fragment.get("before"))
    if before is None or before.getparent() is not parent:
        before = end
    if before is not None:
        before.addprevious(new)
    else:
        parent.append(new)
    _drop_duplicates(doc, new)
    _reorder(doc, parent, fragment.get("order"), end)


def _reorder(doc: HtmlElement, parent: HtmlElement, order: Any, end: HtmlElement | None) -> None:
    """Put the elements of ``order`` that are in ``parent`` in that order, after the others and
    before the end marker, as live.js's ``reorder`` does."""
    if not isinstance(order, list):
        return
    wanted = [el for el in (by_id(doc, i) for i in order) if el is not None and el.getparent() is parent]
    if [child for child in parent if child in wanted] == wanted:
        return
    for el in wanted:
        parent.remove(el)
        if end is not None:
            end.addprevious(el)
        else:
            parent.append(el)


def apply_fragments(doc: HtmlElement, fragments: Iterable[Mapping[str, Any]]) -> None:
    """Apply fragments in order, as the protocol says; a missing target means nothing to do."""
    for fragment in fragments:
        do = fragment["do"]
        if do == "replace":
            old = by_id(doc, fragment["id"])
            if old is not None:
                new = element(fragment["html"])
                _swap(old, new)
                _drop_duplicates(doc, new)
        elif do == "remove":
            old = by_id(doc, fragment["id"])
            if old is not None:
                old.drop_tree()
        elif do == "place":
            _place(doc, fragment)
        elif do == "prepend":
            old = by_id(doc, fragment["id"])
            if old is not None:
                old.drop_tree()
            parent = by_id(doc, fragment["parent"])
            if parent is not None:
                parent.insert(0, element(fragment["html"]))
        elif do == "board":
            old = by_id(doc, "board")
            if old is not None:
                _swap(old, element(fragment["html"]))
        else:
            raise AssertionError(f"unknown fragment {do!r}")


def apply_frame(doc: HtmlElement, frame: Mapping[str, Any]) -> None:
    """An ``op`` frame: its fragments, then ``#board[data-rev]`` kept current, as live.js does."""
    apply_fragments(doc, frame["fragments"])
    board = by_id(doc, "board")
    if board is not None:
        board.set("data-rev", str(frame["rev"]))


def normalised(node: HtmlElement | None) -> str:
    """An element's HTML with the whitespace the template layout leaves between tags ignored."""
    if node is None:
        return ""
    html = lxml.html.tostring(node, encoding="unicode", with_tail=False)
    html = re.sub(r">\s+<", "><", html)
    return re.sub(r"\s+", " ", html).strip()


def first_activity(doc: HtmlElement) -> HtmlElement | None:
    items = doc.xpath('//*[@id="activity-list"]/li')
    return items[0] if items else None


def board_parts(doc: HtmlElement) -> dict[str, str]:
    """What a live frame must keep equal to a page load: the board, its title, the newest activity,
    the lint panel (with the markers of every card) and its summary in the board bar."""
    return {
        "board": normalised(by_id(doc, "board")),
        "board-title": normalised(by_id(doc, "board-title")),
        "activity": normalised(first_activity(doc)),
        "lint": normalised(by_id(doc, "lint")),
        "lint-summary": normalised(by_id(doc, "lint-summary")),
    }


def difference(shown: Mapping[str, str], expected: Mapping[str, str]) -> str:
    """Where two ``board_parts`` differ, tag by tag: an assertion message a person can read."""
    lines: list[str] = []
    for part in expected:
        a, b = shown.get(part, "").replace("><", ">\n<"), expected[part].replace("><", ">\n<")
        lines += difflib.unified_diff(
            a.splitlines(), b.splitlines(), f"{part} (live)", f"{part} (page load)", lineterm=""
        )
    return "\n".join(lines)
