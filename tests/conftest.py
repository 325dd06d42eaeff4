"""Shared test set-up: every test runs on the CPU with small thread counts."""
import os

import pytest
import torch

import sisieg  # noqa: F401  (before any detectron2 import: puts the compiled-ops placeholder in place)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

torch.set_num_threads(2)


@pytest.fixture
def repo_root():
    return REPO
