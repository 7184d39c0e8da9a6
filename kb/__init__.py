"""The knowledge base: load_content -> build_index -> search -> answer.

`kb/` never imports Flask; only the index and retrieval modules (`kb/index*.py`, `kb/retrieve*.py`) import
Whoosh. No name exported here is also the name of a module of the package: `kb.search` and `kb.answer` are
the functions, and they live in `kb/searching.py` and `kb/answering.py`.
"""

from kb.answering import Answer, answer
from kb.content import load_content
from kb.index import OpenIndex, build_index, is_current
from kb.index_holder import IndexHolder
from kb.searching import Hit, SearchResult, search
from kb.warming import warm

__all__ = [
    "Answer",
    "Hit",
    "IndexHolder",
    "OpenIndex",
    "SearchResult",
    "answer",
    "build_index",
    "is_current",
    "load_content",
    "search",
    "warm",
]
