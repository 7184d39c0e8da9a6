"""Search (issue 3): everyday words find the guidance, typos recover, any input is safe, snippets are inert,
filters keep only what they say, urgent questions get the 999 step first, and the cache follows the index."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kb.retrieve
import kb.retrieve_leaves
import kb.spelling
from kb import IndexHolder, OpenIndex, answer, build_index, search
from kb.analysis import analyse, stems
from kb.budget import BUDGET
from kb.model import NATIONS, Content
from kb.retrieve import _best, _match, build_query, run, section_scores, weighting
from kb.retrieve_leaves import LazyOr, Leaves
from kb.searching import MAX_QUERY_CHARS, TYPES, Hit, SearchCache
from kb.spelling import correct, dropped_g, missing_apostrophe, respell, suggest, vocabulary
from kb.understand import understand

IMAGE_SECTION = "What to do with a sexting image"
REFERRAL_SECTION = "When to make a child protection referral"
MARK = re.compile(r"</?mark>")
ENTITY = re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")


@pytest.fixture(scope="module")
def ix(index_dir: Path) -> OpenIndex:
    """The session's index, opened."""
    opened = IndexHolder(index_dir).get()
    assert opened is not None
    return opened


def top(ix: OpenIndex, text: str, n: int = 3) -> list[Hit]:
    return list(search(ix, text).hits[:n])


def provenances(hits: list[Hit]) -> list[str]:
    return [h.source.section for h in hits]


def assert_inert_snippet(snippet: str) -> None:
    """Escaped text with bare, balanced, unnested <mark> elements and nothing else."""
    tags = re.findall(r"<[^>]*>", snippet)
    assert set(tags) <= {"<mark>", "</mark>"}, snippet
    opened = 0
    for tag in MARK.findall(snippet):
        opened += 1 if tag == "<mark>" else -1
        assert opened in (0, 1), snippet
    assert opened == 0, snippet
    text = MARK.sub("", snippet)
    assert "<" not in text and ">" not in text, snippet
    # Every ampersand starts an entity: the text was escaped once, and only once.
    assert "&" not in ENTITY.sub("", text), snippet
    assert "&amp;lt;" not in text and "&amp;amp;" not in text, snippet


# ---------------------------------------------------------------- finding the guidance in their words


@pytest.mark.parametrize(
    "question",
    [
        "what do I do about a nude photo a pupil showed me",
        "handling a nude image found on a school laptop",
        "can I keep the picture as evidence",
        "a naked video of a year 9 girl is on the class ipad",
        "how should staff deal with a naked selfie a student sent",
        "there is a sexual image on my work computer",
        "image handling nudes",
    ],
)
def test_nudes_finds_what_to_do_with_an_image(ix: OpenIndex, question: str) -> None:
    hits = top(ix, question)
    assert IMAGE_SECTION in provenances(hits), [(h.source.section, h.heading) for h in hits]


@pytest.mark.parametrize(
    ("words", "sensible"),
    [
        ("nudes", {"Overview", IMAGE_SECTION, "Recognising concerns"}),
        # A bare "pics" says no more than that it is about images: the learned ranking puts getting them taken
        # down first (the text classifier's reading of the blind bank), which is as sensible as the overview. Since
        # the twenty-second session's writers (young people asked for pics, and those they tell) it puts talking
        # to the young person first, then the referral section and Childline.
        ("pics", {"Overview", IMAGE_SECTION, "Recognising concerns",
                  "Getting an explicit image removed from the internet",
                  "Talking to a young person who has been involved in sexting"}),
        ("sextortion", {"Causing distress", REFERRAL_SECTION, "Overview"}),
        ("DSL", {"Recognising concerns", "Recording and reviewing", "Procedures", "Schools"}),
        ("social services", {REFERRAL_SECTION}),
        ("MASH", {REFERRAL_SECTION}),
        ("revenge porn", {"Causing distress"}),
        ("deepfake", {"Causing distress", "Sharing indecent images of children"}),
        ("snapchat", {"Getting an explicit image removed from the internet", "Involve parents and carers"}),
    ],
)
def test_everyday_words_find_the_guidance_wording(ix: OpenIndex, words: str, sensible: set[str]) -> None:
    hits = top(ix, words)
    assert hits, words
    assert sensible & set(provenances(hits)), [(h.source.section, h.heading) for h in hits]


