"""The local Databricks workspace: a REST server that real Databricks clients accept.

One package per Databricks service, as moto lays out one folder per AWS service: ``compute`` (clusters,
libraries, command contexts, the Spark engine), ``jobs`` (jobs, runs, task types), ``sql`` (warehouses,
statements, the SQL connector's protocols), ``catalog`` (Unity Catalog), ``storage`` (DBFS, Volumes, Workspace
objects over one file tree), ``identity``, ``secrets``, ``repos``, ``faults``, and ``ui``. In each, models
hold state, enforce rules, take the workspace lock and read time from an injected clock, and know nothing of
HTTP; ``routes.py`` is the service's one table of endpoints. ``server`` mounts the tables and authenticates;
``kernel`` is what runs inside a task's child process; ``core`` composes the models. The modules beside this
one are what every service shares.
"""
