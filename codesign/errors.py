"""The user-facing errors: each names the thing that is wrong and the fix.

The CLI prints these as one line and exits non-zero; anything else is a bug and keeps its traceback.
"""


class CodesignError(Exception):
    """Base of errors caused by the user's input rather than by codesign."""


class ConfigError(CodesignError, ValueError):
    """A run config that cannot be used: unknown key, layer, dataset or board, bad YAML."""


class DataError(CodesignError, FileNotFoundError):
    """A dataset or data file that cannot be found or read."""


class UnsupportedLayerError(CodesignError, TypeError):
    """A model layer the design spec cannot express."""
