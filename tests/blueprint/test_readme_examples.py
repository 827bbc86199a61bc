"""The README's API examples work as written: every `curl` of its shell blocks that sends JSON (or
nothing) is sent, in order, to the demo `make run` loads, as the README's editor; each is accepted.
(The ones that upload a file of the reader's own, `--data-binary @…`, are left out.)"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from blueprint.demo import demo_load

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"
HOST = "http://127.0.0.1:8000"


def curls() -> list[tuple[str, str, Any]]:
    """(method, path, JSON body or None) of each curl in the README's ``sh`` blocks, in order."""
    text = README.read_text()
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        # a body written over several lines is one argument to the shell: join it
        for line in re.split(r"\n(?=\S)", joined):
            if not line.lstrip().startswith("curl") or "--data-binary" in line:
                continue
            words = shlex.split(line.split("|")[0])
            url = next(w for w in words if w.startswith(HOST))
            method = words[words.index("-X") + 1] if "-X" in words else "GET"
            body = json.loads(words[words.index("-d") + 1]) if "-d" in words else None
            out.append((method, url[len(HOST) :], body))
    return out


def test_the_readme_shows_the_api_calls_it_is_meant_to() -> None:
    paths = [path for _, path, _ in curls()]
    assert any(p.endswith("/decide/") for p in paths)
    assert any("/offers/pension_check/move/" in p for p in paths)
    assert len(paths) >= 10


def test_every_api_example_of_the_readme_is_accepted_by_the_demo() -> None:
    made = demo_load().blueprint
    assert made is not None
    client = APIClient()
    client.force_login(get_user_model().objects.get(username="editor"))
    for method, path, body in curls():
        if path == "/api/v1/auth/token/":
            answer = APIClient().post(path, body, format="json")
        else:
            path = path.replace("/blueprints/1/", f"/blueprints/{made.pk}/")
            answer = getattr(client, method.lower())(path, body, format="json")
        if answer.streaming:
            b"".join(answer.streaming_content)  # the whole answer is produced without an error
        assert answer.status_code < 300, (method, path, body, answer.status_code)
