"""Where the benches write their results: bench/results/<name>-<UTC stamp>.json and <name>.json
(the newest), each stamped with the commit and the machine, so figures can be compared later."""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import platform
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def report_write(name: str, fields: dict[str, Any]) -> Path:
    """Write ``fields`` with the time, commit and machine; return the stamped file's path."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    report = {
        "when": stamp,
        "commit": git_commit(),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        **fields,
    }
    text = json.dumps(report, indent=2)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamped = RESULTS / f"{name}-{stamp}.json"
    stamped.write_text(text)
    (RESULTS / f"{name}.json").write_text(text)
    print(f"Written to {stamped.relative_to(ROOT)}")
    return stamped


@contextmanager
def collector_off() -> Iterator[list[float]]:
    """The bench process's own collector off while it measures, collected before and after.

    The benches' clients run in this process, and a full collection of it (Django, DuckDB, the
    generated data) takes up to a few hundred milliseconds, during which no request leaves on
    schedule and no answer is read: the latencies would charge that pause to the servers. Yields
    the durations (ms) of any collection still made (the interpreter's own, when memory is short).
    """
    pauses: list[float] = []
    began = [0.0]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            pauses.append((time.perf_counter() - began[0]) * 1000)

    gc.collect()
    gc.disable()
    gc.callbacks.append(watch)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(watch)
        gc.enable()
        gc.collect()
