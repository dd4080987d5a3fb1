"""Databricks paths inside Spark: ``dbfs:/x``, a bare ``/x`` (DBFS is the default file system) and
``/Volumes/c/s/v/x`` resolve to the local DBFS and volumes directories, by Hadoop configuration alone.

Hadoop's ``ViewFileSystemOverloadScheme`` serves the ``dbfs`` scheme from a mount table: ``/Volumes`` links to
the volumes directory and everything else falls back to the DBFS directory. The metastore gets the same
settings, because it creates table and schema directories itself.
"""

from __future__ import annotations

from pathlib import Path


def hadoop_settings(dbfs_root: Path, volumes_root: Path) -> dict[str, str]:
    """Hadoop settings (without the ``spark.hadoop.`` prefix) that map Databricks paths onto the data dir."""
    return {
        "fs.defaultFS": "dbfs:///",
        "fs.dbfs.impl": "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme",
        "fs.viewfs.mounttable.default.link./Volumes": f"file://{volumes_root}",
        "fs.viewfs.mounttable.default.linkFallback": f"file://{dbfs_root}",
    }
