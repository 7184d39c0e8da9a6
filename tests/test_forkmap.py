"""The build reads the bank's questions on every core (kb.forkmap): the same results, in order, as one process."""

from __future__ import annotations

import gc
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.forkmap import beside, collector_paused, fork_map


def _with_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def _always() -> bool:
    return True


def test_items_are_dealt_in_turn_to_children_and_come_back_in_order() -> None:
    items = list(range(1000))
    out = fork_map(_with_pid, items, workers=3, least=100, safe=_always)
    assert [v for v, _ in out] == [x * x for x in items]
    pids = [p for _, p in out]
    assert pids[0] == os.getpid()
    assert len(set(pids)) == 3  # this process and two children, one share each
    # Dealt in turn (neighbouring items are alike in cost, so runs would leave a core waiting).
    assert all(pids[i] == pids[i % 3] for i in range(len(items)))


@settings(deadline=None, max_examples=15)
@given(st.lists(st.integers(-1000, 1000), max_size=60), st.integers(1, 4), st.integers(1, 20))
def test_the_results_are_those_of_one_process(items: list[int], workers: int, least: int) -> None:
    assert [v for v, _ in fork_map(_with_pid, items, workers, least=least, safe=_always)] == [x * x for x in items]


def test_no_fork_when_unsafe_or_too_few_items() -> None:
    items = list(range(500))
    for out in (fork_map(_with_pid, items, workers=2, least=100, safe=lambda: False),
                fork_map(_with_pid, items[:150], workers=2, least=100, safe=_always),
                fork_map(_with_pid, items, workers=1, least=100, safe=_always)):
        assert {p for _, p in out} == {os.getpid()}


def _fails_late(x: int) -> int:
    if x == 901:  # an odd item: a child's share
        raise ValueError("item 901")
    return x


def test_an_error_in_a_child_is_raised_here() -> None:
    with pytest.raises(ValueError, match="item 901"):
        fork_map(_fails_late, list(range(1000)), workers=2, least=100, safe=_always)


def test_a_child_that_dies_costs_only_time() -> None:
    parent = os.getpid()

    def dies_in_a_child(x: int) -> tuple[int, int]:
        if x == 701 and os.getpid() != parent:
            os._exit(3)  # a child killed mid-share sends nothing
        return _with_pid(x)

    out = fork_map(dies_in_a_child, list(range(1000)), workers=2, least=100, safe=_always)
    assert [v for v, _ in out] == [x * x for x in range(1000)]
    assert {p for _, p in out} == {parent}  # the dead child's share was worked here


def test_beside_runs_the_second_job_in_a_child_at_the_same_time() -> None:
    here, there = beside(lambda: ("here", os.getpid()), lambda: ("there", os.getpid()), safe=_always)
    assert here == ("here", os.getpid())
    assert there[0] == "there" and there[1] != os.getpid()


def test_beside_runs_both_here_where_forking_is_unsafe() -> None:
    here, there = beside(lambda: os.getpid(), lambda: os.getpid(), safe=lambda: False)
    assert here == there == os.getpid()


def test_the_collector_is_paused_inside_and_as_it_was_after_even_on_error() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("fails inside")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled(), "left off where it was off"
    finally:
        gc.enable()
