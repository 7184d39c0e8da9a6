"""What one query may cost at most: the caps that bound the heaviest question by design, kept in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """Caps on the work of one search or answer; what lies past a cap is not searched.

    The longest questions in our sets have 49 words, 25 stems, 8 glossary meanings and 25 word pairs: these caps
    change no answer and no top result there (measured), while the heaviest inputs we could build (500
    characters of glossary phrases or of misspelt words) cost at most about 2.5x an ordinary question.
    """

    words: int = 64  # words read from a query (500 characters hold about 80): bounds analysis and spelling
    stems: int = 24  # the query's own stems searched, ideas in the order typed
    meanings: int = 8  # glossary meanings added to one query in all (each is a phrase in three fields)
    pairs: int = 12  # adjacent stem pairs searched as phrases
    corrections: int = 6  # unknown words looked up for a spelling correction (each scans the vocabulary)
    all_limit: int = 20  # results for type=all, which searches and snippets every kind of document


BUDGET = Budget()
