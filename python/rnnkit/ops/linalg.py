"""Linear algebra (`keras.ops.linalg`): factorizations, solves, inverses, determinants.

Every function works on stacks of matrices (`(..., m, n)`). As in Keras on JAX, a singular
matrix given to `inv`, `solve` or `solve_triangular`, or a matrix that is not positive definite
given to `cholesky`, gives NaN results rather than an error. Gradients follow the standard
matrix-calculus rules: `inv`, `det`, `slogdet`, `solve`, `solve_triangular`, `cholesky`,
`cholesky_inverse`, `eigh` (distinct eigenvalues), `qr` (reduced, `m >= n`), `svd` (singular
values only), `pinv`, `lstsq` (full column rank) and `norm` are differentiable; `eig`,
`lu_factor` and `matrix_rank` are not.
"""

from __future__ import annotations

from rnnkit.ops import numpy as _n
from rnnkit.ops._base import _record_multi, _record_op, _state, builtins, np, unwrap
from rnnkit.ops._base import _as_array
from rnnkit.ops._numpy_more import _as_float

__all__ = ["cholesky", "cholesky_inverse", "det", "eig", "eigh", "inv", "jvp", "lstsq",
           "lu_factor", "matrix_rank", "norm", "pinv", "qr", "slogdet", "solve",
           "solve_triangular", "svd"]

norm = _n.norm


def _mT(a):
    return np.swapaxes(a, -1, -2)


def _square(name, a):
    a = _as_float(unwrap(a))
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: expected square matrices (..., n, n), got shape {a.shape}")
    return a


def _nan_on_singular(fn, *args):
    """fn(*args), or NaNs of the result's shape where NumPy finds the matrices singular (JAX,
    Keras' reference backend, returns non-finite values there instead of raising)."""
    try:
        return fn(*args)
    except np.linalg.LinAlgError:
        a = args[0]
        if len(args) == 1:
            shape = a.shape
        else:
            b = args[1]
            shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:]
        return np.full(shape, np.nan, dtype=np.result_type(*args))


def inv(x):
    """Inverse of square matrices.

    Args:
        x: Array `(..., n, n)`.

    Returns:
        The inverses (differentiable: `dA = -inv(A)^T g inv(A)^T`).

    Raises:
        ValueError: If the matrices are not square. A singular matrix gives NaNs.
    """
    a = _square("inv", x)
    y = _nan_on_singular(np.linalg.inv, a)
    tape = _state.tape
    if tape is None:
        return y
    return _record_op(tape, y, (x,), lambda g, need: (-_mT(y) @ g @ _mT(y),))


def det(x):
    """Determinant of square matrices.

    Args:
        x: Array `(..., n, n)`.

    Returns:
        An array `(...)` (differentiable: `dA = g det(A) inv(A)^T`).
    """
    a = _square("det", x)
    y = np.linalg.det(a).astype(a.dtype)
    tape = _state.tape
    if tape is None:
        return _as_array(y)
    return _record_op(tape, y, (x,), lambda g, need: (
        (_as_array(g) * y)[..., None, None] * _mT(np.linalg.inv(a)),))


def slogdet(x):
    """Sign and log of the absolute value of the determinant of square matrices.

    Args:
        x: Array `(..., n, n)`.

    Returns:
        A pair `(sign, logabsdet)` of arrays `(...)`; `logabsdet` is differentiable.
    """
    a = _square("slogdet", x)
    sign, logabs = np.linalg.slogdet(a)
    sign, logabs = sign.astype(a.dtype), logabs.astype(a.dtype)
    tape = _state.tape
    if tape is None:
        return sign, logabs

    def vjp(gs, need):
        return (_as_array(gs[1])[..., None, None] * _mT(np.linalg.inv(a)),)

    ys = _record_multi(tape, (sign, logabs), (x,), vjp)
    return ys[0], ys[1]


def _solve_vec(a, b):
    """np.linalg.solve treating a b of rank a.ndim - 1 as a stack of vectors."""
    if b.ndim == a.ndim - 1:
        return _nan_on_singular(np.linalg.solve, a, b[..., None])[..., 0], True
    return _nan_on_singular(np.linalg.solve, a, b), False


def solve(a, b):
    """Solves `a @ x = b` for `x`.

    Args:
        a: Array `(..., n, n)`.
        b: Array `(..., n, k)`, or `(..., n)` (a vector per matrix).

    Returns:
        `x`, of the shape of `b` (differentiable in `a` and `b`).
    """
    av = _square("solve", a)
    bv = _as_array(unwrap(b))
    if bv.dtype.kind in "biu":
        bv = bv.astype(av.dtype)
    y, vec = _solve_vec(av, bv)
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        gb, _ = _solve_vec(_mT(av), g)
        if vec:
            ga = -gb[..., :, None] * y[..., None, :]
        else:
            ga = -gb @ _mT(y)
        return ga, gb

    return _record_op(tape, y, (a, b), vjp)


