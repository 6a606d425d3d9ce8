"""The order of a functional model's layers, operations and weights is Keras 3's.

Keras orders a functional model's operations by depth (distance from the outputs), deepest
first, ties in the order a depth-first walk from the outputs first reaches them; `layers`,
`weights`, `get_weights`/`set_weights` and `summary` follow it. Every expected list below was
read from Keras 3.15 (JAX backend) on the same graph built with `keras` instead of `rnnkit`.
"""

import numpy as np
import pytest

import rnnkit as keras
from rnnkit import layers as L
from rnnkit import ops
from rnnkit.graph import Operation
from helpers import assert_close  # noqa: E402


def guide():
    encoder_input = keras.Input(shape=(None,), name="enc_in")
    encoder_embedded = L.Embedding(input_dim=1000, output_dim=64, name="enc_emb")(encoder_input)
    output, state_h, state_c = L.LSTM(64, return_state=True, name="encoder")(encoder_embedded)
    decoder_input = keras.Input(shape=(None,), name="dec_in")
    decoder_embedded = L.Embedding(input_dim=2000, output_dim=64, name="dec_emb")(decoder_input)
    decoder_output = L.LSTM(64, name="decoder")(decoder_embedded,
                                                initial_state=[state_h, state_c])
    output = L.Dense(10, name="out")(decoder_output)
    return keras.Model([encoder_input, decoder_input], output)


def chain():
    x = keras.Input((5,), name="x")
    return keras.Model(x, L.Dense(3, name="d2")(L.Dense(4, name="d1")(x)))


def shared_two_inputs():
    a = keras.Input((5,), name="a")
    b = keras.Input((5,), name="b")
    shared = L.Dense(4, name="shared")
    ya, yb = shared(a), shared(b)
    return keras.Model([a, b], [L.Dense(2, name="head1")(ya), L.Dense(3, name="head2")(yb)])


def shared_chain():
    x = keras.Input((4,), name="x")
    shared = L.Dense(4, name="shared")
    y = shared(L.Dense(4, name="pre")(x))
    y = shared(L.Dense(4, name="mid")(y))
    return keras.Model(x, L.Dense(2, name="post")(y))


def shared_uneven():
    # A layer shared by two branches at different depths takes the larger depth.
    x = keras.Input((4,), name="x")
    shared = L.Dense(4, name="shared")
    deep = L.Dense(4, name="deep3")(L.Dense(4, name="deep2")(L.Dense(4, name="deep1")(x)))
    o1 = L.Dense(1, name="o1")(shared(deep))
    o2 = L.Dense(1, name="o2")(shared(x))
    return keras.Model(x, [o2, o1])


def nested():
    inner_in = keras.Input((4,), name="inner_in")
    inner = keras.Model(inner_in, L.Dense(3, name="inner_d2")(
        L.Dense(5, name="inner_d1")(inner_in)), name="inner")
    x = keras.Input((6,), name="x")
    y = inner(L.Dense(4, name="pre")(x))
    seq = keras.Sequential([L.Dense(7, name="seq_d1"), L.Dense(2, name="seq_d2")], name="seq")
    return keras.Model(x, [seq(y), L.Dense(3, name="side")(x)])


def multi_io_depths():
    # The second input joins late (through an initial state): it sits at a shallow depth.
    seq_in = keras.Input((None, 3), name="seq_in")
    state_in = keras.Input((8,), name="state_in")
    h = L.GRU(8, return_sequences=True, name="gru1")(L.Dense(8, name="proj")(seq_in))
    s = L.Dense(8, name="state_proj")(state_in)
    h2 = L.GRU(8, name="gru2")(h, initial_state=s)
    return keras.Model([state_in, seq_in],
                       [L.Dense(2, name="head_a")(h2), L.Dense(1, name="head_b")(s)])


def unused_input():
    a = keras.Input((3,), name="a")
    b = keras.Input((3,), name="b")
    return keras.Model([a, b], L.Dense(2, name="d")(a))


