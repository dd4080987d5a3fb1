"""Unity Catalog: catalogs, schemas, volumes, and the tables of the shared Hive metastore."""
