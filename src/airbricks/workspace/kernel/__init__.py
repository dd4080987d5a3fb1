"""What runs inside a notebook's, task's or command's child process: the kernels, ``dbutils``, ``display``, ``spark``.

These modules are imported by a fresh Python process for every task run and command context, often with a
user's own packages on the path, so they stay small and start fast. They may import only:

- the standard library;
- each other (``airbricks.workspace.kernel.*``);
- :mod:`airbricks.workspace.storage.paths` (user paths onto the data dir) and what it imports
  (:mod:`airbricks.workspace.errors`), and :mod:`airbricks.utils.processes` (die with the parent);
- :mod:`airbricks.workspace.jobs.process`, inside the function that needs it (``dbutils.notebook.run``);
- :mod:`airbricks.workspace.compute.spark.properties`, inside the function that runs a jar or submit task
  (its Spark settings go to ``spark-submit`` in a private file, never on the command line);
- :mod:`airbricks.workspace.sql.dialect` and :mod:`airbricks.workspace.sql.copy_into` (standard library only at
  import), inside ``spark.sql``: the notebook's SQL goes through the same Databricks dialect step as a warehouse's;
- ``pyspark``, inside the function that connects the ``spark`` session (a cluster without Spark never pays for it).

``tests/workspace/kernel/test_imports.py`` enforces this list: never the server, FastAPI, the models or the store.
"""
