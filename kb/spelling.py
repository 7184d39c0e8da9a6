"""Spelling correction from the index's own vocabulary (and the glossary's words), never into a real English
word's place."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from kb.analysis import Analysed, with_words, words
from kb.index import OpenIndex
from kb.index_schema import KINDS
from kb.model import GlossaryEntry

# British spellings and their American forms: pyspellchecker's English list spells "realized", "rumor", "center",
# "program", so a British word it lacks would be "corrected" into a word of ours ("realised" into "revised",
# "realising" into "raising"). A word whose American form is in the list is a word.
AMERICAN = tuple((re.compile(british), american) for british, american in (
    (r"is(e|ed|es|ing|ation|ations|er|ers)$", r"iz\1"),  # realised, criminalised, organisations
    (r"ys(e|ed|es|ing)$", r"yz\1"),  # analyse, paralysed
    (r"our(s|ed|ing|ite|ites|ful)?$", r"or\1"),  # rumour, behaviour, neighbours, favourite
    (r"tre(s)?$", r"ter\1"),  # centre, theatres
    (r"ogue(s)?$", r"og\1"),  # catalogue, dialogue
    (r"mme(s)?$", r"m\1"),  # programme
    (r"ll(ed|ing|er|ers)$", r"l\1"),  # travelled, cancelled
    (r"ae", "e"),  # paediatric, paedophile
))


# What an apostrophe joins to a word ("don't", "they're", "you've", "she'll", "you'd"); "'s" only to these words, as
# an unknown word ending in s is more often a plural ("groomers") than a contraction.
CONTRACTED = ("t", "re", "ve", "ll", "d")
BEFORE_IS = frozenset({"there", "that", "what", "where", "who", "here", "how", "when", "it", "he", "she", "everyone"})


@dataclass(frozen=True)
class Vocabulary:
    """The index's own words with their frequencies, grouped by first letter, for spelling suggestions."""

    frequency: dict[str, int]
    by_initial: dict[str, tuple[str, ...]]
    glossary: frozenset[str]
    # Suggestions already worked out, by word (at most SUGGESTIONS_KEPT): the same unknown words recur ("15yo",
    # "insta", "shud"; in the bank's train fold 6,372 look-ups were of 1,124 words), and each scans the vocabulary.
    suggestions: dict[str, str | None] = field(default_factory=dict, compare=False)


SUGGESTIONS_KEPT = 20_000


def vocabulary(ix: OpenIndex) -> Vocabulary:
    """The vocabulary of an opened index (read from its lexicon once per opened index)."""
    return ix.memo.get("vocabulary", lambda: _read_vocabulary(ix))  # type: ignore[no-any-return]


def _read_vocabulary(ix: OpenIndex) -> Vocabulary:
    """Every word of every kind of document, with its frequency."""
    frequency: dict[str, int] = {}
    for kind in KINDS:
        with ix.indexes[kind].reader() as reader:
            for word, info in reader.iter_field("spell"):
                frequency[_text(word)] = frequency.get(_text(word), 0) + int(info.weight())
    by_initial: dict[str, list[str]] = {}
    for word in frequency:
        by_initial.setdefault(word[:1], []).append(word)
    glossary = frozenset(w for e in ix.content.glossary for p in (e.term, *e.also, *e.means) for w in words(p))
    return Vocabulary(frequency, {k: tuple(v) for k, v in by_initial.items()}, glossary)


