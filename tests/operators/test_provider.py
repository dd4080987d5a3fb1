"""Packaging: Airflow sees airbricks as a provider, and DAG files import the operators cheaply."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_airflow_lists_airbricks_as_a_provider(airflow_db):
    out = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "get", "airbricks", "--full", "--output", "json"],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=True,
    )
    [info] = json.loads(out.stdout[out.stdout.index("[") :])
    assert (info["package-name"], info["versions"]) == ("airbricks", ["0.1.0"])
    assert "airbricks.links.DatabricksClusterLink" in info["extra-links"]
    assert "airbricks.sensors.files" in str(info["sensors"])


def test_provider_info_names_importable_classes():
    from importlib import import_module

    from airbricks.provider_info import get_provider_info

    info = get_provider_info()
    assert (info["name"], info["package-name"], info["versions"]) == ("airbricks", "airbricks", ["0.1.0"])
    for kind in ("operators", "sensors", "triggers", "hooks"):
        for module in info[kind][0]["python-modules"]:
            import_module(module)
    for path in info["extra-links"]:
        module, name = path.rsplit(".", 1)
        assert hasattr(import_module(module), name)


def test_importing_operators_does_not_build_hooks_or_load_the_provider_hook():
    code = (
        "import sys, airbricks.operators.clusters, airbricks.operators.runs, airbricks.operators.api, "
        "airbricks.sensors.files; "
        "print('airbricks.hooks' in sys.modules, "
        "'airflow.providers.databricks.hooks.databricks' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=os.environ.copy(), capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "False"]
