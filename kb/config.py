"""Where content and the index live: the project's folders unless the environment says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def content_dir() -> Path:
    """The content folder (KB_CONTENT, else content/ in the project)."""
    return Path(os.environ.get("KB_CONTENT") or PROJECT / "content")


def index_dir() -> Path:
    """The index folder, a build artifact (KB_INDEX, else instance/index in the project)."""
    return Path(os.environ.get("KB_INDEX") or PROJECT / "instance" / "index")
