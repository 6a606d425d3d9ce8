"""Runs `examples/guide.py` with the strict array library registered, so that
`--device strict:0` places the whole guide on a "device" whose arrays refuse implicit
conversion to the host (as CuPy's do). Used by `tests/models/test_examples_on_device.py`:

    python tests/guide_on_strict.py --small --device strict:0 [--data PATH]

The arguments are the guide's own. After the guide ends, one line starting with
`DEVICE-CHECK ` gives, as JSON, where the guide's objects ended up (the type of some of its
results and weights, and how many calls the strict fused core ran), for the test to check
that the work was done on the device and not on the host.
"""

import json
import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(os.path.dirname(HERE), "examples")
sys.path[:0] = [HERE, EXAMPLES]

import strict_arrays  # noqa: E402

strict_arrays.register()
sys.argv = [os.path.join(EXAMPLES, "guide.py")] + sys.argv[1:]
guide = runpy.run_path(sys.argv[0], run_name="__main__")


def _kind(value):
    value = getattr(value, "value", value)          # a Variable's array
    return type(value).__name__


print("DEVICE-CHECK " + json.dumps({
    "new_output": _kind(guide["new_output"]),                    # RNN state reuse
    "stateful_states": [_kind(s) for s in guide["existing_state"]],
    "nested_model_weights": sorted({_kind(w) for w in guide["model"].weights}),
    "noncudnn_weights": sorted({_kind(w) for w in guide["noncudnn_model"].weights}),
    "cpu_model_weights": sorted({_kind(w) for w in guide["cpu_model"].weights}),
    "prediction": _kind(guide["result"]),
    "fused_core_calls": strict_arrays.StrictSequence.calls,
}), flush=True)
