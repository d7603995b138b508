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


def tiny_graph():
    """Two dense layers reading the input, added: operand types of 3 and 2 fraction bits."""
    from codesign.kinds.merge import accum_type

    t_in = FixedType(4, 0, signed=False)
    rng = np.random.default_rng(1)

    def dense(name, out_t):
        types = {"input": t_in, "weight": FixedType(3, 1), "product": FixedType(7, 1), "accum": FixedType(9, 3),
                 "output": out_t}
        return Layer(name, "dense", (5,), (4,), {"activation": "linear"}, types,
                     {"weight": rng.integers(-4, 4, (5, 4))}, inputs=["@input"])

    a = dense("a", FixedType(5, 2, rounding="RND_CONV", overflow="SAT"))
    b = dense("b", FixedType(4, 2, signed=True, rounding="RND_CONV", overflow="SAT"))
    acc = accum_type("add", [a.out_type, b.out_type])
    add = Layer("add", "add", (4,), (4,), {"activation": "linear"},
                {"input": a.out_type, "input_1": b.out_type, "accum": acc, "output": acc}, inputs=["a", "b"])
    return DesignSpec("tiny_graph", (5,), t_in, [a, b, add])


def test_graph_spec_round_trips_and_adds_exactly(tmp_path):
    """A graph spec saves its `inputs`, reloads equal, and its add is the exact real sum of its operands
    (fraction bits 3 and 2 aligned to 3, sums in [-4, 3.625]: 6 bits, no rounding, no wrap); a chain spec has no `inputs` in spec.json."""
    import json

    from codesign.emulator import forward
    from codesign.fixed import to_real

    spec = tiny_graph()
    assert spec.is_graph and spec.layers[-1].types["accum"].hls() == "fixed<6,3>"
    spec.save(tmp_path / "g")
    back = DesignSpec.load(tmp_path / "g")
    assert [l.inputs for l in back.layers] == [["@input"], ["@input"], ["a", "b"]]
    x = np.random.default_rng(2).integers(0, 16, (200, 5))
    outs = {l.name: (y, l.out_type) for l, y in forward(back, x)}
    total = to_real(*outs["a"]) + to_real(*outs["b"])
    assert np.array_equal(to_real(*outs["add"]), total) and np.abs(total).max() > 2
    tiny_spec().save(tmp_path / "c")
    assert "inputs" not in json.loads((tmp_path / "c" / "spec.json").read_text())["layers"][0]
    assert not tiny_spec().is_graph


@pytest.mark.parametrize("change,needle", [
    (lambda s: s.layers[2].__setattr__("inputs", ["a", "zz"]), "reads 'zz', which is neither"),
    (lambda s: s.layers.insert(2, Layer("c", "flatten", (4,), (4,), {}, {"input": s.layers[0].out_type,
                                                                       "output": s.layers[0].out_type}, inputs=["a"])),
     "the output of layer 'c' is never read"),
    (lambda s: s.layers[2].types.__setitem__("input_1", FixedType(4, 1)), "operand 1 type fixed<4,1> != output of 'b'"),
    (lambda s: s.layers[2].types.__setitem__("accum", FixedType(5, 2)), "does not hold every result"),
    (lambda s: s.layers[1].__setattr__("inputs", ["@input", "a"]), "reads 2 inputs; only a merge"),
])
def test_graph_validation_names_the_fault(change, needle):
    spec = tiny_graph()
    change(spec)
    with pytest.raises(SpecError, match=needle):
        spec.validate()
