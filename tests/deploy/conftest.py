"""Fixtures for the deploy tests: each model is exported once per session (see models.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy import models
from tests.deploy.models import Exported


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("deploy_models")


@pytest.fixture(scope="session")
def image_model(models_dir: Path) -> Exported:
    return models.make_image_model(models_dir)


@pytest.fixture(scope="session")
def table_model(models_dir: Path) -> Exported:
    return models.make_table_model(models_dir)


@pytest.fixture(scope="session")
def token_model(models_dir: Path) -> Exported:
    return models.make_token_model(models_dir)


@pytest.fixture(scope="session")
def regression_model(models_dir: Path) -> Exported:
    return models.make_regression_model(models_dir)
