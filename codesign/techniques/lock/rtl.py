"""The lock's RTL view, at the import path of the technique's layout (codesign/techniques/__init__.py):
the planner itself is codesign/rtl/lock.py, beside the kron and wings planners (why: its docstring)."""
from ...rtl.lock import KEY_SEL_BASE, SOURCE, key_writes, lock_plans, perm_plans, wrap_engine

__all__ = ["KEY_SEL_BASE", "SOURCE", "key_writes", "lock_plans", "perm_plans", "wrap_engine"]