def rnn_stack():
    x = keras.Input((None, 4), name="x")
    # The wrapped layers are named: their automatic names depend on what ran before.
    h = L.Bidirectional(L.LSTM(5, return_sequences=True, name="lstm"), name="bi")(
        L.Masking(name="mask")(x))
    h = L.BatchNormalization(name="bn")(L.TimeDistributed(L.Dense(3, name="dense"),
                                                          name="td")(h))
    h = L.Dropout(0.1, name="drop")(L.SimpleRNN(6, name="srnn")(h))
    return keras.Model(x, L.Dense(1, name="out")(h))


def outputs_reversed():
    x = keras.Input((3,), name="x")
    a = L.Dense(3, name="a")(x)
    c = L.Dense(3, name="c")(L.Dense(3, name="b")(a))
    return keras.Model(x, [L.Dense(2, name="side")(x), c, a])


def initial_state_order():
    x = keras.Input((None, 3), name="x")
    h0_in = keras.Input((4,), name="h0_in")
    c0_in = keras.Input((4,), name="c0_in")
    c0 = L.Dense(4, name="c_proj")(c0_in)
    h0 = L.Dense(4, name="h_proj")(h0_in)
    return keras.Model([x, h0_in, c0_in], L.LSTM(4, name="lstm")(x, initial_state=[h0, c0]))


def ops_merge():
    a = keras.Input((None, 3), name="a")
    b = keras.Input((None, 3), name="b")
    ha = L.LSTM(4, name="lstm_a")(a)
    hb = L.GRU(4, name="gru_b")(L.Dense(3, name="pre_b")(b))
    merged = ops.concatenate([ha, hb], axis=-1)
    res = L.Dense(8, name="proj")(merged) + merged
    return keras.Model([a, b], L.Dense(1, name="out")(ops.tanh(res)))


def ops_on_inputs():
    x = keras.Input((None, 4), name="x")
    y = L.Dense(3, name="d1")(ops.mean(x, axis=1))
    z = L.Dense(3, name="d2")(x[:, 0, :] * 2.0 - 1.0)
    return keras.Model(x, [ops.maximum(y, z), L.Dense(2, name="d3")(y)])


def shared_nested():
    inner_in = keras.Input((4,), name="inner_in")
    inner = keras.Model(inner_in, L.Dense(2, name="inner_d")(
        L.Dense(4, name="inner_h")(inner_in)), name="inner")
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    ya = inner(L.Dense(4, name="pre_a")(a))
    yb = inner(b)
    return keras.Model([a, b], [L.Dense(1, name="head")(ya), yb])


LSTM_64 = [(64, 256), (64, 256), (256,)]