def _text(term: bytes | str) -> str:
    """A lexicon term as text (Whoosh gives bytes)."""
    return term.decode("utf-8") if isinstance(term, bytes) else term


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Common English words (pyspellchecker's list), loaded once: a real word is never "corrected" into one of
    ours ("lunch" must not become "launch", nor "scared" "shared")."""
    from spellchecker import SpellChecker  # a large list: loaded on first use, not at import

    listed = SpellChecker(language="en", distance=1).word_frequency.dictionary
    # Typed without accents, a borrowed word is still a word ("cafe" must not become "case", nor "decor" anything).
    return frozenset(listed) | {without_accents(w) for w in listed if not w.isascii()}


def without_accents(word: str) -> str:
    """A word's letters without their accents ("café" -> "cafe")."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def is_english(word: str) -> bool:
    """A common English word, in British or American spelling."""
    common = english_words()
    return word in common or any(p.search(word) and p.sub(american, word) in common for p, american in AMERICAN)


def suggest(vocab: Vocabulary, word: str) -> str | None:
    """The nearest known word (same first letter: typos rarely change it, and real words such as "kill"
    must not become others such as "will"); ties go to the more common word."""
    # One edit for most words, two only for long ones: "recipe" must not become "receive".
    limit = 1 if len(word) <= 7 else 2
    best: tuple[int, int, str] | None = None
    for candidate in vocab.by_initial.get(word[:1], ()):
        if abs(len(candidate) - len(word)) > limit or len(candidate) < 3:
            continue
        distance = edit_distance(word, candidate)
        if distance <= limit:
            key = (distance, -vocab.frequency[candidate], candidate)
            if best is None or key < best:
                best = key
    return best[2] if best else None


def correct(ix: OpenIndex, analysed: Analysed, glossary: tuple[GlossaryEntry, ...] = ()) -> str | None:
    """The query with each word unknown to the index and glossary replaced by its nearest known word."""
    vocab = vocabulary(ix)
    replaced: dict[int, str] = {}
    looked_up = 0
    for i, word in enumerate(analysed.words):
        # "doesn't" reaches here as "doesn" and "t": the first half is a word too.
        known = (word in vocab.frequency or word in vocab.glossary or is_english(word)
                 or (word.endswith("n") and is_english(f"{word}'t")))
        unknown = not known and len(word) >= 4 and not word.isdigit()
        replacement = (dropped_g(word) or missing_apostrophe(word)) if unknown else None
        lookup = unknown and replacement is None
        # Each look-up scans the vocabulary: a query's cost is bounded, so only its first few are made.
        if lookup and looked_up < ix.tuning.budget.corrections:
            replacement = _suggestion(vocab, word)
        looked_up += lookup
        if replacement is not None:
            replaced[i] = replacement
    # The correction keeps what the user typed around the words it changes ("he's", commas, question marks).
    return with_words(analysed.text, replaced) if replaced else None


def respell(text: str, glossary: tuple[GlossaryEntry, ...]) -> str:
    """The text with the glossary's regional and slang words (`respell: true`) read as its terms ("polis" as
    "police"): as the user means it, before spelling, urgency or the models read it."""
    respelt = _respellings(glossary)
    if not respelt:
        return text
    found = {i: respelt[w] for i, w in enumerate(words(text)) if w in respelt}
    return with_words(text, found) if found else text


@lru_cache(maxsize=8)
def _respellings(glossary: tuple[GlossaryEntry, ...]) -> dict[str, str]:
    """The glossary's one-word regional and slang words (`respell: true`), each with the term it is read as."""
    return {w.lower(): e.term for e in glossary if e.respell for w in e.also if " " not in w}


def dropped_g(word: str) -> str | None:
    """A word typed without its final g ("sayin", "filmin", "doin") as the word it stands for, when that is a word:
    the nearest word of the index would often be another ("doin" -> "down", "bein" -> "been", "showin" -> "shown")."""
    return word + "g" if word.endswith("in") and is_english(word + "g") else None


def missing_apostrophe(word: str) -> str | None:
    """A contraction typed without its apostrophe ("dont", "theyre", "theres") as the contraction, when that is a
    word: the nearest word of the index would change its sense ("dont" -> "don", "theyre" -> "there")."""
    if word.endswith("s") and word[:-1] in BEFORE_IS:
        return f"{word[:-1]}'s"
    for ending in CONTRACTED:
        if word.endswith(ending) and len(word) > len(ending) and is_english(f"{word[:-len(ending)]}'{ending}"):
            return f"{word[:-len(ending)]}'{ending}"
    return None


def _suggestion(vocab: Vocabulary, word: str) -> str | None:
    """suggest, kept per vocabulary (a stream of new misspellings cannot grow it without bound)."""
    if word in vocab.suggestions:
        return vocab.suggestions[word]
    found = suggest(vocab, word)
    if len(vocab.suggestions) < SUGGESTIONS_KEPT:
        vocab.suggestions[word] = found
    return found


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]
