"""What each operation's payload holds: its fields, their kinds, limits and whether they must be
given — said once, here.

The operation service reads a payload by its description (``blueprint.services.fields``: every
field checked, every problem named with what would be accepted), and the JSON API builds its input
serializers, and so its OpenAPI schema, from the same description (``blueprint.api.serializers``).
A field added here is accepted by the service and shown by the API at once.

The description is plain data, without Django: ``limit`` names a limit of ``decisioning.limits``;
``api`` says whether the API's body takes the field (a key the path names, or the exact rank only
an undo sends, it does not); ``api_name`` is its name there when that differs (an update's
``new_key`` is the body's ``key``: the path names the object); ``path`` marks a field the API's
path gives, which the body may repeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from decisioning.conditions import KINDS, TYPES
from decisioning.model import STAGE_MODES


class Kind(Enum):
    TEXT = "text"  # a string, stripped; NUL refused; at most ``limit`` characters
    FLAG = "flag"  # true or false
    TEXTS = "texts"  # a list of strings (choices, channels), blanks and repeats left out
    DATE = "date"  # a day, "YYYY-MM-DD"; null or "" clears it (read as "")
    CHOICE = "choice"  # one of ``choices``
    GROUPS = "groups"  # groups of conditions, read against the blueprint's catalog
    KEY = "key"  # an object's key, or a sibling's (before, after) or a stage's
    RANK = "rank"  # a fractional rank (``blueprint.ranks``)


@dataclass(frozen=True)
class Field:
    kind: Kind
    limit: str = ""  # TEXT: its length; TEXTS: how many
    each: str = "choice_length"  # TEXTS: the length of each
    required: bool = False  # must be given
    blank: bool = True  # TEXT: may be empty (a field that may not be is required once given)
    choices: tuple[str, ...] = ()
    help: str = ""
    api: bool = True
    api_name: str = ""
    path: bool = False

    @property
    def values(self) -> bool:
        """A field read as a value of the object (not a key naming it or a place)."""
        return self.kind not in (Kind.KEY, Kind.RANK)


@dataclass(frozen=True)
class Payload:
    """An operation's payload: its fields in the order the service reads them (the order of its
    problems), and in ``shown`` the order the API lists them in when that differs."""

    fields: dict[str, Field]
    shown: tuple[str, ...] = ()

    @property
    def names(self) -> set[str]:
        return set(self.fields)

    def in_shown_order(self) -> list[tuple[str, Field]]:
        order = self.shown or tuple(self.fields)
        assert set(order) == set(self.fields), "shown names every field once"
        return [(name, self.fields[name]) for name in order]


KEY_HELP = "Lower-case letters, digits, '-' and '_'; unique within the blueprint and permanent."
PERMANENT_KEY_HELP = "Keys are permanent: if given, it must be the current key."
POSITION_HELP = (
    "The key of a sibling to place it {where}; give before or after, not both. Neither: at the end."
)
GROUPS_HELP = (
    "Groups of conditions: a group holds when all its conditions do; the offer matches when any group does."
)
ENTRY_HELP = "Who is in the stage, as groups of conditions. Empty: everyone."
FALLBACK_HELP = "The stage's one offer for everyone who qualifies for nothing else; no conditions."
CONTENT_REF_HELP = "An id or URL of the creative the offer shows (plain text)."
STARTS_ON_HELP = "The first day the offer may be shown (YYYY-MM-DD); null or empty: no start."
ENDS_ON_HELP = (
    "The last day the offer may be shown (YYYY-MM-DD), not before starts_on; null or empty: no end."
)
TAGS_HELP = "Short free labels; blanks and repeats are left out."


def _new_key(made_from: str) -> Field:
    return Field(Kind.KEY, help=f"{KEY_HELP} Made from the {made_from} when left out.")


def _target() -> Field:
    """The key naming the object an operation changes; the API's path names it."""
    return Field(Kind.KEY, required=True, api=False)


def _renamed_key() -> Field:
    """An update's attempt at a new key: refused unless it is the current one."""
    return Field(Kind.KEY, help=PERMANENT_KEY_HELP, api_name="key")


def _place(where_before: str = "before", where_after: str = "after") -> dict[str, Field]:
    return {
        "before": Field(Kind.KEY, help=POSITION_HELP.format(where=where_before)),
        "after": Field(Kind.KEY, help=POSITION_HELP.format(where=where_after)),
        "rank": Field(Kind.RANK, api=False),  # the exact place an undo restores
    }


def _text(limit: str, *, required: bool = False, blank: bool = True) -> Field:
    return Field(Kind.TEXT, limit=limit, required=required, blank=blank)


DESCRIPTION = _text("description_length")


def _offer_content() -> dict[str, Field]:
    """What an offer shows and when (docs/architecture.md, "Decisions": outside its dates an offer
    is not eligible)."""
    return {
        "content_ref": Field(Kind.TEXT, limit="content_ref_length", help=CONTENT_REF_HELP),
        "starts_on": Field(Kind.DATE, help=STARTS_ON_HELP),
        "ends_on": Field(Kind.DATE, help=ENDS_ON_HELP),
        "tags": Field(Kind.TEXTS, limit="tags_per_offer", each="tag_length", help=TAGS_HELP),
    }