# ---------------------------------------------------------------- typos


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("revnge porn", "revenge porn"),
        ("confiscte phones", "confiscate phones"),
        ("refferal criteria", "referral criteria"),
        ("childine number", "childline number"),
        ("sextortoin", "sextortion"),
        ("safegaurding lead", "safeguarding lead"),
        ("sexting polcy", "sexting policy"),
        ("imediate danger", "immediate danger"),
        ("cyberflahsing", "cyberflashing"),
        ("internet wacth foundation", "internet watch foundation"),
    ],
)
def test_misspelt_query_is_corrected(ix: OpenIndex, typed: str, meant: str) -> None:
    result = search(ix, typed)
    assert result.corrected is not None
    assert result.corrected.lower().split() == meant.split()
    assert result.query == typed
    intended = search(ix, meant, spelling=False)
    assert result.hits and intended.hits
    assert result.hits[0].id == intended.hits[0].id


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("pupil threatened to kill himself", "kill"),
        ("she left school at lunch with an older man", "lunch"),
        ("what goes in the incident file", "file"),
        ("nudes shared at scout camp", "camp"),
        ("he is scared his pics will be posted", "scared"),
        ("his mate forwarded the photo", "mate"),
        ("girl on the children's ward sent a nude", "ward"),
        ("my form group are sharing pics", "form"),
        ("a student sent a nude to a teacher", "student"),
        # British spellings: pyspellchecker's list spells them the American way, and they are words all the same.
        ("i realised a pupil had sent a nude", "realised"),
        ("realising the pics had been shared", "realising"),
        ("who can authorise a phone search", "authorise"),
        ("a rumour about a nude going round", "rumour"),
        ("the youth centre has a sexting policy", "centre"),
        # A borrowed word typed without its accent.
        ("a man in the cafe was filming pupils", "cafe"),
    ],
)
def test_correction_never_turns_a_real_word_into_another(ix: OpenIndex, query: str, word: str) -> None:
    corrected = search(ix, query).corrected
    assert corrected is None or word in corrected.lower().split(), corrected


# ---------------------------------------------------------------- any input is safe

SYNTAX = [
    '"', '"nudes policy"', "(", ")", "((nudes)", "AND", "OR", "NOT", "AND OR NOT", "title:", "body:nudes",
    "type:legislation", "*", "?", "nud*", "se?ting", "~", "nudes~2", "^", "nudes^10", "{a TO b]", "[a TO z}",
    "{", "]", "\\", "/", ":", "-nudes", "+law", "NEAR", "\x00", "\x1b[31m", "\u202e", "\u200b", "\ufeff",
    "\U0001F600", "\U0001F1EC\U0001F1E7", "שלום", "مرحبا", "نوډز", "\udcff", "&amp;", "<script>", "%00", "'",
]
QUERIES = st.lists(st.one_of(st.text(max_size=40), st.sampled_from(SYNTAX)), max_size=12).map(" ".join)


@settings(deadline=None, database=None, max_examples=200,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=QUERIES, kind=st.sampled_from(TYPES), nation=st.sampled_from((None, *NATIONS)),
       spelling=st.booleans())
def test_any_query_is_safe(ix: OpenIndex, text: str, kind: str, nation: str | None, spelling: bool) -> None:
    result = search(ix, text, nation=nation, kind=kind, limit=10, spelling=spelling)
    assert isinstance(result.hits, tuple)
    assert len(result.hits) <= 10 and result.total >= len(result.hits)
    for hit in result.hits:
        assert_inert_snippet(hit.snippet)


