"""Op cases run on every array library (tests/support/test_ops.py, tests/support/test_autodiff.py): name ->
(function of the `rnnkit.ops` module and its arrays, host arrays its arguments)."""

import numpy as np
R = np.random.default_rng(0)
A = R.standard_normal((3, 4)).astype("float32")
B = R.standard_normal((3, 4)).astype("float32")
P = (np.abs(A) + 0.5).astype("float32")
M = R.standard_normal((4, 5)).astype("float32")
X3 = R.standard_normal((2, 3, 4)).astype("float32")
I = np.array([[0, 2, 1, 3], [1, 1, 0, 2], [3, 0, 2, 1]], dtype="int32")
LBL = np.array([0, 2, 1], dtype="int32")
PROB = (np.exp(A) / np.exp(A).sum(-1, keepdims=True)).astype("float32")
ONEHOT = np.eye(4, dtype="float32")[[0, 2, 1]]
COND = A > 0
CASES = {
 "abs": (lambda o, a: o.abs(a), [A]), "exp": (lambda o, a: o.exp(a), [A]),
 "log": (lambda o, a: o.log(a), [P]), "sqrt": (lambda o, a: o.sqrt(a), [P]),
 "square": (lambda o, a: o.square(a), [A]), "negative": (lambda o, a: o.negative(a), [A]),
 "tanh": (lambda o, a: o.tanh(a), [A]), "sigmoid": (lambda o, a: o.sigmoid(a), [A]),
 "relu": (lambda o, a: o.relu(a), [A]), "softplus": (lambda o, a: o.softplus(a), [A]),
 "gelu": (lambda o, a: o.gelu(a), [A]), "silu": (lambda o, a: o.silu(a), [A]),
 "elu": (lambda o, a: o.elu(a), [A]), "selu": (lambda o, a: o.selu(a), [A]),
 "leaky_relu": (lambda o, a: o.leaky_relu(a), [A]), "softsign": (lambda o, a: o.softsign(a), [A]),
 "hard_sigmoid": (lambda o, a: o.hard_sigmoid(a), [A]),
 "softmax": (lambda o, a: o.softmax(a, axis=-1), [A]),
 "log_softmax": (lambda o, a: o.log_softmax(a, axis=-1), [A]),
 "sin": (lambda o, a: o.sin(a), [A]), "cos": (lambda o, a: o.cos(a), [A]),
 "sign": (lambda o, a: o.sign(a), [A]), "floor": (lambda o, a: o.floor(a), [A]),
 "ceil": (lambda o, a: o.ceil(a), [A]), "round": (lambda o, a: o.round(a), [A]),
 "clip": (lambda o, a: o.clip(a, -0.5, 0.5), [A]), "cumsum": (lambda o, a: o.cumsum(a, axis=1), [A]),
 "erf": (lambda o, a: o.erf(a), [A]), "reciprocal": (lambda o, a: o.reciprocal(a), [P]),
 "add": (lambda o, a, b: o.add(a, b), [A, B]), "subtract": (lambda o, a, b: o.subtract(a, b), [A, B]),
 "multiply": (lambda o, a, b: o.multiply(a, b), [A, B]), "divide": (lambda o, a, b: o.divide(a, b), [A, P]),
 "power": (lambda o, a, b: o.power(a, b), [P, B]), "maximum": (lambda o, a, b: o.maximum(a, b), [A, B]),
 "minimum": (lambda o, a, b: o.minimum(a, b), [A, B]),
 "where": (lambda o, c, a, b: o.where(c, a, b), [COND, A, B]),
 "equal": (lambda o, a, b: o.equal(a, b), [A, A]), "greater": (lambda o, a, b: o.greater(a, b), [A, B]),
 "logical_and": (lambda o, a, b: o.logical_and(a > 0, b > 0), [A, B]),
 "sum": (lambda o, a: o.sum(a, axis=1), [A]), "mean": (lambda o, a: o.mean(a, axis=0), [A]),
 "max": (lambda o, a: o.max(a, axis=1), [A]), "min": (lambda o, a: o.min(a), [A]),
 "var": (lambda o, a: o.var(a, axis=1), [A]), "std": (lambda o, a: o.std(a), [A]),
 "logsumexp": (lambda o, a: o.logsumexp(a, axis=1), [A]), "prod": (lambda o, a: o.prod(a, axis=1), [A]),
 "argmax": (lambda o, a: o.argmax(a, axis=1), [A]), "argmin": (lambda o, a: o.argmin(a, axis=0), [A]),
 "norm": (lambda o, a: o.norm(a, axis=-1), [A]), "any": (lambda o, a: o.any(a > 1), [A]),
 "all": (lambda o, a: o.all(a > -5), [A]),
 "reshape": (lambda o, a: o.reshape(a, (4, 3)), [A]), "transpose": (lambda o, a: o.transpose(a), [A]),
 "expand_dims": (lambda o, a: o.expand_dims(a, 1), [A]), "squeeze": (lambda o, a: o.squeeze(o.expand_dims(a, 0)), [A]),
 "concatenate": (lambda o, a, b: o.concatenate([a, b], axis=1), [A, B]),
 "stack": (lambda o, a, b: o.stack([a, b], axis=0), [A, B]),
 "split": (lambda o, a: o.split(a, 2, axis=1)[1], [A]),
 "take": (lambda o, a, i: o.take(a, i, axis=0), [M, I]),
 "take_along_axis": (lambda o, a, i: o.take_along_axis(a, i, axis=1), [A, I]),
 "tile": (lambda o, a: o.tile(a, (2, 1)), [A]), "repeat": (lambda o, a: o.repeat(a, 2, axis=0), [A]),
 "flip": (lambda o, a: o.flip(a, axis=1), [A]), "pad": (lambda o, a: o.pad(a, ((1, 0), (0, 2))), [A]),
 "moveaxis": (lambda o, a: o.moveaxis(a, 0, -1), [X3]), "swapaxes": (lambda o, a: o.swapaxes(a, 0, 1), [X3]),
 "broadcast_to": (lambda o, a: o.broadcast_to(a[:1], (3, 4)), [A]),
 "get_item": (lambda o, a: a[1:, ::2], [A]),
 "matmul": (lambda o, a, m: o.matmul(a, m), [A, M]), "dot": (lambda o, a, m: o.dot(a, m), [A, M]),
 "einsum": (lambda o, a, m: o.einsum("ij,jk->ik", a, m), [A, M]),
 "tensordot": (lambda o, a, m: o.tensordot(a, m, axes=1), [A, M]),
 "outer": (lambda o, a, b: o.outer(a[0], b[0]), [A, B]),
 "one_hot": (lambda o, l: o.one_hot(l, 4), [LBL]),
 "binary_crossentropy": (lambda o, t, p: o.binary_crossentropy(t, p), [(A > 0).astype("float32"), 1 / (1 + np.exp(-B))]),
 "categorical_crossentropy": (lambda o, t, p: o.categorical_crossentropy(t, p), [ONEHOT, PROB]),
 "sparse_categorical_crossentropy": (lambda o, l, p: o.sparse_categorical_crossentropy(l, p, from_logits=True), [LBL, A]),
 "moments": (lambda o, a: o.moments(a, axes=[0])[1], [A]),
 "normalize": (lambda o, a: o.normalize(a, axis=-1), [A]),
 "zeros_like": (lambda o, a: o.zeros_like(a), [A]), "ones_like": (lambda o, a: o.ones_like(a), [A]),
 "full_like": (lambda o, a: o.full_like(a, 2.0), [A]),
 "cast": (lambda o, a: o.cast(a, "float64"), [A]),
 "stop_gradient": (lambda o, a: o.stop_gradient(a), [A]),
 "convert_to_tensor": (lambda o, a: o.convert_to_tensor(a), [A]),
}
