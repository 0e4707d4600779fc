"""All of Runway's seed handling: entropy -> batch seed -> one stream per named input.

The tree of seeds (numpy's ``SeedSequence`` spawn keys, never "seed + i" arithmetic)::

    entropy                         one per run; logged in the manifest
    └── batch_seed(entropy, i)      spawn_key (i,): child i of SeedSequence(entropy).spawn(...)
        └── stream(seed_i, name)    spawn_key (i, stable_key(name))

A batch's draws therefore depend only on (entropy, batch index, input name), never on the
number of workers or on which other inputs exist: a variant that changes one input leaves every
other input's draws unchanged (common random numbers).

Nothing else in Runway touches seed material; numerical code receives a ``Generator``.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["batch_seed", "fresh_entropy", "stable_key", "stream"]


def fresh_entropy() -> int:
    """New run entropy from the OS (a 128-bit int) for runs without ``--seed``; record it."""
    entropy = np.random.SeedSequence().entropy
    assert isinstance(entropy, int)
    return entropy


def batch_seed(entropy: int, batch: int) -> np.random.SeedSequence:
    """The seed of batch ``batch``: child ``batch`` of ``SeedSequence(entropy).spawn(...)``.

    Built directly from the spawn key, so batch i's seed needs neither the other batches nor
    any state: a batch can be (re)run alone, anywhere.
    """
    if batch < 0:
        raise ValueError(f"batch index must be >= 0, got {batch}")
    return np.random.SeedSequence(entropy, spawn_key=(batch,))


def stable_key(name: str) -> int:
    """A 32-bit int derived from ``name`` by SHA-256: the same in every process and Python run.

    (Python's ``hash()`` of a str is salted per process, so it must never be used here.)
    """
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big")


def stream(seed: np.random.SeedSequence, name: str) -> np.random.Generator:
    """An independent ``Generator(SFC64)`` for the input ``name`` within the batch ``seed``.

    The same (seed, name) always gives the same stream; ``seed`` itself is not modified (no
    ``spawn`` is called on it). SFC64 (numpy's small fast chaotic generator, seeded through
    SeedSequence like numpy's default PCG64) draws normals about 20% faster than PCG64 and
    uniforms 15% faster: the growth noise alone is 36 normals per path.
    """
    child = np.random.SeedSequence(
        seed.entropy,
        spawn_key=(*seed.spawn_key, stable_key(name)),
        pool_size=seed.pool_size,
    )
    return np.random.Generator(np.random.SFC64(child))
