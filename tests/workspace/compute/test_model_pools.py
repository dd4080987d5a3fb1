"""Instance pools' rules without HTTP or Spark: which settings keep a cluster off a pool's warm driver, which idle
driver a cluster takes, gets stopped or goes back, the pools' documents over a restart, and their stats from an
engine without processes."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from airbricks.workspace.compute.engine import DriverState, NoEngine
from airbricks.workspace.compute.pool import PoolTarget
from airbricks.workspace.compute.pools import InstancePools
from airbricks.workspace.compute.spark.idle import REFILL_DELAY_SECONDS, Fit, IdleDrivers, Pool, Wanted, fit
from airbricks.workspace.shared import Shared

POOL_DRIVER: Any = SimpleNamespace(
    conf={"spark.master": "local[2]", "spark.ui.port": "4040", "spark.sql.warehouse.dir": "file:/w"},
    driver_memory="1g",
)


def _wanted(**changes: Any) -> Wanted:
    base: dict[str, Any] = {
        "conf": {"spark.master": "local[1]", "spark.ui.port": "4999", "spark.sql.warehouse.dir": "file:/w"},
        "driver_memory": "1g",
        "env": {},
        "java_options": "",
        "master_given": False,
    }
    return Wanted(**{**base, **changes})


def test_a_cluster_fits_a_pool_driver_with_its_runtime_settings_changed() -> None:
    assert fit(_wanted(), POOL_DRIVER) == Fit([], {}, [])  # the cores and the UI port are not settings
    conf = {"spark.master": "local[1]", "spark.sql.shuffle.partitions": "4", "spark.my.key": "x"}
    # What differs is changed on the driver (the driver decides which keys need a JVM): set, or unset.
    assert fit(_wanted(conf=conf), POOL_DRIVER) == Fit(
        [], {"spark.my.key": "x", "spark.sql.shuffle.partitions": "4"}, ["spark.sql.warehouse.dir"]
    )
    assert fit(_wanted(conf=conf), POOL_DRIVER).settings == [
        "spark.my.key",
        "spark.sql.shuffle.partitions",
        "spark.sql.warehouse.dir",
    ]
    assert fit(_wanted(master_given=True), POOL_DRIVER).set_ == {"spark.master": "local[1]"}


def test_settings_fixed_at_a_jvm_start_are_named_never_their_values() -> None:
    assert fit(_wanted(driver_memory="512m"), POOL_DRIVER).fixed == [
        "spark.driver.memory is 512m (the pool's driver: 1g)"
    ]
    assert fit(_wanted(env={"B": "secret", "A": "2"}), POOL_DRIVER).fixed == [
        "spark_env_vars sets A, B (a process's environment)"
    ]
    assert fit(_wanted(java_options="-Dx=1"), POOL_DRIVER).fixed == ["spark.driver.extraJavaOptions is set"]


def test_pools_outlive_a_restart_and_count_their_clusters(shared: Shared) -> None:
    engine = NoEngine()
    pools = InstancePools(shared, engine=engine)
    kept = pools.create({"instance_pool_name": "kept", "node_type_id": "i3.xlarge", "min_idle_instances": 2})
    gone = pools.create({"instance_pool_name": "gone", "node_type_id": "i3.xlarge"})
    pools.delete(gone)
    engine.launch("c1", {"instance_pool_id": kept})
    assert pools.get(kept)["stats"] == {
        "used_count": 1,
        "idle_count": 2,
        "pending_used_count": 0,
        "pending_idle_count": 0,
    }
    restarted = NoEngine()
    again = InstancePools(shared, engine=restarted)  # the documents come back, and the engine gets the targets
    assert [p["instance_pool_id"] for p in again.list()] == [kept]
    assert again.get(kept)["stats"]["idle_count"] == 2
    assert again.get(gone)["state"] == "DELETED"


def _idle(*states: DriverState) -> list[Any]:
    return [SimpleNamespace(state=state, name=f"d{i}") for i, state in enumerate(states)]


def test_a_used_driver_goes_back_to_a_pool_that_wants_it_and_is_stopped_otherwise() -> None:
    drivers = IdleDrivers()
    drivers.pools["p"] = Pool(PoolTarget(min_idle=1))
    used: Any = SimpleNamespace(state=DriverState.READY)
    assert drivers.give_back("p", used) is None and drivers.pools["p"].idle == [used]  # wanted
    another: Any = SimpleNamespace(state=DriverState.READY)
    assert drivers.give_back("p", another) is another  # the pool has its idle driver: stop this one
    (third,) = _idle(DriverState.READY)
    assert drivers.give_back("gone", third) is third  # a deleted pool wants nothing


def test_a_ready_driver_given_back_replaces_an_idle_one_still_starting() -> None:
    drivers = IdleDrivers()
    (starting,) = _idle(DriverState.STARTING)
    drivers.pools["p"] = Pool(PoolTarget(min_idle=1), idle=[starting])
    used: Any = SimpleNamespace(state=DriverState.READY)
    assert drivers.give_back("p", used) is starting  # the half-started JVM stops: the ready one is worth more
    assert drivers.pools["p"].idle == [used]


def test_clusters_take_answering_drivers_first() -> None:
    drivers = IdleDrivers()
    starting, ready = _idle(DriverState.STARTING, DriverState.READY)
    drivers.pools["p"] = Pool(PoolTarget(min_idle=2), idle=[starting, ready])
    assert drivers.take("p", now=100.0) is ready
    assert drivers.take("none", now=100.0) is None


def test_a_pool_refills_a_while_after_a_take_and_at_once_when_it_starts() -> None:
    drivers = IdleDrivers()
    drivers.pools["p"] = Pool(PoolTarget(min_idle=1))
    assert [pool_id for pool_id, _ in drivers.short(now=0.0)] == ["p"]  # a new pool fills at once
    drivers.pools["p"].idle = _idle(DriverState.READY)
    assert drivers.short(now=0.0) == []
    drivers.take("p", now=50.0)
    assert drivers.short(now=50.0 + REFILL_DELAY_SECONDS - 1) == []  # its cluster may give the driver back
    assert [pool_id for pool_id, _ in drivers.short(now=50.0 + REFILL_DELAY_SECONDS)] == ["p"]


def test_room_for_a_cluster_is_made_from_idle_drivers_still_starting_first() -> None:
    drivers = IdleDrivers()
    ready, starting = _idle(DriverState.READY, DriverState.STARTING)
    drivers.pools["p"] = Pool(PoolTarget(min_idle=2), idle=[ready, starting])
    assert drivers.evict_one() is starting  # it has cost less
    assert drivers.pools["p"].idle == [ready]
