"""Random streams: one named `numpy.random.Generator` per purpose, never a global seed.

A replication's streams derive from the run's root `SeedSequence` and the replication number;
a stream's name is hashed into its spawn key, so adding a stream never shifts another one, and
two strategies run with the same seed see the same draws on the streams they share
(common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np


def replication_seed_sequence(root_seed: int, replication: int) -> np.random.SeedSequence:
    """The seed sequence of one replication: child `replication` of the root."""
    return np.random.SeedSequence(entropy=root_seed, spawn_key=(replication,))


def stream(sequence: np.random.SeedSequence, name: str) -> np.random.Generator:
    """The generator named `name` under `sequence` (stable across program versions)."""
    key = (*sequence.spawn_key, zlib.crc32(name.encode("utf-8")))
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(sequence.entropy, spawn_key=key))
    )
