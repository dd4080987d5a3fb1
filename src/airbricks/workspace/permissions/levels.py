"""The object types the Permissions API manages and their permission levels, as Databricks defines them.

Each type's levels are ordered from least to most: holding a level grants every level below it (a cluster's
``CAN_MANAGE`` includes ``CAN_RESTART`` and ``CAN_ATTACH_TO``). A job's ``IS_OWNER`` ranks above
``CAN_MANAGE``; a warehouse's ``CAN_MONITOR`` includes ``CAN_USE``, which includes ``CAN_VIEW``. One table,
read by the model, the routes and the description.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectType:
    """One kind of object: how the API names it (``clusters``), how answers name it (``cluster``, ``/clusters/``)."""

    #: The request's ``{object_type}`` (``clusters``, ``jobs``, ``warehouses``, ``notebooks``...).
    plural: str
    #: The answer's ``object_type`` and the noun of the denial message (``cluster``, ``warehouse``...).
    noun: str
    #: The answer's ``object_id`` prefix (``/clusters/``, ``/sql/warehouses/``), also the root admins inherit from.
    prefix: str
    #: Levels from least to most, with the description ``permissionLevels`` answers.
    levels: tuple[tuple[str, str], ...]
    #: What the object's creator is given (the owner where the type has one).
    creator_level: str
    #: Whether exactly one user or service principal holds ``IS_OWNER`` (jobs, warehouses).
    owned: bool = False
    #: Workspace objects inherit from the folders above them.
    in_tree: bool = False

    def rank(self, level: str) -> int:
        """The level's place (0: none); -1 for a level this type does not have."""
        for index, (name, _) in enumerate(self.levels):
            if name == level:
                return index + 1
        return -1

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.levels)

    @property
    def top(self) -> str:
        """What admins hold: ``CAN_MANAGE`` (never ``IS_OWNER``, which is one principal's)."""
        return "CAN_MANAGE"


_NOTEBOOK_LEVELS = (
    ("CAN_READ", "Can view and comment"),
    ("CAN_RUN", "Can view, comment, attach/detach and run"),
    ("CAN_EDIT", "Can view, comment, attach/detach, run and edit"),
    ("CAN_MANAGE", "Can view, comment, attach/detach, run, edit and change permissions"),
)
_JOB_LEVELS = (
    ("CAN_VIEW", "Can view the job and its runs"),
    ("CAN_MANAGE_RUN", "Can view the job, run it and cancel its runs"),
    ("CAN_MANAGE", "Can view, run, edit and delete the job, and change its permissions"),
    ("IS_OWNER", "Owns the job: everything Can Manage allows; the job runs as its owner by default"),
)
_WAREHOUSE_LEVELS = (
    ("CAN_VIEW", "Can see the warehouse and its details"),
    ("CAN_USE", "Can use the warehouse: start it and run queries on it"),
    ("CAN_MONITOR", "Can use the warehouse and monitor its queries"),
    ("CAN_MANAGE", "Can use, edit, stop and delete the warehouse, and change its permissions"),
    ("IS_OWNER", "Owns the warehouse: everything Can Manage allows"),
)

CLUSTERS = ObjectType(
    "clusters",
    "cluster",
    "/clusters/",
    (
        ("CAN_ATTACH_TO", "Can attach notebooks and run commands on the cluster"),
        ("CAN_RESTART", "Can attach to, start, restart and terminate the cluster"),
        ("CAN_MANAGE", "Can attach to, restart, edit, resize and delete the cluster, and change its permissions"),
    ),
    "CAN_MANAGE",
)
JOBS = ObjectType("jobs", "job", "/jobs/", _JOB_LEVELS, "IS_OWNER", owned=True)
WAREHOUSES = ObjectType("warehouses", "warehouse", "/sql/warehouses/", _WAREHOUSE_LEVELS, "IS_OWNER", owned=True)
NOTEBOOKS = ObjectType("notebooks", "notebook", "/notebooks/", _NOTEBOOK_LEVELS, "CAN_MANAGE", in_tree=True)
DIRECTORIES = ObjectType("directories", "directory", "/directories/", _NOTEBOOK_LEVELS, "CAN_MANAGE", in_tree=True)
FILES = ObjectType("files", "file", "/files/", _NOTEBOOK_LEVELS, "CAN_MANAGE", in_tree=True)
#: Git folders are addressed by their Repos API id (not a workspace object id); their ACL is kept and shown.
REPOS = ObjectType("repos", "repo", "/repos/", _NOTEBOOK_LEVELS, "CAN_MANAGE")

#: Every type served, by the name requests use (``sql/warehouses`` is the older path of ``warehouses``).
TYPES: dict[str, ObjectType] = {
    t.plural: t for t in (CLUSTERS, JOBS, WAREHOUSES, NOTEBOOKS, DIRECTORIES, FILES, REPOS)
} | {"sql/warehouses": WAREHOUSES}

#: Types the Permissions API names (databricks-sdk's ``request_object_type``) for objects the local workspace
#: does not have: a request for one answers that the object does not exist, not that the type is unknown.
ABSENT_TYPES = frozenset(
    {
        "alerts",
        "alertsv2",
        "apps",
        "authorization",
        "cluster-policies",
        "dashboards",
        "database-projects",
        "dbsql-dashboards",
        "experiments",
        "genie",
        "instance-pools",
        "knowledge-assistants",
        "pipelines",
        "queries",
        "registered-models",
        "serving-endpoints",
        "supervisor-agents",
        "vector-search-endpoints",
    }
)

#: How denials name a level (``User x does not have <phrase> permissions on job 1``), where it is not just
#: the level's words: the Jobs service lists what would do.
_PHRASES = {
    ("jobs", "CAN_MANAGE_RUN"): "Manage Run or Owner or Admin",
    ("jobs", "CAN_MANAGE"): "Manage or Owner or Admin",
    ("jobs", "IS_OWNER"): "Owner or Admin",
}


def phrase(object_type: ObjectType, level: str) -> str:
    """``CAN_ATTACH_TO`` as the denial message words it: ``Attach To``."""
    found = _PHRASES.get((object_type.plural, level))
    if found:
        return found
    return " ".join(word.capitalize() for word in level.removeprefix("CAN_").removeprefix("IS_").split("_"))
