"""Fixtures of compute's model unit tests (see :mod:`tests.workspace.compute.kit`); ``shared`` is the workspace
tests' (:func:`tests.workspace.model_kit.shared`)."""

from __future__ import annotations

import pytest

from airbricks.workspace.compute.clusters import Clusters
from airbricks.workspace.shared import Shared


@pytest.fixture
def clusters(shared: Shared) -> Clusters:
    return Clusters(shared)
