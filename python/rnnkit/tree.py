"""Nested-structure utilities (`keras.tree`).

Nodes are lists, tuples, namedtuples and dicts (including `OrderedDict` and `defaultdict`, and
subclasses of list/tuple/dict). Everything else is a leaf: numbers, strings, bytes, arrays,
tensors, objects and **None** (Keras 3's `none_is_leaf=True`).

Order: list/tuple/namedtuple children in position order; dict values sorted by key
(`OrderedDict`: insertion order). `pack_sequence_as` restores dict keys (in the structure's own
key order), namedtuple types and container types.
"""

from __future__ import annotations

import collections

import numpy as np

__all__ = [
    "MAP_TO_NONE", "assert_same_paths", "assert_same_structure", "flatten",
    "flatten_with_path", "is_nested", "is_shape", "lists_to_tuples", "map_shape_structure",
    "map_structure", "map_structure_up_to", "pack_sequence_as", "traverse", "unflatten_as",
]


class MAP_TO_NONE:
    """A marker: return it from a `traverse` function to replace a sub-tree with `None`.

    (Returning `None` itself means "keep going" in `traverse`.)
    """


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_nested(structure):
    """Returns whether `structure` is a node (not a leaf) of a nested structure.

    Args:
        structure: Any object.

    Returns:
        `True` for lists, tuples, namedtuples and dicts (and their subclasses); `False`
        for leaves, `None` included.
    """
    return isinstance(structure, (list, tuple, dict))


def _sorted_keys(d):
    if isinstance(d, collections.OrderedDict):
        return list(d.keys())
    try:
        return sorted(d)
    except TypeError:
        # Keys of mixed, unorderable types: a deterministic order all the same.
        return sorted(d, key=lambda k: (type(k).__name__, repr(k)))


def _items(node):
    """(key, child) pairs of a node in flattening order (keys are indices for sequences)."""
    if isinstance(node, dict):
        return [(k, node[k]) for k in _sorted_keys(node)]
    return list(enumerate(node))


def _children(node):
    if isinstance(node, dict):
        return [node[k] for k in _sorted_keys(node)]
    return list(node)


def _sequence_like(instance, args):
    """A container like `instance` holding `args` (given in flattening order)."""
    args = list(args)
    if isinstance(instance, dict):
        result = dict(zip(_sorted_keys(instance), args))
        pairs = [(k, result[k]) for k in instance]
        if isinstance(instance, collections.defaultdict):
            return type(instance)(instance.default_factory, pairs)
        try:
            return type(instance)(pairs)
        except TypeError:
            return dict(pairs)
    if _is_namedtuple(instance):
        return type(instance)(*args)
    if isinstance(instance, tuple):
        if type(instance) is tuple:
            return tuple(args)
        try:
            return type(instance)(args)
        except TypeError:
            return tuple(args)
    if isinstance(instance, list):
        if type(instance) is list:
            return args
        try:
            return type(instance)(args)
        except TypeError:
            return args
    raise TypeError(f"Not a nested structure: {instance!r}")


def _truncate(value, length=200):
    s = repr(value)
    return s if len(s) <= length else s[:length] + "..."


# -- flatten / pack ----------------------------------------------------------------------------

def flatten(structure):
    """Returns the leaves of a nested structure, in order, as a flat list.

    Sequences are walked in position order and dicts in sorted key order (`OrderedDict`
    in insertion order). `None` is a leaf.

    Args:
        structure: A nested structure, or a leaf.

    Returns:
        A list of leaves (`[structure]` for a leaf).

    Example:

    >>> import rnnkit as keras
    >>> keras.tree.flatten({"b": [1, (2, 3)], "a": None})
    [None, 1, 2, 3]
    """
    out = []

    def rec(x):
        if is_nested(x):
            for c in _children(x):
                rec(c)
        else:
            out.append(x)

    rec(structure)
    return out


def flatten_with_path(structure):
    """Returns the leaves of a nested structure with their paths.

    Args:
        structure: A nested structure.

    Returns:
        A list of `(path, leaf)` pairs in `flatten` order; a path is the tuple of indices
        and dict keys leading to the leaf.

    Example:

    >>> import rnnkit as keras
    >>> keras.tree.flatten_with_path({"a": [1, 2]})
    [(('a', 0), 1), (('a', 1), 2)]
    """
    out = []

    def rec(x, path):
        if is_nested(x):
            for k, c in _items(x):
                rec(c, path + (k,))
        else:
            out.append((path, x))

    rec(structure, ())
    return out


