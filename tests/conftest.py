"""Shared pytest configuration for the kit's tests."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "notebook: executes a homework notebook end to end (slow; deselect with -m 'not notebook')"
    )
