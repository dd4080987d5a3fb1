"""Databricks SQL: warehouses, the Statement Execution API, SQL sessions and the connector's Thrift protocol, saved
queries.
"""
