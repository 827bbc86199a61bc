"""``{{ moment|ago }}``: how long ago something happened, as people say it — "just now" under a
minute (never "0 minutes ago"), else "5 minutes ago", "2 days, 3 hours ago"."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()

JUST_NOW = dt.timedelta(minutes=1)


@register.filter
def ago(moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    if timezone.now() - moment < JUST_NOW:
        return "just now"
    return f"{timesince(moment)} ago"
