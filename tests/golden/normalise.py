"""Stripping what changes from run to run out of a JSON document, so documents compare.

Timings, timestamps, the ephemeral ports of the test servers, the dates of the test
certificates and the temporary paths are replaced by placeholders; everything else (codes,
statuses, severities, summaries, evidence, fixes) must stay exactly as it was.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
UPDATE = os.environ.get("SMTPDOCTOR_UPDATE_GOLDEN") == "1"

_VOLATILE_KEYS = {
    "ms",
    "elapsed_ms",
    "total_ms",
    "started_at",
    "not_before",
    "not_after",
    "days_left",
    "generated_at",
}
_DURATION = re.compile(r"\b\d+(?:\.\d+)?( ?)(ms|s|bytes)\b")  # the message size varies
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?")
_TRUSTME_ID = re.compile(r"(Testing (?:cert|CA)) #[A-Za-z0-9_-]+")
_CERT_DATE = re.compile(r"[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4} GMT")


def normalise(doc: Any, replacements: dict[str, str]) -> Any:
    """DOC with volatile values replaced; REPLACEMENTS maps run-specific text to placeholders."""

    def text(value: str) -> str:
        for old, new in replacements.items():
            value = value.replace(old, new)
        value = _ISO.sub("<time>", value)
        value = _CERT_DATE.sub("<date>", value)
        value = _TRUSTME_ID.sub(r"\1 #<id>", value)
        return _DURATION.sub(r"N\1\2", value)

    def walk(value: Any, key: str = "") -> Any:
        if key in _VOLATILE_KEYS and value is not None:
            return "<volatile>"
        if isinstance(value, dict):
            return {text(str(k)): walk(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str):
            return text(value)
        if key in ("port", "ports") and isinstance(value, int) and str(value) in replacements:
            return replacements[str(value)]
        return value

    return walk(doc)


def compare(name: str, doc: Any) -> None:
    """Assert DOC equals the stored golden document NAME (or store it when updating)."""
    path = DATA / f"{name}.json"
    rendered = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if UPDATE or not path.exists():
        assert UPDATE, f"no golden document {path}: run with SMTPDOCTOR_UPDATE_GOLDEN=1"
        path.write_text(rendered)
        return
    expected = json.loads(path.read_text())
    assert doc == expected, f"{name}: the JSON output changed\n{rendered}"
