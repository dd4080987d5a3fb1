"""Storage: DBFS, Unity Catalog Volumes (Files API) and Workspace objects, and the mapping of user paths onto the data
dir.
"""
