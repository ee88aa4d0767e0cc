"""Random streams: one named `numpy.random.Generator` per purpose, never a global seed.

A replication's streams derive from the run's root `SeedSequence` and the replication number;
a stream's name is hashed into its spawn key, so adding a stream never shifts another one, and
two strategies run with the same seed see the same draws on the streams they share
(common random numbers).

Every seed of the program derives here, and the `seed_derivation` text of every manifest is
generated from these functions (`describe_seed_derivation`), so the text cannot drift from the
code.
"""

from __future__ import annotations

import zlib

import numpy as np

#: Stream of the start day of each replication's outage in an N−1 analysis (sim.n1).
N1_START_STREAM = "n1-start"
#: Stream of a sweep's Latin-hypercube sample of its levers, under the sweep seed itself.
LATIN_HYPERCUBE_STREAM = "latin_hypercube"


def uncertainty_stream(key: str) -> str:
    """Stream a sweep's uncertainty `key` draws from, under its run's seed sequence."""
    return f"uncertainty:{key}"


def root_seed_sequence(root_seed: int) -> np.random.SeedSequence:
    """The root seed's own sequence (for draws made once, not per replication)."""
    return np.random.SeedSequence(entropy=root_seed)


def replication_seed_sequence(root_seed: int, replication: int) -> np.random.SeedSequence:
    """The seed sequence of one replication: child `replication` of the root."""
    return np.random.SeedSequence(entropy=root_seed, spawn_key=(replication,))


def stream_seed_sequence(sequence: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    """The seed sequence of the stream named `name` under `sequence`: the CRC-32 of the name
    appended to its spawn key."""
    key = (*sequence.spawn_key, zlib.crc32(name.encode("utf-8")))
    return np.random.SeedSequence(sequence.entropy, spawn_key=key)


def stream(sequence: np.random.SeedSequence, name: str) -> np.random.Generator:
    """The generator named `name` under `sequence` (stable across program versions)."""
    return np.random.Generator(np.random.PCG64(stream_seed_sequence(sequence, name)))


def derived_seed(sequence: np.random.SeedSequence) -> int:
    """A scenario seed made from a seed sequence: its first 64-bit state word shifted right by
    one bit (63 bits, so it fits a signed 64-bit integer)."""
    return int(sequence.generate_state(1, np.uint64)[0]) >> 1


_DERIVED_SEED_TEXT = "its first 64-bit state word >> 1"


# ------------------------------------------------------------------ description

# Stand-ins put through the functions above, then named in the text they produce.
_SEED, _REPLICATION, _NAME = 2**63 - 25, 2**31 - 1, "\x00NAME"


def _said(sequence: np.random.SeedSequence, seed: str, name: str = "NAME") -> str:
    """`SeedSequence(entropy=…, spawn_key=(…))` in words: each stand-in number by its name."""
    names = {_SEED: seed, _REPLICATION: "r", zlib.crc32(_NAME.encode("utf-8")): f"crc32({name})"}
    assert len(names) == 3, "stand-ins collide"
    words = [names.get(int(k), str(k)) for k in sequence.spawn_key]
    key = f"({words[0]},)" if len(words) == 1 else f"({', '.join(words)})"
    entropy = sequence.entropy
    assert isinstance(entropy, int), "the stand-in seed is one integer"
    return f"SeedSequence(entropy={names.get(entropy, str(entropy))}, spawn_key={key})"


def describe_seed_derivation(kind: str = "run") -> str:
    """How every random number of a result folder of `kind` (`run`, `comparison`, `n1`,
    `sweep`) derives from its seed, in words made by the functions above from stand-ins: the
    manifest's `seed_derivation`."""
    replication = replication_seed_sequence(_SEED, _REPLICATION)
    named = stream_seed_sequence(replication, _NAME)
    text = (
        f"replication r: numpy {_said(replication, 'seed')}; its stream NAME: "
        f"numpy PCG64({_said(named, 'seed')})"
    )
    if kind == "run":
        return text
    if kind == "comparison":
        return f"{text}; the same for every strategy (common random numbers)"
    if kind == "stress":
        return f"{text}; the same for every strategy and stress (common random numbers)"
    if kind == "n1":
        start = _said(named, "seed", repr(N1_START_STREAM))
        return (
            f"{text}; the same for the baseline and every asset's outage (common random "
            f"numbers); replication r's outage start day draws from numpy PCG64({start})"
        )
    if kind == "sweep":
        engine = stream_seed_sequence(replication_seed_sequence(_SEED, 0), _NAME)
        drawn = _said(named, "sweep seed", repr(uncertainty_stream("K")))
        sample = stream_seed_sequence(root_seed_sequence(_SEED), _NAME)
        return (
            f"run (point p, replication r): numpy {_said(replication, 'sweep seed')}, the same "
            f"at every point p (common random numbers); the run's scenario.seed = "
            f"{_DERIVED_SEED_TEXT}; the engine's stream NAME (replication 0 of a run with that "
            f"seed): numpy PCG64({_said(engine, 'scenario.seed')}); uncertainty K: numpy "
            f"PCG64({drawn}); the Latin-hypercube sample of the levers: numpy "
            f"PCG64({_said(sample, 'sweep seed', repr(LATIN_HYPERCUBE_STREAM))})"
        )
    raise ValueError(f"unknown result kind {kind!r}")


#: How a run's random numbers derive from its seed (a run's manifest says this).
SEED_DERIVATION_TEXT = describe_seed_derivation("run")
