"""The path converters of the JSON API's routes: ids, board keys, usernames and version numbers
that never fail a lookup with a 500 (a longer id or a malformed key is the API's JSON 404)."""

from __future__ import annotations

from django.urls import register_converter

from decisioning.conditions import KEY_RE


class BlueprintIdConverter:
    # At most 18 digits, so the id always fits the database's bigint (a longer one is a JSON 404).
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class BoardKeyConverter:
    # Django matches a route whole (\Z), so this is the key rule of decisioning.conditions.KEY_RE
    regex = KEY_RE.pattern

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class UsernameConverter:
    # Django's username validator: letters, digits and @.+-_
    regex = r"[\w.@+-]{1,150}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(BlueprintIdConverter, "api_id")
register_converter(BoardKeyConverter, "api_key")
register_converter(UsernameConverter, "api_username")


class VersionNumberConverter:
    # 1 and up, at most nine digits (0 or a longer number is a JSON 404)
    regex = "[1-9][0-9]{0,8}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(VersionNumberConverter, "api_number")


# The prefix of every route about one blueprint.
BP = "blueprints/<api_id:blueprint_id>"
