"""The Permissions API and its enforcement: who may do what to a cluster, job, warehouse or notebook."""
