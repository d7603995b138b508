"""The integer casts are ap_fixed's: checked against exact rational arithmetic and hls4ml's `quantizers`."""
from fractions import Fraction
import math

import numpy as np
import pytest

from codesign.fixed import ROUNDING_MODES, FixedType, FixedTypeError, cast, exact_integers


def reference_round(v: Fraction, mode: str) -> int:
    fl = math.floor(v)
    rem = v - fl
    if mode == "TRN":
        return fl
    if mode == "TRN_ZERO":
        return fl if v >= 0 or rem == 0 else fl + 1
    if rem != Fraction(1, 2):
        return fl + (rem > Fraction(1, 2))
    return {"RND": fl + 1, "RND_MIN_INF": fl, "RND_CONV": fl + (fl % 2), "RND_ZERO": fl + (v < 0),
            "RND_INF": fl + (v > 0)}[mode]


@pytest.mark.parametrize("mode", ROUNDING_MODES)
def test_rounding_matches_exact_rationals(mode):
    q = np.arange(-70, 71, dtype=np.int64)
    t = FixedType(16, 12, rounding=mode, overflow="SAT")  # frac 4, from frac 7: shift 3
    got = cast(q, 7, t)
    want = [reference_round(Fraction(int(v), 8), mode) for v in q]
    assert got.tolist() == want


def test_overflow_modes():
    t = FixedType(4, 4)
    q = np.array([-9, -8, 7, 8, 9, 23])
    assert cast(q, 0, t).tolist() == [7, -8, 7, -8, -7, 7]  # two's complement wrap
    assert cast(q, 0, t.with_(overflow="SAT")).tolist() == [-8, -8, 7, 7, 7, 7]
    assert cast(q, 0, t.with_(overflow="SAT_SYM")).tolist() == [-7, -7, 7, 7, 7, 7]
    u = FixedType(3, 3, signed=False, overflow="SAT")
    assert cast(np.array([-3, 0, 9]), 0, u).tolist() == [0, 0, 7]


@pytest.mark.parametrize("mode", ["TRN", "RND", "RND_CONV", "RND_ZERO", "RND_INF", "RND_MIN_INF", "TRN_ZERO"])
@pytest.mark.parametrize("ovf", ["WRAP", "SAT"])
def test_cast_matches_hls4ml_quantizers(mode, ovf):
    quantizers = pytest.importorskip("quantizers")
    rng = np.random.default_rng(1)
    q = rng.integers(-5000, 5000, 4000)
    t = FixedType(8, 3, signed=True, rounding=mode, overflow=ovf)
    ours = cast(q, 9, t) * 2.0 ** -t.frac
    theirs = quantizers.get_fixed_quantizer_np(round_mode=mode, overflow_mode=ovf)(
        q * 2.0 ** -9, k=np.array(1), i=np.array(t.integer - 1), f=np.array(t.frac))
    assert np.array_equal(ours, theirs)


def test_type_strings_round_trip():
    for text in ("fixed<18,6>", "ufixed<8,3,RND_CONV,SAT>", "fixed<2,-2>"):
        assert FixedType.parse(text).hls() == text
    with pytest.raises(FixedTypeError, match="fixed<16,6>"):
        FixedType.parse("float")
    with pytest.raises(FixedTypeError, match="rounding mode"):
        FixedType(8, 2, rounding="NEAREST")


def test_exact_integers_rejects_non_dyadic():
    ints, frac = exact_integers(np.array([0.25, -0.5, 0.0]))
    assert frac == 2 and ints.tolist() == [1, -2, 0]
    with pytest.raises(FixedTypeError, match="power-of-two"):
        exact_integers(np.array([0.1]))