def _pack(structure, flat, index, sequence_fn):
    packed = []
    for child in _children(structure):
        if is_nested(child):
            index, sub = _pack(child, flat, index, sequence_fn)
            packed.append(sequence_fn(child, sub))
        else:
            packed.append(flat[index])
            index += 1
    return index, packed


def pack_sequence_as(structure, flat_sequence, sequence_fn=None):
    """Packs a flat sequence of leaves into the layout of `structure` (`flatten`'s inverse).

    `unflatten_as` is the same function.

    Args:
        structure: The nested structure whose layout (and container types, dict keys,
            namedtuple types) the result takes.
        flat_sequence: A flat list or tuple with one value per leaf of `structure`.
        sequence_fn: Optional function `(instance, children) -> container` building each
            node.

    Returns:
        The packed structure.

    Raises:
        TypeError: If `flat_sequence` is not a sequence.
        ValueError: If the number of values differs from the number of leaves.

    Example:

    >>> import rnnkit as keras
    >>> keras.tree.pack_sequence_as({"a": None, "b": [None]}, [1, 2])
    {'a': 1, 'b': [2]}
    """
    sequence_fn = sequence_fn or _sequence_like
    if not is_nested(flat_sequence):
        raise TypeError(
            f"Attempted to pack value:\n  {_truncate(flat_sequence)}\ninto a structure, but "
            f"found incompatible type `{type(flat_sequence)}` instead.")
    flat_sequence = _children(flat_sequence)
    n_leaves = len(flatten(structure))
    if n_leaves != len(flat_sequence):
        raise ValueError(
            f"Could not pack sequence. Structure had {n_leaves} atoms, but flat_sequence had "
            f"{len(flat_sequence)} items. Structure: {_truncate(structure)}, "
            f"flat_sequence: {_truncate(flat_sequence)}.")
    if not is_nested(structure):
        return flat_sequence[0]
    _, packed = _pack(structure, flat_sequence, 0, sequence_fn)
    return sequence_fn(structure, packed)


unflatten_as = pack_sequence_as


# -- structure comparison ----------------------------------------------------------------------

def _node_kind(x):
    if isinstance(x, dict):
        return "dict"
    if _is_namedtuple(x):
        return type(x)
    if isinstance(x, tuple):
        return "tuple"
    return "list"


def _describe(x):
    return f"type={type(x).__name__} str={_truncate(x)}"


def _structure_mismatch(a, b):
    """None when `a` and `b` have the same structure, else a description of the difference."""
    a_nested, b_nested = is_nested(a), is_nested(b)
    if not a_nested and not b_nested:
        return None
    if a_nested != b_nested:
        leaf, node = (a, b) if not a_nested else (b, a)
        return (f"Substructure \"{_describe(node)}\" is a sequence, while substructure "
                f"\"{_describe(leaf)}\" is not")
    ka, kb = _node_kind(a), _node_kind(b)
    if ka != kb:
        return (f"The two namedtuples / sequences don't have the same type: "
                f"{type(a).__name__} vs {type(b).__name__} ({_truncate(a)} vs {_truncate(b)})")
    if ka == "dict":
        if set(a.keys()) != set(b.keys()):
            return (f"The two dictionaries don't have the same set of keys. First structure "
                    f"has keys {sorted(map(repr, a.keys()))}, while second structure has keys "
                    f"{sorted(map(repr, b.keys()))}.")
        pairs = [(a[k], b[k]) for k in _sorted_keys(a)]
    else:
        if len(a) != len(b):
            return (f"The two structures don't have the same sequence length. Input structure "
                    f"has length {len(a)}, while shallow structure has length {len(b)}: "
                    f"{_truncate(a)} vs {_truncate(b)}")
        pairs = list(zip(a, b))
    for x, y in pairs:
        detail = _structure_mismatch(x, y)
        if detail is not None:
            return detail
    return None


