"""Layer kinds, one module each, registered by name (`registry.get(kind)`): see registry.py.

This package init imports only the registry: the kind modules import the views' helpers (emulator,
models, hls_view, rtl.plan), and those import the registry, so an init that imported the kinds would
put every view behind every `from codesign.kinds import registry` (an import circle). The built-in
kinds are registered by `codesign/__init__.py`, which Python runs before any codesign module.
"""
from .registry import Kind, ModelLayer, UnknownKindError, find, get, known, names, register, unregister

__all__ = ["Kind", "ModelLayer", "UnknownKindError", "find", "get", "known", "names", "register", "unregister"]
