"""Where a key lives: four ways to spread keys over N shards, vectorised over numpy arrays of key hashes.

Every scheme starts from the key's MD5 digest (`key_digests`), so they differ only in how a digest
becomes a shard number:

- `md5_mod`: the playbook's `int(md5(key).hexdigest()[:8], 16) % N` (it calls this consistent hashing;
  it is not: going from N to N+1 shards moves about N/(N+1) of all keys);
- `Ring`: a hash ring with `vnodes` points per shard; a key belongs to the first point clockwise;
- `jump`: jump consistent hash (Lamping & Veach 2014, arXiv:1406.2294), no state, shards numbered 0..N-1;
- `rendezvous`: highest random weight (Thaler & Ravishankar 1998): a key goes to the shard whose
  score hash(key, shard) is highest.

Shards are numbered 0..N-1 in every scheme; growing adds shard N, shrinking removes shard N-1 (the only
removal jump hash supports).
"""

from __future__ import annotations

import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import mmh3
import numpy as np

from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.schema import Field, Model

U64 = np.uint64
JUMP_MULTIPLIER = U64(2862933555777941757)  # the 64-bit LCG of the paper
SPLITMIX_C1, SPLITMIX_C2, GOLDEN = U64(0xBF58476D1CE4E5B9), U64(0x94D049BB133111EB), U64(0x9E3779B97F4A7C15)
SLOTS = 16384  # Redis Cluster's hash slots
RENDEZVOUS_CHUNK = 1 << 22  # key x shard scores held at once (32 MiB of uint64)


def key_digests(keys: Iterable[str]) -> np.ndarray:
    """MD5 of each key as a (K, 16) uint8 array."""
    raw = b"".join(hashlib.md5(k.encode()).digest() for k in keys)
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 16)


def hash64(digests: np.ndarray) -> np.ndarray:
    """The digest's first 8 bytes as a big-endian 64-bit number: the key hash jump, ring and rendezvous use."""
    return np.ascontiguousarray(digests[:, :8]).view(">u8").ravel().astype(U64)


def md5_mod(digests: np.ndarray, n: int) -> np.ndarray:
    """The playbook's scheme: the first 8 hex digits (32 bits) of the MD5, modulo N."""
    top32 = np.ascontiguousarray(digests[:, :4]).view(">u4").ravel().astype(np.int64)
    return top32 % n


def jump(h: np.ndarray, n: int) -> np.ndarray:
    """Jump consistent hash of 64-bit key hashes into n buckets, all keys at once.

    Each pass advances every key that has not yet jumped past n; about ln(n) passes are needed.
    """
    key = h.astype(U64, copy=True)
    bucket = np.zeros(len(key), dtype=np.int64)  # the paper's b
    nxt = np.zeros(len(key), dtype=np.int64)  # the paper's j
    active = np.arange(len(key))
    while active.size:
        bucket[active] = nxt[active]
        k = key[active] * JUMP_MULTIPLIER + U64(1)  # wraps modulo 2^64, as in the C++ original
        key[active] = k
        nxt[active] = ((bucket[active] + 1) * (float(1 << 31) / ((k >> U64(33)).astype(np.float64) + 1.0))
                       ).astype(np.int64)
        active = active[nxt[active] < n]
    return bucket