@pytest.mark.parametrize(
    "text",
    ["n" * 10_000, "nudes " * 1_700, '"(' * 5_000, "{a TO b] " * 1_200, "\U0001F600" * 10_000,
     "\u202e\u05e9" * 5_000, "\x00\x07" * 5_000, "*" * 10_000, "title:" * 1_700],
    ids=["letters", "words", "quotes", "ranges", "emoji", "rtl", "control", "stars", "fields"],
)
def test_ten_thousand_character_queries_are_safe(ix: OpenIndex, text: str) -> None:
    result = search(ix, text, kind="all")
    assert isinstance(result.hits, tuple)
    for hit in result.hits:
        assert_inert_snippet(hit.snippet)


def test_long_query_is_cut_with_a_message(ix: OpenIndex) -> None:
    short = search(ix, "outcome 21")
    assert short.message == ""
    # Words past the limit are not searched: a query of one word repeated, then others past the cut.
    long_text = "nudes " * (MAX_QUERY_CHARS // 6 + 20) + "outcome 21 vetting"
    assert len(long_text) > MAX_QUERY_CHARS
    long = search(ix, long_text, spelling=False)
    assert str(MAX_QUERY_CHARS) in long.message
    assert long.query == long_text
    assert [h.id for h in long.hits] == [h.id for h in search(ix, "nudes", spelling=False).hits]


# ---------------------------------------------------------------- the cost of one query is bounded


def heaviest(ix: OpenIndex, seed: int = 0) -> str:
    """500 characters of the glossary phrases with the most meanings, after a number (which defeats a cache)."""
    by_cost = sorted(((len(e.means), p) for e in ix.content.glossary for p in (e.term, *e.also)), reverse=True)
    text = f"{seed} " + " ".join(p for _, p in by_cost)
    return text[:MAX_QUERY_CHARS]


def test_a_heavy_query_is_capped(ix: OpenIndex) -> None:
    text = heaviest(ix)
    analysed = analyse(text, ix.content.glossary)
    assert len(stems(text)) > BUDGET.stems, "the input is heavier than the budget"
    own = sum(len(g.stems) for g in analysed.groups)
    assert 0 < own <= BUDGET.stems
    assert len(analysed.words) <= BUDGET.words
    query = build_query(analysed)
    assert query is not None
    # Each own stem is a term in four fields, each meaning a phrase in three, each word pair a phrase in two.
    bound = 4 * BUDGET.stems + 4 * BUDGET.meanings + 2 * BUDGET.pairs
    assert len(list(query.leaves())) <= bound
    assert search(ix, text).hits, "a capped query still finds the guidance"


def test_type_all_returns_at_most_its_cap_and_counts_every_match(ix: OpenIndex) -> None:
    result = search(ix, heaviest(ix, 1), kind="all", limit=50)
    assert len(result.hits) == BUDGET.all_limit < 50
    assert result.total > BUDGET.all_limit
    assert len(search(ix, heaviest(ix, 1), kind="section", limit=50).hits) > BUDGET.all_limit


def test_a_word_typed_without_its_final_g_is_read_as_the_word(ix: OpenIndex) -> None:
    # Text-speak drops the g; the nearest word of the index would often be another ("doin" -> "down").
    corrected = correct(ix, analyse("hes doin it again, sayin hes comin round and filmin her", ix.content.glossary))
    assert corrected == "hes doing it again, saying hes coming round and filming her"
    # Words that end in "in" are left alone, as is a dropped g that would not make a word.
    assert correct(ix, analyse("admin within the cabin", ix.content.glossary)) is None
    assert dropped_g("nuthin") is None


def test_regional_words_the_glossary_respells_are_read_as_its_term(ix: OpenIndex) -> None:
    # "polis" (Scots), "peelers" (Northern Irish), "heddlu" (Welsh) and "weans" are in no bank question and no
    # section: they are read as the glossary term they stand for, before anything else reads the question.
    glossary = ix.content.glossary
    assert respell("should I phone the Polis?", glossary) == "should I phone the police?"
    assert respell("the weans sent pics", glossary) == "the children sent pics"
    assert understand(ix, "should I phone the polis").typed == "should I phone the police"
    for word in ("polis", "peelers", "heddlu"):
        said = answer(ix, f"we're in Paisley, should I phone the {word}")
        assert said.answered and said.section is answer(ix, "we're in Paisley, should I phone the police").section
    # Welsh words are read as the English word, never "corrected" to another English word ("merch" as "march").
    assert respell("merch 14 oed yn yr ysgol", glossary) == "girl 14 years old yn yr school"
    assert understand(ix, "mae ferch wedi anfon lluniau").typed == "mae girl wedi send pictures"
    # Only one-word words are read as the term; a phrase among them ("old bill") still widens a search.
    assert respell("the old bill came round", glossary) == "the old bill came round"


def test_a_contraction_typed_without_its_apostrophe_keeps_its_sense(ix: OpenIndex) -> None:
    # The nearest word of the index would be another ("dont" -> "don", "theyre" -> "there").
    corrected = correct(ix, analyse("dont know what to do theyre saying theres a pic and youre next",
                                    ix.content.glossary))
    assert corrected == "don't know what to do they're saying there's a pic and you're next"
    assert [missing_apostrophe(w) for w in ("shouldnt", "couldnt", "wouldve", "thats")] == [
        "shouldn't", "couldn't", "would've", "that's"]
    # The correction keeps what was typed around the words it changes; a contraction typed with its apostrophe
    # is whole ("doesn't" must not become "does t").
    assert correct(ix, analyse("He doesn't know, theyre sayin it's out?", ix.content.glossary)) == (
        "He doesn't know, they're saying it's out?")
    assert correct(ix, analyse("I can't tell if he wasn't lying or couldn't", ix.content.glossary)) is None
    # A word that is not a contraction is left to the rest of spelling.
    assert missing_apostrophe("sextortion") is None and missing_apostrophe("grooms") is None


def test_spelling_looks_up_only_the_first_few_unknown_words(ix: OpenIndex) -> None:
    vocab = vocabulary(ix)
    known = sorted(w for w in vocab.frequency if len(w) >= 8 and w.isalpha())[:40]
    # Two letters swapped in the middle: each word is one edit from a word of the index.
    typed = [w[:3] + w[4] + w[3] + w[5:] for w in known]
    typed = [t for t in typed if t not in vocab.frequency][: BUDGET.corrections * 3]
    corrected = correct(ix, analyse(" ".join(typed), ix.content.glossary))
    assert corrected is not None
    changed = [a for a, b in zip(typed, corrected.split(), strict=True) if a != b]
    assert 0 < len(changed) <= BUDGET.corrections
    assert corrected.split()[-1] == typed[-1], "words past the cap are left as typed"


def test_a_repeated_misspelling_is_looked_up_once_and_the_kept_suggestions_are_bounded(
        ix: OpenIndex, monkeypatch: pytest.MonkeyPatch) -> None:
    vocab = replace(vocabulary(ix), suggestions={})
    typed = ["safegaurding", "refferal", "sextortoin", "childine", "confiscte"]
    scans: list[str] = []

    def counted(v: kb.spelling.Vocabulary, word: str) -> str | None:
        scans.append(word)
        return suggest(v, word)

    monkeypatch.setattr(kb.spelling, "suggest", counted)
    monkeypatch.setattr(kb.spelling, "SUGGESTIONS_KEPT", 3)
    first = [kb.spelling._suggestion(vocab, w) for w in typed]
    again = [kb.spelling._suggestion(vocab, w) for w in typed]
    assert first == again == [suggest(vocab, w) for w in typed] and all(first)
    assert len(vocab.suggestions) == 3, "no more than SUGGESTIONS_KEPT are kept"
    assert scans == typed + typed[3:], "a kept suggestion is not worked out again"


# ---------------------------------------------------------------- snippets


@pytest.mark.parametrize(
    "text",
    ["<script>alert(1)</script> nudes", "<b>image</b> phone", '" onmouseover="alert(1) referral',
     "<mark>law</mark>", "&lt;img src=x&gt; sexting", "nudes' OR '1'='1", "</mark><script>x</script> image"],
)
def test_snippet_escapes_html(ix: OpenIndex, text: str) -> None:
    result = search(ix, text, kind="all", limit=20)
    assert result.hits, text
    for hit in result.hits:
        assert_inert_snippet(hit.snippet)
        assert "<script" not in hit.snippet and "onmouseover=" not in hit.snippet.replace("&quot;", "")
        assert set(re.findall(r"<[^>]*>", hit.snippet)) <= {"<mark>", "</mark>"}


def test_snippet_escapes_markup_in_content(tmp_path: Path, content: Content) -> None:
    article = content.articles[0]
    hostile = '<img src=x onerror="alert(1)"> quokkaword & <script>alert(2)</script> "quoted" \'single\''
    first = replace(article.sections[0], text=f"{hostile} {article.sections[0].text}")
    edited = replace(content, articles=(replace(article, sections=(first, *article.sections[1:])),
                                        *content.articles[1:]))
    build_index(edited, tmp_path, force=True)
    opened = IndexHolder(tmp_path).get()
    assert opened is not None
    hits = search(opened, "quokkaword onerror script", spelling=False).hits
    assert hits and hits[0].anchor == first.anchor
    assert_inert_snippet(hits[0].snippet)
    assert "<mark>quokkaword</mark>" in hits[0].snippet
    assert "&lt;<mark>script</mark>&gt;" in hits[0].snippet and "=&quot;alert(1)&quot;&gt;" in hits[0].snippet


# ---------------------------------------------------------------- filters


@pytest.mark.parametrize("nation", NATIONS)
@pytest.mark.parametrize("kind", ["section", "legislation", "all"])
def test_nation_filter_keeps_only_that_nation(ix: OpenIndex, nation: str, kind: str) -> None:
    text = "law crime indecent image share threaten sexual messages"
    kept = search(ix, text, nation=nation, kind=kind, limit=50).hits
    assert kept
    for hit in kept:
        # Items with no nation (glossary entries, some references) apply everywhere.
        assert nation in hit.nations or (kind == "all" and not hit.nations), (hit.id, hit.nations)
    if kind == "legislation":
        everywhere = search(ix, text, kind=kind, limit=50).hits
        assert {h.id for h in everywhere if nation not in h.nations}, "the filter has something to remove"
        assert {h.id for h in kept} == {h.id for h in everywhere if nation in h.nations}


def test_nation_filter_never_adds_results(ix: OpenIndex) -> None:
    # A word no document holds matches nothing, whatever the filter: a filter only ever removes results.
    for kind in TYPES:
        assert search(ix, "football", kind=kind, spelling=False).hits == ()
    added = {(nation, kind): [h.id for h in hits]
             for nation in NATIONS for kind in TYPES
             if (hits := search(ix, "football", nation=nation, kind=kind, spelling=False).hits)}
    assert not added, added


@pytest.mark.parametrize("topic", ["law", "referral", "image-handling", "parents", "removal", "policy"])
def test_topic_filter(ix: OpenIndex, topic: str) -> None:
    kept = search(ix, "nudes image child", topic=topic, limit=50).hits
    assert kept, topic
    assert all(topic in hit.topics for hit in kept), [(h.id, h.topics) for h in kept]
    everything = search(ix, "nudes image child", limit=50).hits
    assert {h.id for h in everything if topic not in h.topics}, "the filter has something to remove"


def test_type_filter_legislation(ix: OpenIndex, content: Content) -> None:
    hits = search(ix, "indecent photograph possess share", kind="legislation", limit=50).hits
    assert hits
    ids = {item.id for item in content.legislation}
    for hit in hits:
        assert hit.type == "legislation"
        assert hit.anchor in ids and hit.url == f"/legislation#{hit.anchor}"


def test_type_filter_reference(ix: OpenIndex, content: Content) -> None:
    hits = search(ix, "guidance schools police", kind="reference", limit=50).hits
    assert hits
    ids = {ref.id for ref in content.references}
    for hit in hits:
        assert hit.type == "reference"
        assert hit.anchor in ids and hit.url == f"/references#{hit.anchor}"


def test_type_filter_glossary(ix: OpenIndex, content: Content) -> None:
    hits = search(ix, "nudes sextortion revenge porn", kind="glossary", limit=50).hits
    assert hits
    terms = {entry.term for entry in content.glossary}
    for hit in hits:
        assert hit.type == "glossary"
        assert hit.title in terms
        assert hit.url == "/glossary#" + hit.title.lower().replace(" ", "-")


def test_default_type_is_article_sections(ix: OpenIndex) -> None:
    hits = search(ix, "Protection of Children Act 1978 indecent photograph", limit=50).hits
    assert hits and {h.type for h in hits} == {"section"}
    assert all(re.fullmatch(r"/articles/[a-z0-9-]+#[a-z0-9-]+", h.url) for h in hits)


# ---------------------------------------------------------------- urgent first


@pytest.mark.parametrize(
    "text",
    [
        "a boy says he will kill himself because his nudes are everywhere",
        "pupil self-harming now after photo leaked",
        "13 year old has gone missing, she was talking to a man online",
        "girl went to meet an adult she met on snapchat tonight",
        "someone is threatening right now to post his pics unless he pays",
        "student wants to end it all after the video was shared",
    ],
)
def test_urgent_query_puts_the_999_section_in_the_first_two(ix: OpenIndex, content: Content, text: str) -> None:
    # First when the words are clearly an emergency; second, after what they asked for, when they may be one.
    found = content.emergency_section()
    assert found is not None
    article, section = found
    assert "999" in section.text
    result = search(ix, text)
    assert result.urgent
    assert f"{article.url}#{section.anchor}" in [h.url for h in result.hits[:2]], [h.url for h in result.hits[:3]]


# ---------------------------------------------------------------- the cache


def test_search_cache_is_dropped_when_the_index_changes(tmp_path: Path, content: Content) -> None:
    holder = IndexHolder(tmp_path)
    build_index(content, tmp_path, force=True)
    before = holder.get()
    assert before is not None
    cache = SearchCache()
    assert cache.search(before, "quokkaword", spelling=False).hits == ()

    article = content.articles[0]
    first = replace(article.sections[0], text=article.sections[0].text + " quokkaword")
    edited = replace(content, digest="cache-test", articles=(
        replace(article, sections=(first, *article.sections[1:])), *content.articles[1:]))
    build_index(edited, tmp_path, force=True)
    after = holder.get()
    assert after is not None and after.path != before.path
    fresh = cache.search(after, "quokkaword", spelling=False)
    assert [h.anchor for h in fresh.hits] == [first.anchor]
    again = cache.search(after, "  QUOKKAWORD ", spelling=False)
    assert again.hits == fresh.hits
    assert again.query == "  QUOKKAWORD "


# ---------------------------------------------------------------- section scores from kept clauses


def whoosh_scores(ix: OpenIndex, text: str, place: str | None) -> dict[str, float]:
    """The same scores from one Whoosh search of the whole query, as section_scores worked them out before."""
    analysed = understand(ix, text).analysed
    q = build_query(analysed, place, ix.tuning)
    if q is None:
        return {}
    with ix.indexes["section"].searcher(weighting=weighting(ix.tuning)) as searcher:
        ids = [f"{f.get('slug', '')}#{f.get('anchor', '')}" for f in
               (searcher.stored_fields(n) for n in range(searcher.doc_count_all()))]
        nations = [tuple(v for v in searcher.stored_fields(n).get("nations", "").split(",") if v)
                   for n in range(searcher.doc_count_all())]
        out = {}
        for score, docnum in searcher.search(q, limit=None).top_n:
            elsewhere = place and nations[docnum] and place not in nations[docnum]
            out[ids[docnum]] = float(score) * (ix.tuning.elsewhere_factor if elsewhere else 1.0)
        return out


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(["nude", "nudes", "picture", "shared", "school", "police", "tell", "parents",
                                        "sextortion", "Scotland", "law", "remove", "image", "policy", "what", "do",
                                        "I", "talk", "child", "referral", "Childline", "the", "a"]),
                      min_size=1, max_size=8),
       place=st.sampled_from([None, *NATIONS]))