def _tri_solve(a, b, lower):
    tri = np.tril(a) if lower else np.triu(a)
    return _solve_vec(tri, b)


def solve_triangular(a, b, lower=False):
    """Solves `a @ x = b` for `x` with a triangular `a` (only its `lower` or upper triangle is
    read).

    Args:
        a: Array `(..., n, n)`.
        b: Array `(..., n, k)` or `(..., n)`.
        lower: Bool, use the lower triangle of `a` (default False: the upper one).

    Returns:
        `x`, of the shape of `b` (differentiable in `a` and `b`).
    """
    av = _square("solve_triangular", a)
    bv = _as_array(unwrap(b))
    if bv.dtype.kind in "biu":
        bv = bv.astype(av.dtype)
    y, vec = _tri_solve(av, bv, lower)
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        gb, _ = _tri_solve(_mT(av), g, not lower)
        ga = -gb[..., :, None] * y[..., None, :] if vec else -gb @ _mT(y)
        ga = np.tril(ga) if lower else np.triu(ga)
        return ga, gb

    return _record_op(tape, y, (a, b), vjp)


def cholesky(x, upper=False):
    """Cholesky factor of symmetric positive-definite matrices: `x = L L^T` (lower `L`),
    or `U^T U` with `upper=True`.

    Args:
        x: Array `(..., n, n)`, symmetric positive definite (only its lower triangle is read).
        upper: Bool, return the upper factor `U = L^T`. Defaults to False.

    Returns:
        The factor (differentiable; the gradient is symmetric). NaNs where the matrices are
        not positive definite (as in Keras on JAX).

    Raises:
        ValueError: If the matrices are not square.
    """
    a = _square("cholesky", x)
    L = _nan_on_singular(np.linalg.cholesky, a)
    y = _mT(L).copy() if upper else L
    tape = _state.tape
    if tape is None:
        return y

    def vjp(g, need):
        gL = _mT(g) if upper else g
        P = _mT(L) @ gL
        P = np.tril(P) - 0.5 * np.eye(P.shape[-1], dtype=P.dtype) * P
        Linv = np.linalg.inv(L)
        S = _mT(Linv) @ P @ Linv
        return (0.5 * (S + _mT(S)),)

    return _record_op(tape, y, (x,), vjp)


def cholesky_inverse(x, upper=False):
    """Inverse of `A = L L^T` given its Cholesky factor `L` (or `U` with `upper=True`).

    Args:
        x: The triangular factor, `(..., n, n)`.
        upper: Bool, `x` is the upper factor `U` (`A = U^T U`). Defaults to False.

    Returns:
        `inv(A)` (differentiable).
    """
    _square("cholesky_inverse", x)
    t = _n.swapaxes(x, -1, -2)
    a = _n.matmul(t, x) if upper else _n.matmul(x, t)
    return inv(a)


