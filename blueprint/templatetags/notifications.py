"""``{% notification_bell %}``: the bell in the top bar, with the member's count of unread notices."""

from __future__ import annotations

from typing import Any

from django import template

from blueprint.version_selectors import unread_count

register = template.Library()


@register.inclusion_tag("blueprint/_bell.html", takes_context=True)
def notification_bell(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"unread": unread_count(user) if user is not None else 0}