def test_scores_from_kept_clauses_are_whooshs_own(ix: OpenIndex, words: list[str], place: str | None) -> None:
    text = " ".join(words)
    mine = section_scores(ix, understand(ix, text).analysed, place)
    theirs = whoosh_scores(ix, text, place)
    assert mine.keys() == theirs.keys()
    assert all(mine[k] == pytest.approx(theirs[k], rel=1e-9) for k in theirs), text


SECTION_WORDS = ["nude", "imag", "share", "school", "polic", "parent", "child", "young", "peopl", "sexual", "law",
                 "refer", "report", "remov", "onlin", "offenc", "indec", "photograph", "social", "care", "sext", "ceop"]


def whoosh_whole(ix: OpenIndex, q: object) -> dict[int, float]:
    """Whoosh's own score of a query for every section document it matches."""
    with ix.indexes["section"].searcher(weighting=weighting(ix.tuning)) as searcher:
        return {docnum: float(score) for score, docnum in searcher.search(q, limit=None).top_n}


def kept(q: object, ix: OpenIndex) -> dict[int, float]:
    """The same query scored by a fresh Leaves (every part worked out from the words, none kept before)."""
    with ix.indexes["section"].searcher(weighting=weighting(ix.tuning)) as searcher:
        scores, hits = Leaves().evaluate(q, lambda: searcher)
    return {int(d): float(scores[d]) for d in hits.nonzero()[0]}


