"""The rows of every result table for one replication."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReplicationResult:
    """Rows of every result table for one replication, plus counters for benchmarks."""

    replication: int
    summary: dict[str, Any]
    refineries: list[dict[str, Any]]
    flows: list[dict[str, Any]]
    events: list[dict[str, Any]]
    contracts: list[dict[str, Any]]
    daily: list[dict[str, Any]]
    mass_balance: dict[str, float]
    counters: dict[str, float] = field(default_factory=dict)
    costs: list[dict[str, Any]] = field(default_factory=list)
    shares: list[dict[str, Any]] = field(default_factory=list)
    cargoes: list[dict[str, Any]] = field(default_factory=list)
    disruptions: list[dict[str, Any]] = field(default_factory=list)
    valuation: list[dict[str, Any]] = field(default_factory=list)
