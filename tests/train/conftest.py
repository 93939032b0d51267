"""Fixtures for the training-loop tests; the helpers live in trainhelpers.py."""
import pytest
from trainhelpers import blobs


@pytest.fixture
def data():
    X, y = blobs()
    return X[:180], y[:180], X[180:], y[180:]
