"""The Spark engine of the local workspace: real Apache Spark (pyspark's Spark Connect server) behind clusters.

``install`` finds pyspark and Java; ``metastore`` runs the one Hive metastore service every driver shares (so
tables outlive clusters); ``driver`` is one cluster's Spark Connect server process; ``engine`` implements
:class:`airbricks.workspace.compute.engine.ComputeEngine` over them (capacity, readiness, deaths, leftovers).
Nothing here is imported unless the workspace runs with Spark.
"""
