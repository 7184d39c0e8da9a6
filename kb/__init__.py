"""The knowledge base: load_content -> build_index -> search -> answer.

`kb/` never imports Flask; only `kb/index.py` and `kb/search.py` import Whoosh.
"""

from kb.answer import Answer, answer
from kb.content import load_content
from kb.index import OpenIndex, build_index, is_current
from kb.index_holder import IndexHolder
from kb.search import Hit, SearchResult, search

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
]
