"""What an instance pool asks of the compute engine, and what the engine answers about it.

The Instance Pools API's model (:mod:`airbricks.workspace.compute.pools`) keeps the pools' documents; the engine
keeps the warm drivers behind them. This module is the contract between the two: a pool's target (how many idle
drivers, at most how many in all), the counts the pool's ``stats`` show, and the few calls the model makes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

#: The engine's pool for clusters naming none (``--default-pool``): not an Instance Pools API pool.
DEFAULT_POOL = "default"


@dataclass(frozen=True)
class PoolTarget:
    """How many idle drivers a pool keeps warm, and at most how many (idle and used) it holds (None: no limit)."""

    min_idle: int
    max_capacity: int | None = None


@dataclass(frozen=True)
class PoolStats:
    """A pool's ``stats``, as ``instance-pools/get`` shows them."""

    used_count: int = 0
    idle_count: int = 0
    pending_used_count: int = 0
    pending_idle_count: int = 0

    def to_doc(self) -> dict[str, int]:
        return asdict(self)


class WarmPools(Protocol):
    """The engine's side of instance pools."""

    def keep_warm(self, pool_id: str, target: PoolTarget | None) -> None:
        """Set a pool's target (None: the pool is gone, its idle drivers stop); the refill happens on ticks."""

    def refill(self) -> None:
        """Start idle drivers where a pool has fewer than its target (called by the ticker; non-blocking)."""

    def pool_stats(self, pool_id: str) -> PoolStats: ...
