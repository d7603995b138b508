"""Layer kinds, one module each, registered by name (`registry.get(kind)`): see registry.py.

Importing this package registers the built-in kinds; `codesign/__init__.py` does, so every view finds
them. Order = the order `registry.names()` lists them in messages.
"""
from . import dense, conv2d, maxpool2d, flatten, kron_dense, wings_dense  # noqa: F401  (each registers itself)
from .registry import Kind, ModelLayer, UnknownKindError, find, get, known, names, register, unregister

__all__ = ["Kind", "ModelLayer", "UnknownKindError", "find", "get", "known", "names", "register", "unregister"]