# --- The blueprint's own fields ------------------------------------------------------------------

BLUEPRINT_FIELDS = {
    "context": _text("context_length"),
    "channels": Field(Kind.TEXTS, limit="channels_per_blueprint"),
    "description": DESCRIPTION,
    "stage_mode": Field(
        Kind.CHOICE,
        choices=tuple(STAGE_MODES),
        help="How stages relate: 'several' (default), a customer is in every stage whose entry holds, "
        "each giving its own offer; 'one', each customer is in one stage, the first in journey order "
        "whose entry holds.",
    ),
}

BLUEPRINT_CREATE = Payload({"name": _text("name_length", required=True, blank=False), **BLUEPRINT_FIELDS})
BLUEPRINT_UPDATE = Payload({"name": _text("name_length", blank=False), **BLUEPRINT_FIELDS})


# --- Attributes ----------------------------------------------------------------------------------


def _attribute(*, creating: bool) -> dict[str, Field]:
    return {
        "label": _text("label_length", required=creating, blank=False),
        "unit": _text("unit_length"),
        "description": DESCRIPTION,
        "source": _text("source_length"),
        "choices": Field(Kind.TEXTS, limit="choices_per_attribute"),
        "kind": Field(Kind.CHOICE, choices=KINDS),
        "type": Field(Kind.CHOICE, choices=TYPES, required=creating),
    }


ATTRIBUTE_SHOWN = ("label", "kind", "type", "choices", "unit", "description", "source")
ATTRIBUTE_CREATE = Payload(
    {"key": _new_key("label"), **_attribute(creating=True)}, shown=("key", *ATTRIBUTE_SHOWN)
)
ATTRIBUTE_UPDATE = Payload(
    {"key": _target(), "new_key": _renamed_key(), **_attribute(creating=False)},
    shown=("key", "new_key", *ATTRIBUTE_SHOWN),
)
ATTRIBUTE_DELETE = Payload({"key": _target()})


# --- Stages --------------------------------------------------------------------------------------

STAGE_CREATE = Payload(
    {
        "key": _new_key("name"),
        "name": _text("name_length", required=True, blank=False),
        "description": DESCRIPTION,
        "entry": Field(Kind.GROUPS, help=ENTRY_HELP),
        **_place(),
    }
)
STAGE_UPDATE = Payload(
    {
        "key": _target(),
        "new_key": _renamed_key(),
        "name": _text("name_length", blank=False),
        "description": DESCRIPTION,
        "entry": Field(Kind.GROUPS, help=f"{ENTRY_HELP} Replaces all groups."),
    }
)
STAGE_MOVE = Payload({"key": _target(), **_place()})
STAGE_DELETE = Payload({"key": _target()})


# --- Offers --------------------------------------------------------------------------------------

OFFER_CREATE = Payload(
    {
        "key": _new_key("name"),
        "name": _text("name_length", required=True, blank=False),
        "description": DESCRIPTION,
        "channel": _text("channel_length"),
        "fallback": Field(Kind.FLAG, help=FALLBACK_HELP),
        "groups": Field(Kind.GROUPS, help=GROUPS_HELP),
        **_offer_content(),
        "stage": Field(
            Kind.KEY, required=True, path=True, help="Optional; if given, the stage key of the path."
        ),
        **_place("before (higher priority)", "after (lower priority)"),
    }
)
OFFER_UPDATE = Payload(
    {
        "key": _target(),
        "new_key": _renamed_key(),
        "name": _text("name_length", blank=False),
        "description": DESCRIPTION,
        "channel": _text("channel_length"),
        "fallback": Field(Kind.FLAG),
        "groups": Field(Kind.GROUPS, help=f"{GROUPS_HELP} Replaces all groups."),
        **_offer_content(),
    }
)
OFFER_MOVE = Payload(
    {
        "key": _target(),
        "stage": Field(Kind.KEY, help="The stage to move it to; its current stage when left out."),
        **_place(),
    }
)
OFFER_DELETE = Payload({"key": _target()})


# Every operation's payload, by operation type.
PAYLOADS: dict[str, Payload] = {
    "blueprint.update": BLUEPRINT_UPDATE,
    "attribute.create": ATTRIBUTE_CREATE,
    "attribute.update": ATTRIBUTE_UPDATE,
    "attribute.delete": ATTRIBUTE_DELETE,
    "stage.create": STAGE_CREATE,
    "stage.update": STAGE_UPDATE,
    "stage.move": STAGE_MOVE,
    "stage.delete": STAGE_DELETE,
    "offer.create": OFFER_CREATE,
    "offer.update": OFFER_UPDATE,
    "offer.move": OFFER_MOVE,
    "offer.delete": OFFER_DELETE,
}
