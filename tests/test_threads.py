"""Many threads on one freshly opened index: everything an index works out once (vocabulary, filters, the learned
engine) is built under contention, and no request fails or sees another's answer."""

from __future__ import annotations

import threading
from pathlib import Path

from kb import IndexHolder, answer, search

THREADS = 16
ROUNDS = 12
# Mixed work: searches with and without filters, answers with and without a nation, a misspelling, an emergency.
WORK = (
    ("search", "nudes shared round the year group", None),
    ("answer", "do I have to tell the parents", "wales"),
    ("search", "sextortion", "scotland"),
    ("answer", "is it illegal to have a nude of a 16 year old", None),
    ("search", "recieved a nude pic", None),
    ("answer", "he says he will kill himself tonight", None),
)


def test_sixteen_threads_share_one_index_without_error(index_dir: Path) -> None:
    ix = IndexHolder(index_dir).get()  # a new OpenIndex: nothing worked out yet
    assert ix is not None
    errors: list[BaseException] = []
    results: dict[tuple[str, str, str | None], set[str]] = {}
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def work(me: int) -> None:
        try:
            start.wait()
            for n in range(ROUNDS):
                kind, text, nation = WORK[(me + n) % len(WORK)]
                if kind == "search":
                    got = ",".join(h.id for h in search(ix, text, nation=nation).hits[:3])
                else:
                    reply = answer(ix, text, nation=nation)
                    got = reply.section.heading if reply.section else "-"
                with lock:
                    results.setdefault((kind, text, nation), set()).add(got)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == len(WORK)
    # The same question always gets the same answer, however the threads interleave.
    assert all(len(seen) == 1 for seen in results.values()), results
