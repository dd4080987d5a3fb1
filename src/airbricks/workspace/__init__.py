"""The local Databricks workspace: a REST server that real Databricks clients accept.

Layout follows moto: models (``clusters``, ``jobs``/``runs``, ``dbfs``, ``files``, ``objects``, ``faults``)
hold state, enforce rules, take the workspace lock and read time from an injected clock, and know nothing
of HTTP; ``routes/`` parse requests, call one model method and render; ``middleware`` authenticates and
injects faults; ``store`` persists; ``runner``/``kernel`` execute; ``core`` composes it all.
"""
