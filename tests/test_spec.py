"""The spec is plain data: it round-trips through JSON + npz and loads without TensorFlow."""
import subprocess
import sys

import numpy as np
import pytest

from codesign.fixed import FixedType
from codesign.spec import DesignSpec, Layer, SpecError


def tiny_spec():
    t_in = FixedType(8, 0, signed=False)
    types = {"input": t_in, "weight": FixedType(2, 2), "bias": FixedType(4, 2), "product": FixedType(10, 2),
             "accum": FixedType(14, 6), "output": FixedType(6, 3, signed=False, rounding="RND_CONV", overflow="SAT")}
    rng = np.random.default_rng(0)
    dense = Layer("fc", "dense", (6,), (3,), {"activation": "relu"}, types,
                  {"weight": rng.integers(-1, 2, (6, 3)), "bias": rng.integers(-8, 8, 3)})
    return DesignSpec("tiny", (6,), t_in, [dense])


def test_round_trip(tmp_path):
    spec = tiny_spec()
    spec.save(tmp_path)
    back = DesignSpec.load(tmp_path)
    assert back.layers[0].types == spec.layers[0].types
    assert np.array_equal(back.layers[0].params["weight"], spec.layers[0].params["weight"])


def test_loads_and_emulates_without_tensorflow(tmp_path):
    tiny_spec().save(tmp_path)
    code = ("import sys, numpy as np; from codesign.spec import DesignSpec; from codesign.emulator import Emulator;"
            f"s = DesignSpec.load({str(tmp_path)!r}); Emulator(s).run(np.zeros((2, 6), np.uint8));"
            "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_validate_catches_values_outside_their_type():
    spec = tiny_spec()
    spec.layers[0].params["weight"][0, 0] = 5
    with pytest.raises(SpecError, match="weight values do not fit fixed<2,2>"):
        spec.validate()


def test_missing_spec_names_the_fix(tmp_path):
    with pytest.raises(SpecError, match="codesign flow"):
        DesignSpec.load(tmp_path)
