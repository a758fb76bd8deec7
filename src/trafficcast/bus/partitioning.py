"""Which Kafka partition a segment's events go to.

Producers use librdkafka's `murmur2_random` partitioner, which is the Java
client's default: partition = positive(murmur2(key)) % partitions. A
processor computes the same function to know which segments it owns after a
rebalance, so it can rebuild exactly their state from the store.
"""

from __future__ import annotations

from collections.abc import Iterable

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as unsigned 32 bits."""
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    whole = length - length % 4
    for i in range(0, whole, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length % 4
    if rest == 3:
        h ^= data[whole + 2] << 16
    if rest >= 2:
        h ^= data[whole + 1] << 8
    if rest >= 1:
        h ^= data[whole]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_of(key: str, partitions: int) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def owned(segment_ids: Iterable[str], partitions: int, assigned: set[int]) -> dict[int, list[str]]:
    """The segments whose events land in each assigned partition (once per segment, not
    per event)."""
    out: dict[int, list[str]] = {p: [] for p in sorted(assigned)}
    for s in segment_ids:
        p = partition_of(s, partitions)
        if p in out:
            out[p].append(s)
    return out