@settings(deadline=None, max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alternatives=st.lists(st.lists(st.sampled_from(SECTION_WORDS), min_size=1, max_size=3), min_size=2,
                             max_size=4),
       weight=st.sampled_from([1.0, 0.5, 2.0]))
def test_phrases_and_their_best_match_score_as_whoosh_scores_them(ix: OpenIndex, alternatives: list[list[str]],
                                                                 weight: float) -> None:
    # A phrase scores where its words stand together, in order; a disjunction-max as Whoosh's matcher scores it,
    # which is not always the best of its parts (it reads parts that stand on later documents).
    parts = [_match(tuple(words), weight, ix.tuning.boosts) for words in alternatives]
    for q in (_best(parts, 0.1), LazyOr(parts), parts[0]):
        mine, theirs = kept(q, ix), whoosh_whole(ix, q)
        assert mine.keys() == theirs.keys(), q
        assert all(mine[d] == pytest.approx(theirs[d], rel=1e-9) for d in theirs), q


def test_a_question_is_scored_from_the_index_words_without_a_whoosh_search(ix: OpenIndex,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # The words of the index are scored once; every question after that costs no search of its own.
    leaves = Leaves()
    analysed = understand(ix, "can the police make us delete the nude pictures in Wales").analysed
    q = build_query(analysed, "wales", ix.tuning)
    assert q is not None
    with ix.indexes["section"].searcher(weighting=weighting(ix.tuning)) as searcher:
        leaves.vocabulary(lambda: searcher)
        monkeypatch.setattr(kb.retrieve_leaves, "_whole", lambda *_: pytest.fail("a Whoosh search was made"))
        scores, hits = leaves.evaluate(q, lambda: searcher)
    assert hits.any() and scores[hits].min() > 0


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(["law", "sexting", "indecent", "image", "Scotland", "police", "report",
                                        "CEOP", "Childline", "guidance", "offence", "age", "section"]),
                      min_size=1, max_size=5),
       kind=st.sampled_from(["legislation", "reference", "glossary"]),
       nation=st.sampled_from([None, *NATIONS]))
