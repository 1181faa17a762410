"""benchgate: verify ML platform changes with statistical regression tests."""

__version__ = "0.2.0"