def eigh(x):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices.

    Args:
        x: Array `(..., n, n)`, symmetric (its lower triangle is read).

    Returns:
        A pair `(eigenvalues (..., n), eigenvectors (..., n, n))`, vectors in columns
        (differentiable for distinct eigenvalues).
    """
    a = _square("eigh", x)
    w, v = np.linalg.eigh(a)
    tape = _state.tape
    if tape is None:
        return w, v

    def vjp(gs, need):
        gw, gv = gs
        inner = np.zeros(v.shape, dtype=v.dtype)
        idx = np.arange(w.shape[-1])
        inner[..., idx, idx] = gw
        if np.any(gv):
            d = w[..., None, :] - w[..., :, None]       # w_j - w_i
            with np.errstate(divide="ignore", invalid="ignore"):
                F = np.where(d == 0, 0, 1 / np.where(d == 0, 1, d))
            inner = inner + F * (_mT(v) @ gv)
        ga = v @ inner @ _mT(v)
        return (0.5 * (ga + _mT(ga)),)

    ys = _record_multi(tape, (w, v), (x,), vjp)
    return ys[0], ys[1]


def eig(x):
    """Eigenvalues and right eigenvectors of square matrices (complex in general).

    Args:
        x: Array `(..., n, n)`.

    Returns:
        A pair `(eigenvalues, eigenvectors)` of complex arrays (not differentiable).
    """
    a = _square("eig", x)
    w, v = np.linalg.eig(a)
    return w, v


def qr(x, mode="reduced"):
    """QR decomposition: `x = Q R` with orthonormal columns in `Q` and upper-triangular `R`.

    Args:
        x: Array `(..., m, n)`.
        mode: `"reduced"` (the default: `Q (..., m, k)`, `R (..., k, n)`, `k = min(m, n)`)
            or `"complete"` (`Q (..., m, m)`).

    Returns:
        The pair `(Q, R)` (differentiable for `"reduced"` with `m >= n`).

    Raises:
        ValueError: For another `mode`.
    """
    if mode not in ("reduced", "complete"):
        raise ValueError(f"qr: mode must be 'reduced' or 'complete', got {mode!r}")
    a = _as_float(unwrap(x))
    if a.ndim < 2:
        raise ValueError(f"qr: expected matrices (..., m, n), got shape {a.shape}")
    q, r = np.linalg.qr(a, mode=mode)
    tape = _state.tape
    if tape is None:
        return q, r
    m, n = a.shape[-2:]

    def vjp(gs, need):
        gq, gr = gs
        if mode != "reduced" or m < n:
            raise NotImplementedError("The gradient of qr is implemented for mode='reduced' "
                                      "with m >= n")
        M = r @ _mT(gr) - _mT(gq) @ q
        copyltu = np.tril(M) + _mT(np.tril(M, -1))
        rhs = gq + q @ copyltu                     # (..., m, n)
        # solve X R^T = rhs  <=>  R X^T = rhs^T
        ga = _mT(np.linalg.solve(r, _mT(rhs)))
        return (ga,)

    ys = _record_multi(tape, (q, r), (x,), vjp)
    return ys[0], ys[1]


def svd(x, full_matrices=True, compute_uv=True):
    """Singular value decomposition `x = U diag(s) V^H` (singular values descending).

    Args:
        x: Array `(..., m, n)`.
        full_matrices: Bool, `U (..., m, m)` and `V^H (..., n, n)` instead of the reduced
            factors. Defaults to True.
        compute_uv: Bool, return `(U, s, V^H)`; with False, only `s`. Defaults to True.

    Returns:
        `(U, s, Vh)`, or `s`. The singular values are differentiable (the gradient of `U`
        and `Vh` raises `NotImplementedError`).
    """
    a = _as_float(unwrap(x))
    if a.ndim < 2:
        raise ValueError(f"svd: expected matrices (..., m, n), got shape {a.shape}")
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    tape = _state.tape

    def s_grad(gs):
        return (u * gs[..., None, :]) @ vh

    if not compute_uv:
        if tape is None:
            return s
        return _record_op(tape, s, (x,), lambda g, need: (s_grad(g),))
    if full_matrices:
        u, s, vh = np.linalg.svd(a, full_matrices=True)
    if tape is None:
        return u, s, vh
    k = s.shape[-1]

    def vjp(gs, need):
        gu, gsv, gvh = gs
        if np.any(gu) or np.any(gvh):
            raise NotImplementedError("The gradient of svd through U or Vh is not "
                                      "implemented (only through the singular values)")
        return ((u[..., :, :k] * gsv[..., None, :]) @ vh[..., :k, :],)

    ys = _record_multi(tape, (u, s, vh), (x,), vjp)
    return ys[0], ys[1], ys[2]


def pinv(x, rcond=None):
    """Moore-Penrose pseudo-inverse (singular values below `rcond * largest` are dropped).

    Args:
        x: Array `(..., m, n)`.
        rcond: Optional float cutoff; defaults to `max(m, n) * eps` of the dtype.

    Returns:
        The pseudo-inverses `(..., n, m)` (differentiable where the rank is constant).
    """
    a = _as_float(unwrap(x))
    if rcond is None:
        rcond = builtins.max(a.shape[-2:]) * np.finfo(a.dtype).eps
    p = np.linalg.pinv(a, rcond=rcond).astype(a.dtype)
    tape = _state.tape
    if tape is None:
        return p
    m, n = a.shape[-2:]

    def vjp(g, need):
        pt = _mT(p)
        ga = -pt @ g @ pt
        ga = ga + (np.eye(m, dtype=a.dtype) - a @ p) @ _mT(g) @ p @ pt
        ga = ga + pt @ p @ _mT(g) @ (np.eye(n, dtype=a.dtype) - p @ a)
        return (ga,)

    return _record_op(tape, p, (x,), vjp)


def lstsq(a, b, rcond=None):
    """Least-squares solution of `a @ x = b`.

    Args:
        a: Matrix `(m, n)`.
        b: Array `(m,)` or `(m, k)`.
        rcond: Optional cutoff for small singular values (NumPy's meaning).

    Returns:
        `x`, `(n,)` or `(n, k)` (differentiable through `pinv(a) @ b` when `a` has full
        column rank).
    """
    av = _as_float(unwrap(a))
    bv = _as_array(unwrap(b)).astype(av.dtype)
    if av.ndim != 2 or bv.ndim not in (1, 2) or bv.shape[0] != av.shape[0]:
        raise ValueError(f"lstsq: expected a (m, n) and b (m,) or (m, k), got shapes "
                         f"{av.shape} and {bv.shape}")
    if _state.tape is None:
        return np.linalg.lstsq(av, bv, rcond=rcond)[0].astype(av.dtype)
    return _n.matmul(pinv(a, rcond=rcond), b)


def matrix_rank(x, tol=None):
    """Rank of matrices: the number of singular values above `tol`.

    Args:
        x: Array `(..., m, n)`.
        tol: Optional float threshold; defaults to `max(m, n) * eps * largest`.

    Returns:
        An int32 array `(...)` (not differentiable).
    """
    return np.asarray(np.linalg.matrix_rank(_as_float(unwrap(x)), tol=tol)).astype("int32")


def lu_factor(x):
    """LU decomposition with partial pivoting, in LAPACK's compact form (like SciPy's
    `lu_factor`).

    Args:
        x: Array `(..., m, n)`.

    Returns:
        A pair `(lu, pivots)`: `lu` holds `U` on and above the diagonal and the multipliers of
        the unit-lower `L` below it; `pivots` (int32, 0-based) says that row `i` was swapped
        with row `pivots[i]`. Not differentiable.
    """
    a = _as_float(unwrap(x))
    if a.ndim < 2:
        raise ValueError(f"lu_factor: expected matrices (..., m, n), got shape {a.shape}")
    lead = a.shape[:-2]
    m, n = a.shape[-2:]
    k = builtins.min(m, n)
    lu = a.reshape((-1, m, n)).copy()
    piv = np.zeros((lu.shape[0], k), dtype=np.int32)
    for b in range(lu.shape[0]):
        A = lu[b]
        for j in range(k):
            p = j + int(np.argmax(np.abs(A[j:, j])))
            piv[b, j] = p
            if p != j:
                A[[j, p]] = A[[p, j]]
            if A[j, j] != 0:
                A[j + 1:, j] /= A[j, j]
                A[j + 1:, j + 1:] -= np.outer(A[j + 1:, j], A[j, j + 1:])
    return lu.reshape(lead + (m, n)), piv.reshape(lead + (k,))


def jvp(fun, primals, tangents, has_aux=False):
    """Jacobian-vector product of `fun` at `primals` along `tangents` (forward mode).

    rnnkit differentiates in reverse mode, so this builds the product from one
    vector-Jacobian product per output element: exact, meant for small outputs.

    Args:
        fun: A function of the primals returning an array (or `(array, aux)` with
            `has_aux`), written with `rnnkit.ops`.
        primals: A tuple or list of input arrays.
        tangents: A tuple or list of tangent arrays, of the primals' shapes.
        has_aux: Bool, `fun` returns `(output, aux)`. Defaults to False.

    Returns:
        `(output, tangent_out)`, or `(output, tangent_out, aux)` with `has_aux`.
    """
    from rnnkit.autodiff import GradientTape, Tensor
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    values = [_as_array(unwrap(p)) for p in primals]
    for p, t in zip(values, tangents):
        if np.shape(unwrap(t)) != p.shape:
            raise ValueError(f"jvp: a tangent of shape {np.shape(unwrap(t))} for a primal of "
                             f"shape {p.shape}")
    with GradientTape(persistent=True) as tape:
        watched = [Tensor(v) for v in values]
        for w in watched:
            tape.watch(w)
        result = fun(*watched)
    out, aux = (result if has_aux else (result, None))
    out_v = _as_array(unwrap(out))
    tangent_out = np.zeros(out_v.shape, dtype=out_v.dtype if out_v.dtype.kind == "f"
                           else np.float64)
    flat = tangent_out.reshape(-1)
    for i in range(out_v.size):
        seed = np.zeros(out_v.shape, dtype=out_v.dtype)
        seed.reshape(-1)[i] = 1
        grads = tape.gradient(out, watched, output_gradients=seed)
        flat[i] = builtins.sum(float(np.sum(_as_array(unwrap(g)) * _as_array(unwrap(t))))
                               for g, t in zip(grads, tangents) if g is not None)
    del tape
    if has_aux:
        return out_v, tangent_out, aux
    return out_v, tangent_out