def test_other_kinds_rank_as_whoosh_ranks_them(ix: OpenIndex, words: list[str], kind: str,
                                                nation: str | None) -> None:
    analysed = understand(ix, " ".join(words)).analysed
    q = build_query(analysed, None, ix.tuning)
    total, hits, _ = run(ix, analysed, nation, None, kind, 50, snippets=False)
    flt = kb.retrieve._filters(nation, None, kind)  # noqa: SLF001 - the same filter, applied by Whoosh
    with ix.indexes[kind].searcher(weighting=weighting(ix.tuning)) as searcher:
        allowed = None if flt is None else set(searcher.docs_for_query(flt))
        theirs = [] if q is None or allowed == set() else [
            (r["id"], float(r.score)) for r in searcher.search(q, filter=allowed, limit=None)]
    # Law that is history, and a document another replaced, come after today's, their scores lowered; otherwise
    # Whoosh's order and scores.
    past = {h.id for h in hits if h.type == "legislation" and not getattr(ix.content.law(h.anchor), "current", True)}
    past |= {h.id for h in hits if h.type == "reference" and getattr(ix.content.reference(h.anchor), "replaced_by", "")}
    expected = sorted(theirs, key=lambda pair: pair[0] in past)
    assert total == len(theirs)
    assert [h.id for h in hits] == [i for i, _ in expected]
    assert [h.score for h in hits] == pytest.approx(
        [score * (ix.tuning.history_factor if i in past else 1.0) for i, score in expected], rel=1e-9)