def jump_one(key: int, n: int) -> int:
    """The paper's loop for one key, line for line (the reference `jump` is tested against)."""
    b, j = -1, 0
    while j < n:
        b = j
        key = (key * 2862933555777941757 + 1) % (1 << 64)
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a bijection on 64-bit numbers whose output bits all depend on every input bit."""
    x = x ^ (x >> U64(30))
    x = x * SPLITMIX_C1
    x = x ^ (x >> U64(27))
    x = x * SPLITMIX_C2
    return x ^ (x >> U64(31))


def shard_seeds(n: int) -> np.ndarray:
    """One 64-bit seed per shard number, the same whatever N is (shard i keeps its scores)."""
    return mix64((np.arange(n, dtype=U64) + U64(1)) * GOLDEN)


def rendezvous_best(h: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Highest random weight: each key's shard (the highest score mix64(key hash ^ shard seed)) and that
    score, keys taken a chunk at a time (K x N scores do not fit in memory for 1M keys and 1,000 shards)."""
    seeds = shard_seeds(n)[None, :]
    shard, score = np.empty(len(h), dtype=np.int64), np.empty(len(h), dtype=U64)
    step = max(1, RENDEZVOUS_CHUNK // n)
    for start in range(0, len(h), step):
        scores = mix64(h[start:start + step, None] ^ seeds)
        shard[start:start + step] = best = scores.argmax(axis=1)
        score[start:start + step] = np.take_along_axis(scores, best[:, None], axis=1).ravel()
    return shard, score


def rendezvous_add(h: np.ndarray, shard: np.ndarray, score: np.ndarray, new: int) -> tuple[np.ndarray, np.ndarray]:
    """Placement after adding shard `new`: a key moves only where the new shard outscores its current one,
    which is why rendezvous moves nothing but the new shard's share."""
    new_score = mix64(h ^ shard_seeds(new + 1)[new])
    wins = new_score > score
    return np.where(wins, new, shard), np.where(wins, new_score, score)


def rendezvous(h: np.ndarray, n: int) -> np.ndarray:
    return rendezvous_best(h, n)[0]


@dataclass(frozen=True)
class Ring:
    """A hash ring: each shard owns `vnodes` points, hashed from "shard-<i>#<v>"; shard i's points do not
    depend on N, so adding a shard only adds points."""

    n: int
    vnodes: int = 100

    @cached_property
    def points(self) -> tuple[np.ndarray, np.ndarray]:
        labels = [f"shard-{i}#{v}" for i in range(self.n) for v in range(self.vnodes)]
        position = hash64(key_digests(labels))
        owner = np.repeat(np.arange(self.n), self.vnodes)
        order = np.argsort(position, kind="stable")
        return position[order], owner[order]

    def place(self, h: np.ndarray) -> np.ndarray:
        position, owner = self.points
        # First point at or after the key, wrapping past the top of the ring to the first point.
        return owner[np.searchsorted(position, h, side="left") % len(position)]


def place(scheme: str, digests: np.ndarray, n: int, vnodes: int = 100) -> np.ndarray:
    """Shard number of each key under one scheme (see SCHEMES)."""
    if scheme == "md5-mod":
        return md5_mod(digests, n)
    if scheme == "ring":
        return Ring(n, vnodes).place(hash64(digests))
    if scheme == "jump":
        return jump(hash64(digests), n)
    if scheme == "rendezvous":
        return rendezvous(hash64(digests), n)
    raise ValueError(f"unknown scheme {scheme!r}; choose from {', '.join(SCHEMES)}")


SCHEMES = ("md5-mod", "ring", "jump", "rendezvous")


def key_slot(key: str) -> int:
    """Redis Cluster's slot of a key: CRC16 (XMODEM, which binascii.crc_hqx computes) of the key's hash tag
    (the text between the first "{" and the next "}", when not empty) or of the whole key, modulo 16384."""
    data = key.encode()
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            data = data[start + 1:end]
    return binascii.crc_hqx(data, 0) % SLOTS


def es_routing_shards(shards: int) -> int:
    """Elasticsearch's default number_of_routing_shards (7.0+): shards x 2^k up to 1024, split at least once."""
    return shards << max(1, 10 - (shards - 1).bit_length())


def es_shard(routing: str, shards: int) -> int:
    """The primary shard Elasticsearch picks for a routing value: Murmur3 (x86, 32-bit, seed 0) of the value's
    UTF-16LE bytes, floor-modulo the routing shards, divided by the routing factor."""
    routing_shards = es_routing_shards(shards)
    return (mmh3.hash(routing.encode("utf-16-le"), 0, signed=True) % routing_shards) // (routing_shards // shards)


KEY_KINDS = ("order_id", "customer_id")  # the orders model's (model_key_kinds)


def model_key_kinds(model: Model) -> tuple[str, ...]:
    """The keys a model places: its root's (`<root>_<key>`: order_id), then each reference field of the root
    whose entity is reference data (customer_id: the customers' keys)."""
    root = model.root_entity
    refs = [m.name for m in root.members if isinstance(m, Field) and m.ref is not None and not m.parent_key
            and model.entity(m.ref).role == "reference"]
    return (f"{root.name}_{root.key}", *refs)


def model_keys(model: Model, kind: str, count: int, seed: int) -> list[str]:
    """The model's own keys: those of its first `count` root instances, or of `count` instances of the entity a
    root reference field points at (a dataset with that many of them)."""
    root = model.root_entity
    kinds = model_key_kinds(model)
    if kind not in kinds:
        raise ValueError(f"unknown key kind {kind!r}; choose from {', '.join(kinds)}")
    if kind == kinds[0]:
        return [str(i[root.key]) for i in Dataset(model, seed, Sizes(count)).roots()]
    field = root.field(kind)
    assert field is not None and field.ref is not None
    target = model.entity(field.ref)
    data = Dataset(model, seed, Sizes(1, {field.ref: count}))
    return [str(i[target.key]) for i in data.reference[field.ref]]
