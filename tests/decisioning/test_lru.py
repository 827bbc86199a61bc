"""The cache helper of decisioning/lru.py: the least recently used entry goes first, ``get``
counts as a use and ``peek`` does not, ``get_or_make`` makes a value once per miss and keeps
nothing when making fails, and many threads at once leave it within its size."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from decisioning.lru import LRU


def test_putting_beyond_the_size_evicts_the_oldest_first() -> None:
    cache: LRU[str, int] = LRU(3)
    for i, key in enumerate("abcde"):
        cache.put(key, i)
    assert len(cache) == 3
    assert [cache.peek(key) for key in "abcde"] == [None, None, 2, 3, 4]


def test_get_marks_an_entry_as_recently_used_and_peek_does_not() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the oldest
    cache.put("c", 3)
    assert (cache.peek("a"), cache.peek("b"), cache.peek("c")) == (1, None, 3)
    assert cache.peek("a") == 1  # not a use: "a" stays the oldest
    cache.put("d", 4)
    assert (cache.peek("a"), cache.peek("c"), cache.peek("d")) == (None, 3, 4)


def test_put_on_a_kept_key_replaces_its_value_and_makes_it_the_newest() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (10, None, 3)


def test_get_or_make_makes_once_per_miss() -> None:
    cache: LRU[int, str] = LRU(2)
    made: list[int] = []

    def make(key: int) -> str:
        made.append(key)
        return f"value {key}"

    assert cache.get_or_make(1, lambda: make(1)) == "value 1"
    assert cache.get_or_make(1, lambda: make(1)) == "value 1"
    assert made == [1]
    cache.get_or_make(2, lambda: make(2))
    cache.get_or_make(3, lambda: make(3))  # evicts 1
    assert cache.get_or_make(1, lambda: make(1)) == "value 1"
    assert made == [1, 2, 3, 1]


def test_a_failing_make_is_raised_and_nothing_is_kept() -> None:
    cache: LRU[str, int] = LRU(2)

    def fail() -> int:
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cache.get_or_make("a", fail)
    assert len(cache) == 0
    assert cache.get_or_make("a", lambda: 1) == 1


def test_pop_and_clear() -> None:
    cache: LRU[str, int] = LRU(4)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.pop("a") == 1
    assert cache.pop("a") is None
    assert len(cache) == 1
    cache.clear()
    assert len(cache) == 0
    assert cache.get("b") is None


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        LRU(0)


def squaring(key: int) -> Callable[[], int]:
    return lambda: key * key


def test_many_threads_at_once_keep_it_consistent() -> None:
    size, threads, rounds = 8, 8, 2000
    cache: LRU[int, int] = LRU(size)
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            start.wait()
            for i in range(rounds):
                key = (seed * 7 + i) % 20
                assert cache.get_or_make(key, squaring(key)) == key * key
                if i % 5 == 0:
                    cache.put(key, key * key)
                if i % 11 == 0:
                    cache.pop(key)
                found = cache.get(key)
                assert found is None or found == key * key
                assert len(cache) <= size
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert len(cache) <= size
    assert all(cache.peek(key) in (None, key * key) for key in range(20))
