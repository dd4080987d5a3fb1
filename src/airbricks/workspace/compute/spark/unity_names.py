"""The Spark settings that give every local driver Databricks' three-level names (``catalog.schema.table``).

``hive_metastore`` and ``main`` are registered as Spark catalogs (``spark.sql.catalog.<name>``) backed by the
project's own plugin, ``airbricks.spark.MetastoreCatalog`` (under ``java/``, compiled by :mod:`javac`): it
delegates to Spark's session catalog, i.e. the workspace's shared Hive metastore, mapping Unity Catalog
schemas onto metastore databases by the names contract (:mod:`airbricks.workspace.catalog.names` is its Python
side). ``spark.sql.extensions`` adds ``airbricks.spark.CatalogNames`` so ``current_catalog()`` answers the Unity
Catalog name. The default catalog is ``main``, as on a Unity Catalog workspace whose default catalog is
``main`` (the tables API lists the metastore's tables as ``main.<schema>.<table>`` too); a cluster's
``spark_conf`` may set ``spark.sql.defaultCatalog`` (e.g. ``hive_metastore``) as on Databricks.
"""

from __future__ import annotations

from airbricks.workspace.compute.spark.install import SparkInstall
from airbricks.workspace.compute.spark.javac import project_jar
from airbricks.workspace.config import default_java_build

#: The Unity Catalog catalogs every driver knows, each over the shared metastore.
CATALOGS = ("main", "hive_metastore")
PLUGIN = "airbricks.spark.MetastoreCatalog"
EXTENSION = "airbricks.spark.CatalogNames"


def catalog_conf(install: SparkInstall, user: dict[str, str]) -> dict[str, str]:
    """The catalog settings to add to a driver's conf, merged with the user's class path and extensions."""
    jar = str(project_jar(install, default_java_build()))
    conf = {f"spark.sql.catalog.{name}": PLUGIN for name in CATALOGS if f"spark.sql.catalog.{name}" not in user}
    conf["spark.driver.extraClassPath"] = ":".join(p for p in (user.get("spark.driver.extraClassPath"), jar) if p)
    conf["spark.sql.extensions"] = ",".join(p for p in (user.get("spark.sql.extensions"), EXTENSION) if p)
    conf.setdefault("spark.sql.defaultCatalog", user.get("spark.sql.defaultCatalog", "main"))
    return conf