def assert_same_structure(a, b, check_types=None):
    """Checks that two structures are nested the same way.

    Leaves may differ in type. Node types must match (a list and a tuple differ;
    namedtuple types must be identical), except that `dict`, `OrderedDict` and
    `defaultdict` with the same keys match.

    Args:
        a: First structure.
        b: Second structure.
        check_types: Accepted for compatibility and ignored, as in Keras 3.

    Raises:
        ValueError: If the structures differ, with a description of the first difference.
    """
    detail = _structure_mismatch(a, b)
    if detail is not None:
        raise ValueError(
            "The two structures don't have the same nested structure.\n\n"
            f"First structure: {_describe(a)}\n\nSecond structure: {_describe(b)}\n\n"
            f"More specifically: {detail}")


def assert_same_paths(a, b):
    """Checks that two structures have the same leaf paths.

    Container types are ignored, so `[0, 1]` and `(2, 3)` match.

    Args:
        a: First structure.
        b: Second structure.

    Raises:
        ValueError: If the paths differ, listing the paths missing on each side.
    """
    paths_a = {p for p, _ in flatten_with_path(a)}
    paths_b = {p for p, _ in flatten_with_path(b)}
    if paths_a != paths_b:
        raise ValueError(
            "`a` and `b` don't have the same paths. "
            f"Paths in `a` missing in `b`: {sorted(map(repr, paths_a - paths_b))}. "
            f"Paths in `b` missing in `a`: {sorted(map(repr, paths_b - paths_a))}.")


# -- mapping -----------------------------------------------------------------------------------

def map_structure(func, *structures, none_is_leaf=True):
    """Applies a function to the leaves of one or more structures of the same layout.

    Args:
        func: Callable taking one leaf from each structure.
        *structures: One or more structures with the same layout.
        none_is_leaf: Bool. With `False`, a `None` in the first structure stays `None`
            (`func` is not called there). Defaults to `True`.

    Returns:
        A structure with the layout (and container types) of the first one, holding the
        results of `func`.

    Raises:
        TypeError: If `func` is not callable.
        ValueError: If no structure is given or the layouts differ.

    Example:

    >>> import rnnkit as keras
    >>> keras.tree.map_structure(lambda x, y: x + y, [1, (2, 3)], [10, (20, 30)])
    [11, (22, 33)]
    """
    if not callable(func):
        raise TypeError(f"`func` must be callable. Received: func={func}")
    if not structures:
        raise ValueError("Must provide at least one structure")
    for other in structures[1:]:
        assert_same_structure(structures[0], other)

    def rec(*xs):
        x0 = xs[0]
        if is_nested(x0):
            if isinstance(x0, dict):
                keys = _sorted_keys(x0)
                children = [rec(*(x[k] for x in xs)) for k in keys]
            else:
                children = [rec(*cs) for cs in zip(*xs)]
            return _sequence_like(x0, children)
        if x0 is None and not none_is_leaf:
            return None
        return func(*xs)

    return rec(*structures)


def map_structure_up_to(shallow_structure, func, *structures):
    """Applies a function to the sub-trees of structures, down to a shallower structure.

    Like `map_structure`, but the walk stops at the leaves of `shallow_structure`: the
    matching sub-trees of `structures` (which may be nested deeper) are passed to `func`
    whole.

    Args:
        shallow_structure: The structure that sets how deep to go.
        func: Callable taking one sub-tree from each structure.
        *structures: Structures at least as deep as `shallow_structure`.

    Returns:
        A structure with the layout of `shallow_structure`.

    Raises:
        TypeError: If `func` is not callable.
        ValueError: If no structure is given or one is shallower or differently laid out.

    Example:

    >>> import rnnkit as keras
    >>> keras.tree.map_structure_up_to([None, None], len, [[1, 1], [2, 2, 2]])
    [2, 3]
    """
    if not callable(func):
        raise TypeError(f"`func` must be callable. Received: func={func}")
    if not structures:
        raise ValueError("Must provide at least one structure")

    def rec(shallow, xs, path):
        if not is_nested(shallow):
            return func(*xs)
        for x in xs:
            if not is_nested(x):
                raise ValueError(
                    "The input structure is shallower than `shallow_structure` at path "
                    f"{path}: expected a {type(shallow).__name__} like {_truncate(shallow)}, "
                    f"got {_describe(x)}.")
            if isinstance(shallow, dict):
                if not isinstance(x, dict):
                    raise ValueError(
                        f"At path {path}, `shallow_structure` is a dict but an input is "
                        f"{_describe(x)}.")
                missing = [k for k in shallow if k not in x]
                if missing:
                    raise ValueError(
                        f"Could not find key {missing[0]!r} in some input structure at path "
                        f"{path}. Input keys: {sorted(map(repr, x.keys()))}.")
            elif isinstance(x, dict) or len(x) != len(shallow):
                raise ValueError(
                    f"At path {path}, `shallow_structure` {_truncate(shallow)} and input "
                    f"{_truncate(x)} don't have the same sequence length / type.")
        out = []
        for k, sub in _items(shallow):
            out.append(rec(sub, [x[k] for x in xs], path + (k,)))
        return _sequence_like(shallow, out)

    return rec(shallow_structure, list(structures), ())


