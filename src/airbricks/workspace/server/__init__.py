"""The HTTP side of the local workspace: the ASGI app, its middleware (auth, faults), TLS, route-table helpers,
OpenAPI, and serving.
"""
