"""A faster moto Query for partitions of thousands of items (benchmark-only).

moto 5.2.5 answers every Query by walking every item of the table, sorting the partition and comparing each sort
key in Python: about five seconds per Query on a 100,000-agent index, where DynamoDB looks keys up in a B-tree.
`fast_queries()` keeps each partition's sort keys in order and finds a key condition's range by bisection, for the
Queries the index makes (base table, ascending, no filter or projection, `begins_with` or `BETWEEN` or no sort key
condition, optional Limit and ExclusiveStartKey on a string sort key). Everything else goes to moto's own code.
The request and response still go through botocore and moto's parsing; only the in-memory search differs, and
`tests/integration/test_bench_fastquery.py` compares the two answer for answer.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

_FAST_COMPARISONS = frozenset({None, "BEGINS_WITH", "BETWEEN"})


class _Partitions:
    """Sorted (sort key, item) lists per partition, rebuilt after a put or delete in that partition (an update
    changes an item in place; one that creates an item puts it)."""

    def __init__(self) -> None:
        self._writes: Counter[tuple[int, Any]] = Counter()  # (table, partition key) -> puts and deletes so far
        self._cache: dict[int, tuple[int, Any, list[str], list[Any]]] = {}

    def wrote(self, table: Any, hash_key: Any) -> None:
        self._writes[(id(table), hash_key)] += 1

    def sorted(self, table: Any, hash_key: Any, partition: Any) -> tuple[list[str], list[Any]]:
        writes = self._writes[(id(table), hash_key)]
        found = self._cache.get(id(partition))
        if found is None or found[0] != writes or found[1] is not partition:
            items = sorted(partition.values(), key=lambda item: item.range_key.value)
            found = (writes, partition, [item.range_key.value for item in items], items)
            self._cache[id(partition)] = found
        return found[2], found[3]


@contextmanager
def fast_queries() -> Iterator[_Partitions]:
    """Within the block, simple Queries on string-sorted tables use bisection instead of a table walk."""
    from moto.dynamodb.comparisons import OpDefault
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table

    partitions = _Partitions()
    original_query = Table.query
    original_put = Table.put_item
    original_delete = Table.delete_item

    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if self.hash_key_attr in item_attrs:
            partitions.wrote(self, DynamoType(item_attrs[self.hash_key_attr]))
        return original_put(self, item_attrs, *args, **kwargs)

    def delete_item(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        partitions.wrote(self, hash_key)
        return original_delete(self, hash_key, *args, **kwargs)

    def query(
        self: Any,
        hash_key: Any,
        range_comparison: str | None,
        range_objs: list[Any],
        limit: int,
        exclusive_start_key: Any,
        scan_index_forward: bool,
        projection_expressions: Any,
        index_name: str | None = None,
        consistent_read: bool = False,
        filter_expression: Any = None,
        hash_key_conditions: Any = None,
        range_key_conditions: Any = None,
        **filter_kwargs: Any,
    ) -> Any:
        simple = (
            index_name is None
            and hash_key is not None
            and self.range_key_type == "S"
            and range_comparison in _FAST_COMPARISONS
            and scan_index_forward
            and not projection_expressions
            and (filter_expression is None or isinstance(filter_expression, OpDefault))
            and not filter_kwargs
            and not (range_key_conditions and len(range_key_conditions) > 1)
        )
        if not simple:
            return original_query(
                self,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                exclusive_start_key,
                scan_index_forward,
                projection_expressions,
                index_name,
                consistent_read,
                filter_expression,
                hash_key_conditions=hash_key_conditions,
                range_key_conditions=range_key_conditions,
                **filter_kwargs,
            )
        partition = self.items.get(hash_key)
        keys, items = partitions.sorted(self, hash_key, partition) if partition else ([], [])
        values = [obj.value for obj in range_objs]
        if range_comparison == "BEGINS_WITH":
            start = bisect.bisect_left(keys, values[0])
            stop = start
            while stop < len(keys) and keys[stop].startswith(values[0]):
                stop += 1
        elif range_comparison == "BETWEEN":
            start, stop = bisect.bisect_left(keys, values[0]), bisect.bisect_right(keys, values[1])
        else:
            start, stop = 0, len(keys)
        if exclusive_start_key is not None:
            after = exclusive_start_key[self.range_key_attr]["S"]
            start = max(start, bisect.bisect_right(keys, after))
        results: list[Any] = []
        size = 0
        last_evaluated_key = None
        for position in range(start, max(start, stop)):
            item = items[position]
            if len(results) == limit or size + item.size() > RESULT_SIZE_LIMIT:
                last_evaluated_key = self._get_last_evaluated_key(results[-1], None)
                break
            results.append(item)
            size += item.size()
        else:
            # moto reports a LastEvaluatedKey when the Limit is reached and the partition holds a further item
            if limit is not None and len(results) == limit and results and stop < len(keys):
                last_evaluated_key = self._get_last_evaluated_key(results[-1], None)
        return results, len(results), last_evaluated_key

    with (
        mock.patch.object(Table, "query", query),
        mock.patch.object(Table, "put_item", put_item),
        mock.patch.object(Table, "delete_item", delete_item),
    ):
        yield partitions