def traverse(func, structure, top_down=True):
    """Applies a function to every sub-tree of a structure (depth first), which may replace it.

    Top-down: when `func(sub)` returns `None` the traversal continues into `sub`;
    otherwise `sub` is replaced by the result and not entered. Bottom-up: the children are
    traversed first; a `None` result keeps the traversed sub-tree. Return `MAP_TO_NONE` to
    replace a sub-tree with `None`.

    Args:
        func: Callable taking a sub-tree (or a leaf).
        structure: The structure.
        top_down: Bool, the traversal order. Defaults to `True`.

    Returns:
        The new structure.

    Raises:
        TypeError: If `func` is not callable.

    Example:

    >>> import rnnkit as keras
    >>> keras.tree.traverse(lambda x: x * 10 if isinstance(x, int) else None, [[1, 2], 3])
    [[10, 20], 30]
    """
    if not callable(func):
        raise TypeError(f"`func` must be callable. Received: func={func}")

    def result(ret):
        return None if ret is MAP_TO_NONE or isinstance(ret, MAP_TO_NONE) else ret

    def rec(x):
        def traverse_children():
            if not is_nested(x):
                return x
            return _sequence_like(x, [rec(c) for c in _children(x)])

        if top_down:
            ret = func(x)
            if ret is None:
                return traverse_children()
            return result(ret)
        traversed = traverse_children()
        ret = func(traversed)
        if ret is None:
            return traversed
        return result(ret)

    return rec(structure)


def lists_to_tuples(structure):
    """Returns the same structure with every list replaced by a tuple.

    Args:
        structure: A nested structure.

    Returns:
        The converted structure.

    Example:

    >>> import rnnkit as keras
    >>> keras.tree.lists_to_tuples([1, [2, {"a": [3]}]])
    (1, (2, {'a': (3,)}))
    """

    def sequence_fn(instance, args):
        if isinstance(instance, list):
            return tuple(args)
        return _sequence_like(instance, args)

    return pack_sequence_as(structure, flatten(structure), sequence_fn=sequence_fn)


def is_shape(x):
    """Returns whether `x` is a shape: a list or tuple of ints and `None`s.

    Args:
        x: Any object.

    Returns:
        Bool (`True` for `()`, `False` for a namedtuple).

    Example:

    >>> import rnnkit as keras
    >>> keras.tree.is_shape((None, 3)), keras.tree.is_shape([(2, 3)])
    (True, False)
    """
    return isinstance(x, (list, tuple)) and not _is_namedtuple(x) and all(
        e is None or (isinstance(e, (int, np.integer)) and not isinstance(e, bool)) for e in x)


def map_shape_structure(func, structure):
    """Applies a function to the shapes in a nested structure of shapes.

    Like `map_structure`, with lists and tuples of ints and `None`s (shapes, `()`
    included) treated as leaves.

    Args:
        func: Callable taking a shape.
        structure: A shape, or a nested structure of shapes.

    Returns:
        The structure of the results.

    Raises:
        TypeError: If `func` is not callable.

    Example:

    >>> import rnnkit as keras
    >>> keras.tree.map_shape_structure(lambda s: (None,) + tuple(s), [(2, 3), {"a": (4,)}])
    [(None, 2, 3), {'a': (None, 4)}]
    """
    if not callable(func):
        raise TypeError(f"`func` must be callable. Received: func={func}")

    def rec(x):
        if is_shape(x) or not is_nested(x):
            return func(x)
        return _sequence_like(x, [rec(c) for c in _children(x)])

    return rec(structure)
