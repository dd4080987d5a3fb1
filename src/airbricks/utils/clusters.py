"""The cluster life-cycle vocabulary of airbricks, built on the provider's own ``ClusterState``.

Every decision about a cluster state (the create operator's wait and adoption, the cluster trigger)
reads these names, so "which states count as failed" is answered in one place, in the provider's terms
where the provider has them (its life-cycle list and ``is_terminal``), and by a named set where airbricks
deliberately differs.  ``tests/hooks/test_provider_contract.py`` pins what they contain, so a provider
release that changes its lists cannot silently change airbricks' behaviour.

Importing this module loads the provider's hook module: operators import it inside their methods (when a
task runs), never while a DAG file is parsed.
"""

from __future__ import annotations

from airflow.providers.databricks.hooks.databricks import ClusterState

#: Every cluster life-cycle state, in the provider's order.
CLUSTER_STATES: tuple[str, ...] = tuple(ClusterState.CLUSTER_LIFE_CYCLE_STATES)

#: The state the create operator and the cluster trigger wait for.  Exactly RUNNING: the provider's
#: ``is_running`` also counts RESIZING, but a new cluster is ready only once it has been RUNNING.
RUNNING = "RUNNING"
#: Where a terminated cluster settles; ``clusters/start`` starts it again from there.
TERMINATED = "TERMINATED"

#: The provider's ``is_terminal`` states (TERMINATING, TERMINATED, ERROR, UNKNOWN): the cluster will not
#: become RUNNING without a ``clusters/start``.  The cluster trigger reports any of them as a failure at once.
TERMINAL_STATES = frozenset(state for state in CLUSTER_STATES if ClusterState(state).is_terminal)

#: Usable, or becoming usable without a new ``clusters/create`` or ``clusters/start``: every state that is
#: not terminal (PENDING, RUNNING, RESTARTING, RESIZING).
USABLE_STATES = frozenset(CLUSTER_STATES) - TERMINAL_STATES

#: Terminal states the cluster has settled in (TERMINATED, ERROR, UNKNOWN): a synchronous wait for RUNNING
#: stops there and fails.  TERMINATING is left out on purpose: that wait keeps polling until it settles
#: (TERMINATED), and the deferrable path hands it to the trigger, which fails on TERMINAL_STATES.
ENDED_STATES = TERMINAL_STATES - {"TERMINATING"}

#: Terminal states ``clusters/start`` brings back once they have settled as TERMINATED (not ERROR/UNKNOWN).
RESTARTABLE_STATES = frozenset({"TERMINATING", TERMINATED})

#: Which cluster of an earlier try to adopt, best first: running, then nearest to running, then the
#: restartable ones.  A cluster in any other state (ERROR, UNKNOWN) is never adopted: a new one is created.
ADOPTION_ORDER: tuple[str, ...] = (RUNNING, "RESIZING", "RESTARTING", "PENDING", "TERMINATING", TERMINATED)
