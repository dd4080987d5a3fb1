"""Compute: clusters (records, lifecycle, specs), cluster libraries, command execution contexts, and the engines behind
them.
"""
