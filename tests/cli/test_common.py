"""The shared CLI argument helpers: one shard rule for every batch command."""

from __future__ import annotations

import pytest

from panoworld.commands._common import parse_shard, take_shard
from panoworld.errors import InputError


def test_parse_shard():
    assert parse_shard("1/4") == (1, 4)
    assert parse_shard(None) == (0, 1) and parse_shard("") == (0, 1)
    for bad in ("4/4", "-1/2", "1/0", "1-2", "a/b", "1/2/3"):
        with pytest.raises(InputError, match="--shard"):
            parse_shard(bad)


def test_take_shard_is_strided_and_covers_everything_once():
    items = list(range(10))
    parts = [take_shard(items, i, 3) for i in range(3)]
    assert parts[1] == [1, 4, 7]
    assert sorted(x for p in parts for x in p) == items
    assert take_shard(items, 0, 1) == items
