"""Fault injection: rules, the decisions they make on requests and model calls, and the admin API that installs them."""