# graph -> (layer names, weight paths and shapes), as Keras 3.15 lists them.
EXPECTED = {
    guide: (["enc_in", "dec_in", "enc_emb", "dec_emb", "encoder", "decoder", "out"],
            [("enc_emb/embeddings", (1000, 64)), ("dec_emb/embeddings", (2000, 64)),
             ("encoder/lstm_cell/kernel", (64, 256)),
             ("encoder/lstm_cell/recurrent_kernel", (64, 256)),
             ("encoder/lstm_cell/bias", (256,)), ("decoder/lstm_cell/kernel", (64, 256)),
             ("decoder/lstm_cell/recurrent_kernel", (64, 256)),
             ("decoder/lstm_cell/bias", (256,)), ("out/kernel", (64, 10)), ("out/bias", (10,))]),
    chain: (["x", "d1", "d2"],
            [("d1/kernel", (5, 4)), ("d1/bias", (4,)), ("d2/kernel", (4, 3)),
             ("d2/bias", (3,))]),
    shared_two_inputs: (["a", "b", "shared", "head1", "head2"],
                        [("shared/kernel", (5, 4)), ("shared/bias", (4,)),
                         ("head1/kernel", (4, 2)), ("head1/bias", (2,)),
                         ("head2/kernel", (4, 3)), ("head2/bias", (3,))]),
    shared_chain: (["x", "pre", "shared", "mid", "post"],
                   [("pre/kernel", (4, 4)), ("pre/bias", (4,)), ("shared/kernel", (4, 4)),
                    ("shared/bias", (4,)), ("mid/kernel", (4, 4)), ("mid/bias", (4,)),
                    ("post/kernel", (4, 2)), ("post/bias", (2,))]),
    shared_uneven: (["x", "deep1", "deep2", "deep3", "shared", "o2", "o1"],
                    [("deep1/kernel", (4, 4)), ("deep1/bias", (4,)), ("deep2/kernel", (4, 4)),
                     ("deep2/bias", (4,)), ("deep3/kernel", (4, 4)), ("deep3/bias", (4,)),
                     ("shared/kernel", (4, 4)), ("shared/bias", (4,)), ("o2/kernel", (4, 1)),
                     ("o2/bias", (1,)), ("o1/kernel", (4, 1)), ("o1/bias", (1,))]),
    nested: (["x", "pre", "inner", "seq", "side"],
             [("pre/kernel", (6, 4)), ("pre/bias", (4,)), ("inner_d1/kernel", (4, 5)),
              ("inner_d1/bias", (5,)), ("inner_d2/kernel", (5, 3)), ("inner_d2/bias", (3,)),
              ("seq/seq_d1/kernel", (3, 7)), ("seq/seq_d1/bias", (7,)),
              ("seq/seq_d2/kernel", (7, 2)), ("seq/seq_d2/bias", (2,)),
              ("side/kernel", (6, 3)), ("side/bias", (3,))]),
    multi_io_depths: (["seq_in", "proj", "state_in", "gru1", "state_proj", "gru2", "head_a",
                       "head_b"],
                      [("proj/kernel", (3, 8)), ("proj/bias", (8,)),
                       ("gru1/gru_cell/kernel", (8, 24)),
                       ("gru1/gru_cell/recurrent_kernel", (8, 24)),
                       ("gru1/gru_cell/bias", (2, 24)), ("state_proj/kernel", (8, 8)),
                       ("state_proj/bias", (8,)), ("gru2/gru_cell/kernel", (8, 24)),
                       ("gru2/gru_cell/recurrent_kernel", (8, 24)),
                       ("gru2/gru_cell/bias", (2, 24)), ("head_a/kernel", (8, 2)),
                       ("head_a/bias", (2,)), ("head_b/kernel", (8, 1)), ("head_b/bias", (1,))]),
    unused_input: (["a", "b", "d"], [("d/kernel", (3, 2)), ("d/bias", (2,))]),
    rnn_stack: (["x", "mask", "bi", "td", "bn", "srnn", "drop", "out"],
                [("bi/forward_lstm/lstm_cell/kernel", (4, 20)),
                 ("bi/forward_lstm/lstm_cell/recurrent_kernel", (5, 20)),
                 ("bi/forward_lstm/lstm_cell/bias", (20,)),
                 ("bi/backward_lstm/lstm_cell/kernel", (4, 20)),
                 ("bi/backward_lstm/lstm_cell/recurrent_kernel", (5, 20)),
                 ("bi/backward_lstm/lstm_cell/bias", (20,)), ("td/dense/kernel", (10, 3)),
                 ("td/dense/bias", (3,)), ("bn/gamma", (3,)), ("bn/beta", (3,)),
                 ("bn/moving_mean", (3,)), ("bn/moving_variance", (3,)),
                 ("srnn/simple_rnn_cell/kernel", (3, 6)),
                 ("srnn/simple_rnn_cell/recurrent_kernel", (6, 6)),
                 ("srnn/simple_rnn_cell/bias", (6,)), ("out/kernel", (6, 1)), ("out/bias", (1,))]),
    outputs_reversed: (["x", "a", "b", "side", "c"],
                       [("a/kernel", (3, 3)), ("a/bias", (3,)), ("b/kernel", (3, 3)),
                        ("b/bias", (3,)), ("side/kernel", (3, 2)), ("side/bias", (2,)),
                        ("c/kernel", (3, 3)), ("c/bias", (3,))]),
    initial_state_order: (["h0_in", "c0_in", "x", "h_proj", "c_proj", "lstm"],
                          [("h_proj/kernel", (4, 4)), ("h_proj/bias", (4,)),
                           ("c_proj/kernel", (4, 4)), ("c_proj/bias", (4,)),
                           ("lstm/lstm_cell/kernel", (3, 16)),
                           ("lstm/lstm_cell/recurrent_kernel", (4, 16)),
                           ("lstm/lstm_cell/bias", (16,))]),
    ops_merge: (["b", "a", "pre_b", "lstm_a", "gru_b", "proj", "out"],
                [("pre_b/kernel", (3, 3)), ("pre_b/bias", (3,)),
                 ("lstm_a/lstm_cell/kernel", (3, 16)),
                 ("lstm_a/lstm_cell/recurrent_kernel", (4, 16)),
                 ("lstm_a/lstm_cell/bias", (16,)), ("gru_b/gru_cell/kernel", (3, 12)),
                 ("gru_b/gru_cell/recurrent_kernel", (4, 12)), ("gru_b/gru_cell/bias", (2, 12)),
                 ("proj/kernel", (8, 8)), ("proj/bias", (8,)), ("out/kernel", (8, 1)),
                 ("out/bias", (1,))]),
    ops_on_inputs: (["x", "d1", "d2", "d3"],
                    [("d1/kernel", (4, 3)), ("d1/bias", (3,)), ("d2/kernel", (4, 3)),
                     ("d2/bias", (3,)), ("d3/kernel", (3, 2)), ("d3/bias", (2,))]),
    shared_nested: (["a", "pre_a", "inner", "b", "head"],
                    [("pre_a/kernel", (4, 4)), ("pre_a/bias", (4,)), ("inner_h/kernel", (4, 4)),
                     ("inner_h/bias", (4,)), ("inner_d/kernel", (4, 2)), ("inner_d/bias", (2,)),
                     ("head/kernel", (2, 1)), ("head/bias", (1,))]),
}

