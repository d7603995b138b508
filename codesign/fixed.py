"""Fixed-point types with ap_fixed semantics, and exact integer casts between them.

Every tensor in a design spec carries a `FixedType`. A value is stored as the integer
`q` and means `q * 2**-frac`. Casting between types is integer arithmetic only (shift,
round, saturate or wrap), so the emulator reproduces what Vivado/Vitis `ap_fixed`
and our RTL compute, bit for bit. The rounding and overflow names are ap_fixed's.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace

import numpy as np

ROUNDING_MODES = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV")
OVERFLOW_MODES = ("WRAP", "SAT", "SAT_SYM")


class FixedTypeError(ValueError):
    """A fixed-point type that cannot exist or a value that does not fit one."""


@dataclass(frozen=True)
class FixedType:
    """ap_fixed<width, integer, rounding, overflow> (signed) or ap_ufixed (unsigned)."""

    width: int
    integer: int
    signed: bool = True
    rounding: str = "TRN"
    overflow: str = "WRAP"

    def __post_init__(self):
        if self.width < 1 or self.width > 62:
            raise FixedTypeError(f"fixed-point width {self.width} is outside 1..62")
        if self.rounding not in ROUNDING_MODES:
            raise FixedTypeError(f"rounding mode {self.rounding!r} unknown; use one of {ROUNDING_MODES}")
        if self.overflow not in OVERFLOW_MODES:
            raise FixedTypeError(f"overflow mode {self.overflow!r} unknown; use one of {OVERFLOW_MODES}")

    @property
    def frac(self) -> int:
        """Fraction bits: the value of integer q is q * 2**-frac."""
        return self.width - self.integer

    @property
    def qmin(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def qmax(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def scale(self) -> float:
        return 2.0 ** -self.frac

    def hls(self) -> str:
        """The hls4ml precision string, e.g. ``ufixed<8,3,RND_CONV,SAT>``."""
        base = "fixed" if self.signed else "ufixed"
        if self.rounding == "TRN" and self.overflow == "WRAP":
            return f"{base}<{self.width},{self.integer}>"
        return f"{base}<{self.width},{self.integer},{self.rounding},{self.overflow}>"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "FixedType":
        return cls(**d)

    @classmethod
    def parse(cls, text: str) -> "FixedType":
        """Read ``fixed<W,I[,RND,OVF]>`` / ``ufixed<...>`` as hls4ml writes them."""
        m = re.fullmatch(r"\s*(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*(\w+)\s*)?(?:,\s*(\w+)\s*)?>\s*", text)
        if not m:
            raise FixedTypeError(f"cannot read fixed-point type {text!r}; write e.g. fixed<16,6> or ufixed<8,0,RND,SAT>")
        return cls(int(m[2]), int(m[3]), signed=not m[1], rounding=m[4] or "TRN", overflow=m[5] or "WRAP")

    def same_values(self, other: "FixedType") -> bool:
        """Same set of representable values (rounding/overflow only say how values were produced)."""
        return (self.width, self.integer, self.signed) == (other.width, other.integer, other.signed)

    def with_(self, **kw) -> "FixedType":
        return replace(self, **kw)

    def contains(self, q: np.ndarray) -> bool:
        q = np.asarray(q)
        return q.size == 0 or (int(q.min()) >= self.qmin and int(q.max()) <= self.qmax)


def bits_for_range(lo: int, hi: int, signed: bool) -> int:
    """Smallest width whose integer range holds [lo, hi]."""
    if signed:
        w = 1
        while not (-(1 << (w - 1)) <= lo and hi <= (1 << (w - 1)) - 1):
            w += 1
        return w
    if lo < 0:
        raise FixedTypeError("an unsigned type cannot hold negative values")
    return max(1, int(hi).bit_length())


def shift_round(q: np.ndarray, shift: int, rounding: str) -> np.ndarray:
    """q * 2**-shift rounded to an integer with an ap_fixed rounding mode (shift > 0).

    Each mode is one biased arithmetic shift, (q + bias) >> shift, with the bias chosen so that
    ties go where the mode sends them; tests/test_fixed.py checks every mode against exact rationals.
    """
    q = q.astype(np.int64, copy=False)
    half = np.int64(1) << (shift - 1)
    if rounding == "TRN":
        return q >> shift
    if rounding == "RND":  # ties toward +inf
        return (q + half) >> shift
    if rounding == "RND_MIN_INF":  # ties toward -inf
        return (q + (half - 1)) >> shift
    if rounding == "RND_CONV":  # ties to even: add 1 more exactly when the truncated result is odd
        return (q + (half - 1) + ((q >> shift) & 1)) >> shift
    if rounding == "RND_ZERO":  # ties toward zero
        return (q + (half - 1) + (q < 0)) >> shift
    if rounding == "RND_INF":  # ties away from zero
        return (q + (half - 1) + (q >= 0)) >> shift
    if rounding == "TRN_ZERO":  # truncate toward zero
        return (q + np.where(q < 0, (np.int64(1) << shift) - 1, 0)) >> shift
    raise FixedTypeError(f"rounding mode {rounding!r} unknown")


def overflow(q: np.ndarray, t: FixedType) -> np.ndarray:
    """Bring integers into t's range by saturation or two's-complement wrap."""
    if t.overflow == "SAT":
        return np.clip(q, t.qmin, t.qmax)
    if t.overflow == "SAT_SYM":
        lo = -t.qmax if t.signed else 0
        return np.clip(q, lo, t.qmax)
    mask = (np.int64(1) << t.width) - 1
    w = q & mask
    if t.signed:
        w = np.where(w > t.qmax, w - (np.int64(1) << t.width), w)
    return w


def cast(q: np.ndarray, src_frac: int, dst: FixedType) -> np.ndarray:
    """Integers with `src_frac` fraction bits cast to type `dst`, as ap_fixed assignment does."""
    q = np.asarray(q, dtype=np.int64)
    shift = src_frac - dst.frac
    if shift > 0:
        q = shift_round(q, shift, dst.rounding)
    elif shift < 0:
        q = q << (-shift)
    return overflow(q, dst)


def quantize_real(x: np.ndarray, t: FixedType) -> np.ndarray:
    """Real numbers to t's integers, rounded and brought into range exactly as t's modes say.

    x * 2**frac is exact in float64 (a power-of-two scale), and each rounding mode is decided on
    its exact fractional part, so the result is the correctly rounded integer for every float input
    (RND_CONV is round-half-to-even, as QKeras' tf.round)."""
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise FixedTypeError("inputs contain NaN or infinity; they have no fixed-point value")
    s = np.clip(np.ldexp(x, t.frac), -2.0 ** 62, 2.0 ** 62)
    fl = np.floor(s)
    r = s - fl  # exact
    up = {"TRN": np.zeros_like(r, bool), "RND": r >= 0.5, "RND_MIN_INF": r > 0.5,
          "RND_ZERO": (r > 0.5) | ((r == 0.5) & (s < 0)), "RND_INF": (r > 0.5) | ((r == 0.5) & (s > 0)),
          "RND_CONV": (r > 0.5) | ((r == 0.5) & (np.mod(fl, 2) == 1)),
          "TRN_ZERO": (r > 0) & (s < 0)}[t.rounding]
    q = (fl + up).astype(np.int64)
    return overflow(q, t)


def to_real(q: np.ndarray, t: FixedType) -> np.ndarray:
    return np.ldexp(np.asarray(q, dtype=np.float64), -t.frac)


def exact_integers(values: np.ndarray, max_frac: int = 24) -> tuple[np.ndarray, int]:
    """Smallest fraction count f with values * 2**f all integers, and those integers.

    Raises if the values are not dyadic within `max_frac` bits (e.g. a non power-of-two
    quantizer scale), because such weights have no exact fixed-point form.
    """
    v = np.asarray(values, dtype=np.float64)
    for f in range(-8, max_frac + 1):
        s = np.ldexp(v, f)
        if np.all(s == np.round(s)):
            return s.astype(np.int64), f
    raise FixedTypeError(
        f"values are not fixed-point numbers with <= {max_frac} fraction bits "
        f"(e.g. {v.ravel()[np.argmax(np.abs(np.ldexp(v, max_frac) - np.round(np.ldexp(v, max_frac))))]!r}); "
        "use a power-of-two quantizer scale (alpha=1 or 'auto_po2')")
