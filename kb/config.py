"""Where content and the index live: the project's folders unless the environment says otherwise."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent


def content_dir() -> Path:
    """The content folder (KB_CONTENT, else content/ in the project)."""
    return Path(os.environ.get("KB_CONTENT") or PROJECT / "content")


def index_dir() -> Path:
    """The index folder, a build artifact (KB_INDEX, else instance/index in the project)."""
    return Path(os.environ.get("KB_INDEX") or PROJECT / "instance" / "index")


def cache_dir() -> Path:
    """Where builds keep what they can reuse, the bank's vectors (KB_CACHE, else instance/cache in the project)."""
    return Path(os.environ.get("KB_CACHE") or PROJECT / "instance" / "cache")


def train_file() -> Path:
    """The train fold of the question bank the ranking learns from (KB_TRAIN, else bench/bank/train.jsonl)."""
    return Path(os.environ.get("KB_TRAIN") or PROJECT / "bench" / "bank" / "train.jsonl")


def training_bank(path: Path | None = None) -> list[dict[str, Any]]:
    """The labelled questions of the train fold (none when the file is absent: the index then ranks by BM25F)."""
    path = path or train_file()
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def bank_digest(bank: Sequence[Mapping[str, Any]]) -> str:
    """A short hash of the training questions, so new training data makes an index stale."""
    raw = json.dumps([[x.get("q"), x.get("expect"), x.get("urgent"), x.get("nation")] for x in bank])
    return hashlib.sha256(raw.encode()).hexdigest()[:16] if bank else ""
