"""Secrets: Databricks-backed scopes, secrets encrypted at rest, and scope ACLs."""
