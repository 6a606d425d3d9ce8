"""rnnkit.optimizers against hand-written NumPy versions of Keras 3's update rules (spec §12.2):
three steps, max diff < 1e-7 in float64; variants, clipping, weight decay, constraints, EMA,
accumulation, slot counting, schedules, configs and errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from rnnkit import optimizers
from rnnkit.optimizers import schedules
from rnnkit.variables import Variable
from helpers import assert_close  # noqa: E402

SHAPES = [(3, 4), (4,)]


def _setup(rng, dtype=np.float64, steps=3, scale=1.0):
    init = [rng.normal(size=s).astype(dtype) for s in SHAPES]
    grads = [[(scale * rng.normal(size=s)).astype(dtype) for s in SHAPES] for _ in range(steps)]
    return init, grads


def _run(opt, init, grads_seq, constraint=None):
    variables = [Variable(a.copy(), dtype=a.dtype.name, name=f"v{i}", constraint=constraint)
                 for i, a in enumerate(init)]
    for grads in grads_seq:
        opt.apply([g.copy() for g in grads], variables)
    return [v.numpy() for v in variables]


def _close(got, want, tol=1e-7):
    for g, w in zip(got, want):
        assert g.shape == w.shape
        assert np.max(np.abs(g - w)) < tol, np.max(np.abs(g - w))


def _not_close(got, want, tol=1e-6):
    assert max(np.max(np.abs(g - w)) for g, w in zip(got, want)) > tol


# ------------------------------------------------------------------------------------------------
# Hand implementations (the formulas of spec §12.2 / Keras 3 source)
# ------------------------------------------------------------------------------------------------

def sgd_ref(init, grads_seq, lr, momentum=0.0, nesterov=False):
    vs = [a.copy() for a in init]
    ms = [np.zeros_like(a) for a in init]
    for grads in grads_seq:
        for i, g in enumerate(grads):
            if momentum:
                ms[i] = momentum * ms[i] - lr * g
                vs[i] = vs[i] + (momentum * ms[i] - lr * g if nesterov else ms[i])
            else:
                vs[i] = vs[i] - lr * g
    return vs


def adam_ref(init, grads_seq, lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, wd=None):
    vs = [a.copy() for a in init]
    m = [np.zeros_like(a) for a in init]
    v = [np.zeros_like(a) for a in init]
    vhat = [np.zeros_like(a) for a in init]
    for step, grads in enumerate(grads_seq):
        t = step + 1
        for i, g in enumerate(grads):
            if wd is not None:
                vs[i] = vs[i] - vs[i] * wd * lr
            m[i] = m[i] + (1 - b1) * (g - m[i])
            v[i] = v[i] + (1 - b2) * (g * g - v[i])
            vv = v[i]
            if amsgrad:
                vhat[i] = np.maximum(vhat[i], v[i])
                vv = vhat[i]
            alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            vs[i] = vs[i] - alpha * m[i] / (np.sqrt(vv) + eps)
    return vs


def rmsprop_ref(init, grads_seq, lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    vs = [a.copy() for a in init]
    vel = [np.zeros_like(a) for a in init]
    mom = [np.zeros_like(a) for a in init]
    avg = [np.zeros_like(a) for a in init]
    for grads in grads_seq:
        for i, g in enumerate(grads):
            vel[i] = rho * vel[i] + (1 - rho) * g * g
            if centered:
                avg[i] = rho * avg[i] + (1 - rho) * g
                denom = vel[i] - avg[i] ** 2 + eps
            else:
                denom = vel[i] + eps
            inc = lr * g / np.sqrt(denom)
            if momentum > 0:
                mom[i] = momentum * mom[i] + inc
                vs[i] = vs[i] - mom[i]
            else:
                vs[i] = vs[i] - inc
    return vs


def adagrad_ref(init, grads_seq, lr, acc0=0.1, eps=1e-7):
    vs = [a.copy() for a in init]
    acc = [np.full_like(a, acc0) for a in init]
    for grads in grads_seq:
        for i, g in enumerate(grads):
            acc[i] = acc[i] + g * g
            vs[i] = vs[i] - lr * g / np.sqrt(acc[i] + eps)
    return vs


# ------------------------------------------------------------------------------------------------
# Update rules, 3 steps, float64
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True),
                                               (0.5, True)])
def test_sgd(rng, momentum, nesterov):
    init, grads = _setup(rng)
    got = _run(optimizers.SGD(0.125, momentum=momentum, nesterov=nesterov), init, grads)
    _close(got, sgd_ref(init, grads, 0.125, momentum, nesterov))
    if momentum:
        _not_close(got, sgd_ref(init, grads, 0.125, momentum, not nesterov))


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam(rng, amsgrad):
    init, grads = _setup(rng, scale=0.01)
    got = _run(optimizers.Adam(0.0625, beta_1=0.8, beta_2=0.99, amsgrad=amsgrad), init, grads)
    _close(got, adam_ref(init, grads, 0.0625, 0.8, 0.99, amsgrad=amsgrad))


def test_adam_epsilon_placement_matters(rng):
    # tiny gradients: eps outside the un-corrected sqrt(v) (Keras) vs PyTorch's form differ
    init, grads = _setup(rng, scale=1e-6)
    got = _run(optimizers.Adam(0.0625), init, grads)
    _close(got, adam_ref(init, grads, 0.0625))
    torch_like = [a.copy() for a in init]
    m = [np.zeros_like(a) for a in init]
    v = [np.zeros_like(a) for a in init]
    for step, gs in enumerate(grads):
        t = step + 1
        for i, g in enumerate(gs):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            mh, vh = m[i] / (1 - 0.9 ** t), v[i] / (1 - 0.999 ** t)
            torch_like[i] = torch_like[i] - 0.0625 * mh / (np.sqrt(vh) + 1e-7)
    _not_close(got, torch_like, tol=1e-4)


def test_adam_amsgrad_differs_when_gradients_shrink(rng):
    init = [rng.normal(size=s) for s in SHAPES]
    grads = [[np.full(s, 1.0) for s in SHAPES], [np.full(s, 0.01) for s in SHAPES],
             [np.full(s, 0.01) for s in SHAPES]]
    a = _run(optimizers.Adam(0.0625, amsgrad=True), init, grads)
    _close(a, adam_ref(init, grads, 0.0625, amsgrad=True))
    _not_close(a, adam_ref(init, grads, 0.0625, amsgrad=False))


def test_adam_default_learning_rate_is_float32_0_001(rng):
    init, grads = _setup(rng, scale=0.1)
    opt = optimizers.Adam()
    assert (opt.beta_1, opt.beta_2, opt.epsilon, opt.amsgrad) == (0.9, 0.999, 1e-7, False)
    got = _run(opt, init, grads)
    _close(got, adam_ref(init, grads, float(np.float32(0.001))), tol=1e-12)


def test_adamw(rng):
    init, grads = _setup(rng, scale=0.1)
    opt = optimizers.AdamW(0.0625, weight_decay=0.25)
    got = _run(opt, init, grads)
    _close(got, adam_ref(init, grads, 0.0625, wd=0.25))
    _not_close(got, adam_ref(init, grads, 0.0625))
    assert optimizers.AdamW().weight_decay == 0.004


@pytest.mark.parametrize("momentum,centered", [(0.0, False), (0.5, False), (0.0, True),
                                               (0.9, True)])
def test_rmsprop(rng, momentum, centered):
    init, grads = _setup(rng, scale=0.1)
    got = _run(optimizers.RMSprop(0.0625, rho=0.8, momentum=momentum, centered=centered),
               init, grads)
    _close(got, rmsprop_ref(init, grads, 0.0625, 0.8, momentum, centered=centered))


def test_rmsprop_epsilon_inside_sqrt(rng):
    init, grads = _setup(rng, scale=1e-5)
    got = _run(optimizers.RMSprop(0.0625, epsilon=1e-7), init, grads)
    _close(got, rmsprop_ref(init, grads, 0.0625))
    outside = [a.copy() for a in init]
    vel = [np.zeros_like(a) for a in init]
    for gs in grads:
        for i, g in enumerate(gs):
            vel[i] = 0.9 * vel[i] + 0.1 * g * g
            outside[i] = outside[i] - 0.0625 * g / (np.sqrt(vel[i]) + 1e-7)
    _not_close(got, outside, tol=1e-4)


def test_adagrad(rng):
    init, grads = _setup(rng)
    got = _run(optimizers.Adagrad(0.125, initial_accumulator_value=0.25, epsilon=1e-3),
               init, grads)
    _close(got, adagrad_ref(init, grads, 0.125, 0.25, 1e-3))
    _not_close(got, adagrad_ref(init, grads, 0.125, 0.25, 0.0), tol=1e-8)
    init, grads = _setup(rng)
    _close(_run(optimizers.Adagrad(0.125), init, grads), adagrad_ref(init, grads, 0.125))


@pytest.mark.parametrize("make", [
    lambda: optimizers.SGD(0.125, momentum=0.9, nesterov=True),
    lambda: optimizers.Adam(0.0625, amsgrad=True),
    lambda: optimizers.RMSprop(0.0625, momentum=0.5, centered=True),
    lambda: optimizers.Adagrad(0.125),
])
def test_float32_keeps_dtype_and_matches(rng, make):
    init, grads = _setup(rng, dtype=np.float32, scale=0.1)
    got = _run(make(), init, grads)
    assert all(g.dtype == np.float32 for g in got)
    want = _run(make(), [a.astype(np.float64) for a in init],
                [[g.astype(np.float64) for g in gs] for gs in grads])
    _close(got, want, tol=2e-6)
    opt = make()
    _run(opt, init, grads)
    slots = opt.variables[2:]
    assert slots and all(s.dtype == "float32" for s in slots)


# ------------------------------------------------------------------------------------------------
# Clipping, weight decay, constraints, scaling
# ------------------------------------------------------------------------------------------------

def test_clipnorm_per_gradient(rng):
    init = [rng.normal(size=s) for s in SHAPES]
    grads = [[rng.normal(size=(3, 4)) * 3.0, rng.normal(size=(4,)) * 0.1] for _ in range(3)]
    c = 1.0
    clipped = [[g * c / max(np.linalg.norm(g), c) for g in gs] for gs in grads]
    got = _run(optimizers.SGD(0.5, clipnorm=c), init, grads)
    _close(got, sgd_ref(init, clipped, 0.5))
    _not_close(got, sgd_ref(init, grads, 0.5))


def test_global_clipnorm(rng):
    init = [rng.normal(size=s) for s in SHAPES]
    grads = [[rng.normal(size=s) * 2.0 for s in SHAPES] for _ in range(3)]
    c = 1.5
    clipped = []
    for gs in grads:
        n = math.sqrt(sum(np.sum(g * g) for g in gs))
        clipped.append([g * c * min(1 / n, 1 / c) for g in gs])
    got = _run(optimizers.SGD(0.5, global_clipnorm=c), init, grads)
    _close(got, sgd_ref(init, clipped, 0.5))
    per_grad = [[g * c / max(np.linalg.norm(g), c) for g in gs] for gs in grads]
    _not_close(got, sgd_ref(init, per_grad, 0.5))


def test_clipvalue(rng):
    init, grads = _setup(rng)
    got = _run(optimizers.Adam(0.0625, clipvalue=0.3), init, grads)
    _close(got, adam_ref(init, [[np.clip(g, -0.3, 0.3) for g in gs] for gs in grads], 0.0625))
    _not_close(got, adam_ref(init, grads, 0.0625))


@pytest.mark.parametrize("kwargs", [dict(clipnorm=1.0, global_clipnorm=1.0),
                                    dict(clipnorm=1.0, clipvalue=1.0),
                                    dict(clipvalue=1.0, global_clipnorm=2.0)])
def test_only_one_clipping_argument(kwargs):
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue` and "
                                         "`global_clipnorm`"):
        optimizers.Adam(**kwargs)


def test_weight_decay_on_any_optimizer_and_exclusion(rng):
    init, grads = _setup(rng)
    wd, lr = 0.5, 0.125
    want = [a.copy() for a in init]
    for gs in grads:
        for i, g in enumerate(gs):
            want[i] = want[i] - want[i] * wd * lr
            want[i] = want[i] - lr * g
    _close(_run(optimizers.SGD(lr, weight_decay=wd), init, grads), want)
    # exclude the second variable ("v1") by name
    opt = optimizers.SGD(lr, weight_decay=wd)
    opt.exclude_from_weight_decay(var_names=["v1"])
    got = _run(opt, init, grads)
    _close(got[:1], want[:1])
    _close(got[1:], sgd_ref(init[1:], [gs[1:] for gs in grads], lr))


def test_constraint_applied_after_update(rng):
    init, grads = _setup(rng)
    half = lambda x: x * 0.5
    got = _run(optimizers.SGD(0.125), init, grads, constraint=half)
    after = [a.copy() for a in init]
    before = [a.copy() for a in init]
    for gs in grads:
        for i, g in enumerate(gs):
            after[i] = (after[i] - 0.125 * g) * 0.5
            before[i] = before[i] * 0.5 - 0.125 * g
    _close(got, after)
    _not_close(got, before)


def test_loss_scale_factor(rng):
    init, grads = _setup(rng)
    opt = optimizers.SGD(0.125, loss_scale_factor=4.0)
    assert float(opt.scale_loss(np.float64(2.0))) == 8.0
    got = _run(opt, init, [[g * 4.0 for g in gs] for gs in grads])
    _close(got, sgd_ref(init, grads, 0.125))


def test_ema(rng):
    init, grads = _setup(rng)
    opt = optimizers.SGD(0.125, use_ema=True, ema_momentum=0.75)
    variables = [Variable(a.copy(), dtype="float64", name=f"v{i}") for i, a in enumerate(init)]
    vs = [a.copy() for a in init]
    avg = [np.zeros_like(a) for a in init]
    for step, gs in enumerate(grads):
        opt.apply(gs, variables)
        mom = 0.0 if step == 0 else 0.75
        for i, g in enumerate(gs):
            vs[i] = vs[i] - 0.125 * g
            avg[i] = mom * avg[i] + (1 - mom) * vs[i]
    _close([v.numpy() for v in variables], vs)
    _close([a.numpy() for a in opt._model_variables_moving_average], avg)
    opt.finalize_variable_values(variables)
    _close([v.numpy() for v in variables], avg)


def test_ema_overwrite_frequency(rng):
    init, grads = _setup(rng, steps=2)
    opt = optimizers.SGD(0.125, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2)
    got = _run(opt, init, grads)
    vs = [a - 0.125 * g for a, g in zip(init, grads[0])]
    avg = [v.copy() for v in vs]
    vs = [v - 0.125 * g for v, g in zip(vs, grads[1])]
    avg = [0.5 * a + 0.5 * v for a, v in zip(avg, vs)]
    _close(got, avg)


def test_gradient_accumulation(rng):
    init, grads = _setup(rng, steps=4)
    opt = optimizers.SGD(0.125, gradient_accumulation_steps=2)
    variables = [Variable(a.copy(), dtype="float64", name=f"v{i}") for i, a in enumerate(init)]
    opt.apply(grads[0], variables)
    _close([v.numpy() for v in variables], init)          # no update yet
    opt.apply(grads[1], variables)
    mean01 = [[(a + b) / 2 for a, b in zip(grads[0], grads[1])]]
    _close([v.numpy() for v in variables], sgd_ref(init, mean01, 0.125))
    opt.apply(grads[2], variables)
    opt.apply(grads[3], variables)
    mean23 = [(a + b) / 2 for a, b in zip(grads[2], grads[3])]
    _close([v.numpy() for v in variables], sgd_ref(init, mean01 + [mean23], 0.125))
    assert int(np.asarray(opt.iterations.value).reshape(())) == 4
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        optimizers.SGD(gradient_accumulation_steps=1)


# ------------------------------------------------------------------------------------------------
# apply / variables / iterations
# ------------------------------------------------------------------------------------------------

def _count(variables):
    return sum(int(np.prod(v.shape)) for v in variables)


def test_slot_counting_matches_keras_summary():
    # Dense(4)+BN+Dense(1) on 8 features: 49 trainable parameters -> 100 Adam parameters (§11)
    shapes = [(8, 4), (4,), (4,), (4,), (4, 1), (1,)]
    variables = [Variable(np.zeros(s), name=f"w{i}") for i, s in enumerate(shapes)]
    assert _count(variables) == 49
    opt = optimizers.Adam()
    assert [v.name for v in opt.variables] == ["iteration", "learning_rate"]
    opt.build(variables)
    assert len(opt.variables) == 2 + 2 * len(shapes)
    assert _count(opt.variables) == 100
    assert opt.variables[2].path == "adam/w0_momentum"
    assert opt.variables[3].path == "adam/w0_velocity"
    assert all(not v.trainable for v in opt.variables)


@pytest.mark.parametrize("make,per_var", [
    (lambda: optimizers.SGD(), 0),
    (lambda: optimizers.SGD(momentum=0.9), 1),
    (lambda: optimizers.Adam(amsgrad=True), 3),
    (lambda: optimizers.AdamW(), 2),
    (lambda: optimizers.RMSprop(), 1),
    (lambda: optimizers.RMSprop(momentum=0.5, centered=True), 3),
    (lambda: optimizers.Adagrad(), 1),
    (lambda: optimizers.SGD(use_ema=True), 1),
])
def test_slot_counts(make, per_var):
    variables = [Variable(np.zeros(s), name=f"w{i}") for i, s in enumerate(SHAPES)]
    opt = make()
    opt.build(variables)
    assert len(opt.variables) == 2 + per_var * len(SHAPES)


def test_schedule_has_no_learning_rate_variable_and_is_evaluated_per_iteration(rng):
    sched = schedules.PiecewiseConstantDecay([1], [0.5, 0.25])
    opt = optimizers.SGD(sched)
    assert [v.name for v in opt.variables] == ["iteration"]
    init, grads = _setup(rng)
    variables = [Variable(a.copy(), dtype="float64", name=f"v{i}") for i, a in enumerate(init)]
    want = [a.copy() for a in init]
    for step, gs in enumerate(grads):
        assert float(opt.learning_rate) == (0.5 if step <= 1 else 0.25)
        opt.apply(gs, variables)
        want = [w - (0.5 if step <= 1 else 0.25) * g for w, g in zip(want, gs)]
    _close([v.numpy() for v in variables], want)
    assert len(opt.variables) == 1 + 0


def test_callable_learning_rate(rng):
    opt = optimizers.SGD(lambda: 0.25)
    init, grads = _setup(rng)
    _close(_run(opt, init, grads), sgd_ref(init, grads, 0.25))


def test_iterations_and_apply_gradients(rng):
    init, grads = _setup(rng)
    opt = optimizers.Adam(0.0625)
    variables = [Variable(a.copy(), dtype="float64", name=f"v{i}") for i, a in enumerate(init)]
    for gs in grads[:2]:
        it = opt.apply_gradients(zip(gs, variables))
    assert it is opt.iterations
    assert int(np.asarray(opt.iterations.value).reshape(())) == 2
    assert opt.iterations.dtype == "int64"
    opt.apply(grads[2])                    # built: variables may be omitted
    _close([v.numpy() for v in variables], adam_ref(init, grads, 0.0625))


def test_none_gradients_are_skipped(rng):
    init, grads = _setup(rng)
    opt = optimizers.SGD(0.125)
    variables = [Variable(a.copy(), dtype="float64", name=f"v{i}") for i, a in enumerate(init)]
    with pytest.warns(UserWarning, match="v1"):
        opt.apply([grads[0][0], None], variables)
    _close([variables[0].numpy()], [init[0] - 0.125 * grads[0][0]])
    np.testing.assert_array_equal(variables[1].numpy(), init[1])
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.apply([None, None], variables)


def test_errors(rng):
    init, grads = _setup(rng)
    variables = [Variable(a.copy(), dtype="float64", name=f"v{i}") for i, a in enumerate(init)]
    opt = optimizers.SGD()
    with pytest.raises(ValueError, match="must already be built"):
        opt.apply(grads[0])
    opt.apply(grads[0], variables)
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply([grads[0][1]], [Variable(np.zeros(4))])
    with pytest.raises(ValueError, match=r"shape \(4, 3\).*\(3, 4\)"):
        opt.apply([np.zeros((4, 3)), grads[0][1]], variables)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(beta1=0.9)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate="fast")
    with pytest.warns(UserWarning, match="decay"):
        optimizers.Adam(decay=0.1)


def test_learning_rate_setter():
    opt = optimizers.Adam(0.001)
    lr_var = opt.learning_rate
    assert isinstance(lr_var, Variable) and lr_var.dtype == "float32"
    assert_close(float(opt.learning_rate), 0.001, rtol=1e-7)
    opt.learning_rate = 0.5
    assert float(opt.learning_rate) == 0.5 and opt.learning_rate is lr_var
    opt.learning_rate = schedules.ExponentialDecay(0.5, 10, 0.5)
    assert [v.name for v in opt.variables] == ["iteration"]
    assert float(opt.learning_rate) == 0.5
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1


def test_get_set_weights_and_own_variables(rng):
    init, grads = _setup(rng)
    a = optimizers.Adam(0.0625)
    _run(a, init, grads)
    b = optimizers.Adam(0.0625)
    variables = [Variable(x.copy(), dtype="float64", name=f"v{i}") for i, x in enumerate(init)]
    b.build(variables)
    b.set_weights(a.get_weights())
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(np.asarray(x).ravel(), np.asarray(y).ravel())
    store = {}
    a.save_own_variables(store)
    c = optimizers.Adam(0.0625)
    c.build(variables)
    c.load_own_variables(store)
    assert int(np.asarray(c.iterations.value).reshape(())) == 3
    with pytest.raises(ValueError, match="not yet been built"):
        optimizers.Adam().set_weights([])


# ------------------------------------------------------------------------------------------------
# Lookup and configs
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,cls", [("sgd", optimizers.SGD), ("SGD", optimizers.SGD),
                                      ("adam", optimizers.Adam), ("Adam", optimizers.Adam),
                                      ("adamw", optimizers.AdamW), ("AdamW", optimizers.AdamW),
                                      ("rmsprop", optimizers.RMSprop),
                                      ("RMSprop", optimizers.RMSprop),
                                      ("adagrad", optimizers.Adagrad),
                                      ("ADAGRAD", optimizers.Adagrad)])
def test_get_strings(name, cls):
    opt = optimizers.get(name)
    assert type(opt) is cls


def test_get_defaults_and_names():
    assert optimizers.get("sgd").name == "SGD"
    assert float(optimizers.get("sgd").learning_rate) == pytest.approx(0.01, rel=1e-7)
    assert optimizers.get("rmsprop").name == "rmsprop"
    rms = optimizers.get("rmsprop")
    assert (rms.rho, rms.momentum, rms.epsilon, rms.centered) == (0.9, 0.0, 1e-7, False)
    assert optimizers.get("adagrad").initial_accumulator_value == 0.1
    opt = optimizers.Adam()
    assert optimizers.get(opt) is opt
    assert optimizers.get(None) is None


def test_get_unknown_names_it():
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: 'adamx'"):
        optimizers.get("adamx")
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        optimizers.get(3.0)
    with pytest.raises(ValueError, match="Nadamz"):
        optimizers.get({"class_name": "Nadamz", "config": {}})


@pytest.mark.parametrize("opt", [
    optimizers.SGD(0.125, momentum=0.9, nesterov=True, clipnorm=1.0, name="my_sgd"),
    optimizers.Adam(0.0625, beta_1=0.8, amsgrad=True, global_clipnorm=2.0),
    optimizers.AdamW(0.0625, weight_decay=0.01, clipvalue=0.5),
    optimizers.RMSprop(0.0625, rho=0.8, momentum=0.5, centered=True, use_ema=True),
    optimizers.Adagrad(0.125, initial_accumulator_value=0.2, epsilon=1e-6),
    optimizers.SGD(schedules.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.2,
                                         warmup_steps=10)),
])
def test_config_round_trip(opt):
    config = opt.get_config()
    clone = type(opt).from_config(config)
    assert clone.get_config() == config
    ser = optimizers.serialize(opt)
    again = optimizers.deserialize(ser)
    assert type(again) is type(opt) and again.get_config() == config
    assert type(optimizers.get(ser)) is type(opt)


def test_keras_style_config_dict():
    opt = optimizers.get({"class_name": "Adam", "config": {"learning_rate": 0.5}})
    assert isinstance(opt, optimizers.Adam) and float(opt.learning_rate) == 0.5
    opt = optimizers.deserialize({"module": "keras.optimizers", "class_name": "SGD",
                                  "config": {"learning_rate": 0.25, "momentum": 0.5},
                                  "registered_name": None})
    assert isinstance(opt, optimizers.SGD) and opt.momentum == 0.5
    config = optimizers.Adam(0.001).get_config()
    assert config["learning_rate"] == float(np.float32(0.001))   # Keras stores it as float32
    assert {"beta_1", "beta_2", "epsilon", "amsgrad", "clipnorm", "global_clipnorm",
            "clipvalue", "weight_decay", "use_ema", "name"} <= set(config)


# ------------------------------------------------------------------------------------------------
# Schedules
# ------------------------------------------------------------------------------------------------

STEPS = np.array([0, 1, 5, 10, 15, 37, 100, 250])


def _sched_close(got, want):
    assert_close(np.asarray(got, dtype=np.float64), want, rtol=2e-6, atol=1e-9)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay(staircase):
    s = schedules.ExponentialDecay(0.1, 10, 0.5, staircase=staircase)
    p = STEPS / 10
    if staircase:
        p = np.floor(p)
    _sched_close([s(k) for k in STEPS], 0.1 * 0.5 ** p)
    assert s(3).dtype == np.float32


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay(staircase):
    s = schedules.InverseTimeDecay(0.2, 7, 0.3, staircase=staircase)
    p = STEPS / 7
    if staircase:
        p = np.floor(p)
    _sched_close([s(k) for k in STEPS], 0.2 / (1 + 0.3 * p))


@pytest.mark.parametrize("cycle", [False, True])
def test_polynomial_decay(cycle):
    s = schedules.PolynomialDecay(0.1, 20, end_learning_rate=0.01, power=2.0, cycle=cycle)
    want = []
    for k in STEPS:
        if cycle:
            ds = 20 * (1.0 if k == 0 else math.ceil(k / 20))
            kk = k
        else:
            ds = 20
            kk = min(k, 20)
        want.append((0.1 - 0.01) * (1 - kk / ds) ** 2 + 0.01)
    _sched_close([s(k) for k in STEPS], want)


def test_piecewise_constant_decay():
    s = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    want = [1.0 if k <= 10 else 0.5 if k <= 20 else 0.1 for k in STEPS]
    _sched_close([s(k) for k in STEPS], want)
    _sched_close(s(10), 1.0)
    _sched_close(s(11), 0.5)
    with pytest.raises(ValueError, match="1 less than the length of values"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5])


def test_cosine_decay():
    s = schedules.CosineDecay(0.1, 100, alpha=0.2)
    k = np.minimum(STEPS, 100)
    _sched_close([s(x) for x in STEPS], 0.1 * ((1 - 0.2) * 0.5 * (1 + np.cos(np.pi * k / 100))
                                               + 0.2))


def test_cosine_decay_with_warmup():
    s = schedules.CosineDecay(0.0, 100, alpha=0.0, warmup_target=0.1, warmup_steps=10)
    want = []
    for k in STEPS:
        k = min(k, 110)
        if k < 10:
            want.append(0.1 * k / 10)
        else:
            want.append(0.1 * 0.5 * (1 + math.cos(math.pi * (k - 10) / 100)))
    _sched_close([s(k) for k in STEPS], want)


@pytest.mark.parametrize("t_mul,m_mul", [(1.0, 1.0), (2.0, 0.5)])
def test_cosine_decay_restarts(t_mul, m_mul):
    s = schedules.CosineDecayRestarts(0.1, 10, t_mul=t_mul, m_mul=m_mul, alpha=0.1)
    want = []
    for k in STEPS:
        start, length, i = 0.0, 10.0, 0
        while k >= start + length:
            start += length
            length *= t_mul
            i += 1
        frac = (k - start) / length
        want.append(0.1 * ((1 - 0.1) * 0.5 * m_mul ** i * (1 + math.cos(math.pi * frac)) + 0.1))
    _sched_close([s(k) for k in STEPS], want)


def test_schedule_takes_iterations_variable():
    s = schedules.ExponentialDecay(1.0, 1, 0.5)
    opt = optimizers.SGD(s)
    assert float(opt.learning_rate) == 1.0
    v = Variable(np.zeros(2), name="w")
    opt.apply([np.ones(2)], [v])
    assert float(opt.learning_rate) == 0.5
    _sched_close(s(opt.iterations), 0.5)


@pytest.mark.parametrize("sched", [
    schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True, name="e"),
    schedules.InverseTimeDecay(0.1, 10, 0.5),
    schedules.PolynomialDecay(0.1, 10, end_learning_rate=0.001, power=0.5, cycle=True),
    schedules.PiecewiseConstantDecay([5, 9], [0.3, 0.2, 0.1]),
    schedules.CosineDecay(0.1, 50, alpha=0.1, warmup_target=0.5, warmup_steps=5),
    schedules.CosineDecayRestarts(0.1, 10, t_mul=1.5, m_mul=0.9, alpha=0.01),
])
def test_schedule_config_round_trip(sched):
    config = sched.get_config()
    clone = schedules.deserialize(schedules.serialize(sched))
    assert type(clone) is type(sched) and clone.get_config() == config
    for k in (0, 3, 17):
        _sched_close(clone(k), float(sched(k)))


def test_schedule_errors():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.CosineDecay(0.1, -5)
    with pytest.raises(NotImplementedError, match="__call__"):
        schedules.LearningRateSchedule()(0)


def test_no_warnings_in_normal_use(rng):
    init, grads = _setup(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for make in (optimizers.SGD, optimizers.Adam, optimizers.AdamW, optimizers.RMSprop,
                     optimizers.Adagrad):
            _run(make(), init, grads)
