"""The local Databricks workspace: a REST server that real Databricks clients accept.

Layout follows moto: models (``clusters``, ``jobs``, ``dbfs``, ``files``, ``objects``) hold state and enforce
rules and know nothing of HTTP; ``routes/`` maps HTTP onto them; ``store`` persists; ``runner`` executes.
"""
