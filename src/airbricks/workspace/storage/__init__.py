"""Storage: DBFS, Unity Catalog Volumes (Files API) and Workspace objects over one file tree (:mod:`.tree`), and the
mapping of user paths onto the data dir (:mod:`.paths`, the one place paths are translated).
"""