# Keras' `model.operations` (layers and ops) for the graphs with ops; op names are relative to
# the first op of each kind, as each graph is built in a fresh session.
EXPECTED_OPERATIONS = {
    ops_merge: ["b", "a", "pre_b", "lstm_a", "gru_b", "concatenate", "proj", "add", "tanh",
                "out"],
    ops_on_inputs: ["x", "get_item", "multiply", "mean", "subtract", "d1", "d2", "maximum",
                    "d3"],
}

GRAPHS = list(EXPECTED)


def _inputs_for(model, rng):
    values = []
    for t in model.inputs:
        shape = tuple(2 if s is None else s for s in t.shape)
        if t.dtype.startswith("int") or t.history[0].name in ("enc_in", "dec_in"):
            values.append(rng.integers(1, 50, shape))
        else:
            values.append(rng.standard_normal(shape).astype("float32"))
    return values[0] if len(values) == 1 else values


@pytest.mark.parametrize("build", GRAPHS, ids=lambda g: g.__name__)
def test_layers_and_weights_follow_keras_order(build):
    model = build()
    names, weights = EXPECTED[build]
    assert [layer.name for layer in model.layers] == names
    assert [(w.path, tuple(w.shape)) for w in model.weights] == weights
    assert [tuple(w.shape) for w in model.get_weights()] == [shape for _, shape in weights]
    trainable = [path for path, _ in weights
                 if not path.endswith(("moving_mean", "moving_variance"))]
    assert [w.path for w in model.trainable_weights] == trainable


@pytest.mark.parametrize("build", list(EXPECTED_OPERATIONS), ids=lambda g: g.__name__)
def test_operations_list_ops_in_keras_order(build):
    model = build()
    strip = lambda name: name.rsplit("_", 1)[0] if name.rsplit("_", 1)[-1].isdigit() else name
    assert [strip(op.name) if isinstance(op, Operation) else op.name
            for op in model.operations] == EXPECTED_OPERATIONS[build]
    assert [layer.name for layer in model.layers] == [
        op.name for op in model.operations if not isinstance(op, Operation)]


@pytest.mark.parametrize("build", GRAPHS, ids=lambda g: g.__name__)
def test_replay_order_is_topological_and_config_keeps_the_order(build):
    model = build()
    produced = {id(t) for t in model.inputs}
    for node in model._nodes:
        assert all(id(t) in produced for t in node.input_tensors)
        produced.update(id(t) for t in node.output_tensors)
    rng = np.random.default_rng(0)
    x = _inputs_for(model, rng)
    expected = model(x)
    clone = keras.Model.from_config(model.get_config())
    assert [layer.name for layer in clone.layers] == EXPECTED[build][0]
    assert [tuple(w.shape) for w in clone.weights] == [shape for _, shape in EXPECTED[build][1]]
    clone.set_weights(model.get_weights())
    for a, b in zip(keras.tree.flatten(expected), keras.tree.flatten(clone(x))):
        assert_close(a, b, rtol=1e-6, atol=1e-6)