@pytest.mark.parametrize("query", ["(((", "*", '"', "\U0001f346\U0001f4a6"])
def test_a_search_with_no_word_at_all_finds_nothing(ix: OpenIndex, query: str) -> None:
    result = search(ix, query)
    assert result.total == 0 and result.hits == ()


def test_a_replaced_document_never_comes_before_the_documents_in_use(ix: OpenIndex) -> None:
    for words in ("searching screening confiscation", "ukcis guidance schools", "sexting in schools and colleges"):
        hits = search(ix, words, kind="reference", limit=50).hits
        flags = [bool(getattr(ix.content.reference(h.anchor), "replaced_by", "")) for h in hits]
        assert flags == sorted(flags) and False in flags, words


def test_a_topic_that_no_document_of_a_kind_has_finds_none_of_it(ix: OpenIndex) -> None:
    topics = {t for a in ix.content.articles for t in a.topics}
    analysed = understand(ix, "sexting law").analysed
    for topic in sorted(topics):
        for kind in ("legislation", "reference", "glossary"):
            _, hits, _ = run(ix, analysed, None, topic, kind, 10)
            assert all(topic in h.topics for h in hits), (topic, kind)


def test_kept_clauses_are_bounded(ix: OpenIndex) -> None:
    leaves = Leaves(cap=3)
    analysed = understand(ix, "can police make us delete nudes in Wales").analysed
    q = build_query(analysed, "wales", ix.tuning)
    assert q is not None
    with ix.indexes["section"].searcher(weighting=weighting(ix.tuning)) as searcher:
        first = leaves.evaluate(q, lambda: searcher)
        again = leaves.evaluate(q, lambda: searcher)
    assert len(leaves._kept) == 3  # noqa: SLF001 - the bound is what this test is about
    assert (first[0] == again[0]).all() and (first[1] == again[1]).all()


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(["nude", "pics", "shared", "tell", "parents", "police", "law", "Scotland",
                                       "remove", "policy", "outside", "now", "he's", "waiting", "tonight", "posting",
                                       "school", "what", "do", "I", "blackmail", "cyberflashing"]),
                      min_size=1, max_size=8),
       kind=st.sampled_from(["section", "all"]))
def test_scores_never_rise_down_the_results(ix: OpenIndex, words: list[str], kind: str) -> None:
    """A result placed above another (the 999 step, a named subject, the first of a source section) scores at
    least as much as it, on one page and from one page to the next."""
    text = " ".join(words)
    first = search(ix, text, kind=kind, limit=5).hits
    second = search(ix, text, kind=kind, limit=5, offset=5).hits if kind == "section" else ()
    scores = [h.score for h in (*first, *second)]
    assert scores == sorted(scores, reverse=True), (text, scores)