def test_set_weights_in_keras_order_lands_in_the_right_layers():
    # The guide's encoder-decoder: Keras lists both Embeddings before the LSTMs.
    model = guide()
    shapes = [shape for _, shape in EXPECTED[guide][1]]
    weights = [np.full(shape, float(i), dtype="float32") for i, shape in enumerate(shapes)]
    model.set_weights(weights)
    assert np.all(model.get_layer("enc_emb").embeddings.numpy() == 0)
    assert np.all(model.get_layer("dec_emb").embeddings.numpy() == 1)
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    assert [float(w.numpy().flat[0]) for w in encoder.weights] == [2, 3, 4]
    assert [float(w.numpy().flat[0]) for w in decoder.weights] == [5, 6, 7]
    assert [float(w.numpy().flat[0]) for w in model.get_layer("out").weights] == [8, 9]
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    # A list in the old order (encoder Embedding, then its LSTM) no longer fits.
    old_order = [weights[0]] + weights[2:5] + [weights[1]] + weights[5:]
    with pytest.raises(ValueError, match="weight shape"):
        model.set_weights(old_order)


def _summary_rows(model):
    captured = []
    model.summary(print_fn=captured.append, line_length=200)
    rows = [line.split("│")[1].strip() for line in captured[0].split("\n")
            if line.startswith("│")]
    return [row.split(" (")[0] for row in rows if row and not row.startswith("(")]


@pytest.mark.parametrize("build", [guide, multi_io_depths, shared_uneven, initial_state_order],
                         ids=lambda g: g.__name__)
def test_summary_lists_layers_in_keras_order(build):
    assert _summary_rows(build()) == EXPECTED[build][0]


def test_summary_lists_ops_like_keras():
    # The table Keras 3.15 prints for the same model (model name aside).
    a = keras.Input((3,), name="a")
    b = keras.Input((3,), name="b")
    h = L.Dense(3, name="d")(a)
    c = ops.concatenate([h, b], axis=-1)
    p, q = ops.split(c, 2, axis=1)
    model = keras.Model([a, b], [L.Dense(2, name="o")(c * 2.0), h + b, ops.mean(c, axis=1),
                                 p, q], name="functional")
    for op in model.operations:     # the names a fresh Keras session gives
        if isinstance(op, Operation):
            op.name = op.op_name
    captured = []
    model.summary(print_fn=captured.append, line_length=80)
    assert captured[0] == "\n".join([
        'Model: "functional"',
        "┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓",
        "┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃",
        "┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩",
        "│ a (InputLayer)      │ (None, 3)         │          0 │ -                 │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ d (Dense)           │ (None, 3)         │         12 │ a[0][0]           │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ b (InputLayer)      │ (None, 3)         │          0 │ -                 │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ concatenate         │ (None, 6)         │          0 │ d[0][0], b[0][0]  │",
        "│ (Concatenate)       │                   │            │                   │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ multiply (Multiply) │ (None, 6)         │          0 │ concatenate[0][0] │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ o (Dense)           │ (None, 2)         │         14 │ multiply[0][0]    │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ add (Add)           │ (None, 3)         │          0 │ d[0][0], b[0][0]  │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ mean (Mean)         │ (None)            │          0 │ concatenate[0][0] │",
        "├─────────────────────┼───────────────────┼────────────┼───────────────────┤",
        "│ split (Split)       │ [(None, 3),       │          0 │ concatenate[0][0] │",
        "│                     │ (None, 3)]        │            │                   │",
        "└─────────────────────┴───────────────────┴────────────┴───────────────────┘",
        " Total params: 26 (104.00 B)",
        " Trainable params: 26 (104.00 B)",
        " Non-trainable params: 0 (0.00 B)"])


def test_saved_model_keeps_the_order(tmp_path):
    model = guide()
    path = tmp_path / "guide.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [layer.name for layer in loaded.layers] == EXPECTED[guide][0]
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
