"""rnnkit.tree (keras.tree): nodes, leaves (None included), ordering, packing, mapping."""

import collections

import numpy as np
import pytest

from rnnkit import tree

Point = collections.namedtuple("Point", ["x", "y"])
OtherPoint = collections.namedtuple("OtherPoint", ["x", "y"])
SamePoint = collections.namedtuple("Point", ["x", "y"])  # same name, different type


def test_is_nested():
    for node in ([], (), {}, [1], (1, 2), {"a": 1}, Point(1, 2), collections.OrderedDict()):
        assert tree.is_nested(node)
    for leaf in (None, 1, 2.0, "abc", b"x", np.zeros(3), np.float32(1), object()):
        assert not tree.is_nested(leaf)


def test_flatten_basic_and_none_is_leaf():
    assert tree.flatten([[1, 2, 3], [4, [5], [[6]]]]) == [1, 2, 3, 4, 5, 6]
    assert tree.flatten(None) == [None]
    assert tree.flatten(1) == [1]
    assert tree.flatten([None, (None, 1)]) == [None, None, 1]
    assert tree.flatten("abc") == ["abc"]
    arr = np.ones((2, 2))
    flat = tree.flatten([arr, {"k": arr}])
    assert len(flat) == 2 and flat[0] is arr and flat[1] is arr
    assert tree.flatten([]) == [] and tree.flatten({}) == []


def test_flatten_dict_sorted_keys_and_ordered_dict_insertion_order():
    assert tree.flatten({100: "world!", 6: "Hello"}) == ["Hello", "world!"]
    assert tree.flatten({"b": 1, "a": 2, "c": 3}) == [2, 1, 3]
    od = collections.OrderedDict([("b", 1), ("a", 2)])
    assert tree.flatten(od) == [1, 2]
    dd = collections.defaultdict(list, {"z": 1, "y": 2})
    assert tree.flatten(dd) == [2, 1]


def test_flatten_namedtuple_in_field_order():
    assert tree.flatten(Point(x=[1, 2], y={"b": 3, "a": 4})) == [1, 2, 4, 3]


def test_flatten_with_path():
    assert tree.flatten_with_path([{"foo": 42}]) == [((0, "foo"), 42)]
    assert tree.flatten_with_path({"b": (1, None), "a": 2}) == [
        (("a",), 2), (("b", 0), 1), (("b", 1), None)]
    assert tree.flatten_with_path(5) == [((), 5)]


def test_pack_sequence_as_restores_structure():
    structure = {"key3": {"c": ("alpha", "beta"), "a": "gamma"},
                 "key1": {"e": "val1", "d": "val2"}}
    packed = tree.pack_sequence_as(structure, ["val2", "val1", 3.0, 1.0, 2.0])
    assert packed == {"key3": {"c": (1.0, 2.0), "a": 3.0}, "key1": {"e": "val1", "d": "val2"}}
    assert list(packed) == ["key3", "key1"]  # the structure's own key order
    assert list(packed["key3"]) == ["c", "a"]
    assert tree.pack_sequence_as((("a", "b"), ("c", "d", "e"), "f"), [1, 2, 3, 4, 5, 6]) == \
        ((1, 2), (3, 4, 5), 6)


def test_pack_sequence_as_namedtuple_ordered_and_default_dict():
    s = [Point(1, (2, 3)), collections.OrderedDict([("b", 0), ("a", 0)]),
         collections.defaultdict(int, {"q": 0})]
    out = tree.pack_sequence_as(s, list("abcdef"))
    assert type(out[0]) is Point and out[0] == Point("a", ("b", "c"))
    assert type(out[1]) is collections.OrderedDict and list(out[1].items()) == [("b", "d"),
                                                                                ("a", "e")]
    assert type(out[2]) is collections.defaultdict and out[2].default_factory is int
    assert out[2]["q"] == "f"


def test_pack_sequence_as_roundtrip_with_none_leaves():
    s = {"h": None, "c": [None, 1.0], "t": Point(None, (None,))}
    flat = tree.flatten(s)
    assert flat == [None, 1.0, None, None, None]
    assert tree.pack_sequence_as(s, flat) == s


def test_pack_sequence_as_leaf_and_errors():
    assert tree.pack_sequence_as(None, [7]) == 7
    assert tree.pack_sequence_as("x", ["y"]) == "y"
    with pytest.raises(ValueError, match="Structure had 3 atoms, but flat_sequence had 2 items"):
        tree.pack_sequence_as([1, (2, 3)], [1, 2])
    with pytest.raises(ValueError, match="Structure had 1 atoms"):
        tree.pack_sequence_as(5, [1, 2])
    with pytest.raises(TypeError, match="Attempted to pack value"):
        tree.pack_sequence_as([1], 5)
    assert tree.unflatten_as is tree.pack_sequence_as


def test_pack_sequence_as_keeps_nested_values_as_leaves():
    assert tree.pack_sequence_as([None, None], [[1, 2], {"a": 3}]) == [[1, 2], {"a": 3}]


# -- map_structure -----------------------------------------------------------------------------

def test_map_structure_single_and_multiple():
    s = [[1], [2], [3]]
    assert tree.map_structure(lambda v: v ** 2, s) == [[1], [4], [9]]
    assert tree.map_structure(lambda x, y: x * y, s, s) == [[1], [4], [9]]
    assert tree.map_structure(lambda a, b, c: a + b + c, (1, {"k": 2}), (10, {"k": 20}),
                              (100, {"k": 200})) == (111, {"k": 222})
    out = tree.map_structure(lambda v: v * 2, Point(1, 2))
    assert type(out) is Point and out == Point(2, 4)


def test_map_structure_none_is_leaf():
    assert tree.map_structure(lambda v: "leaf" if v is None else v, [None, (1, None)]) == \
        ["leaf", (1, "leaf")]
    assert tree.map_structure(lambda v: v + 1, [None, 1], none_is_leaf=False) == [None, 2]
    assert tree.map_structure(lambda a, b: (a, b), None, 3) == (None, 3)


def test_map_structure_dict_key_alignment_across_types():
    a = {"x": 1, "y": 2}
    b = collections.OrderedDict([("y", 20), ("x", 10)])
    out = tree.map_structure(lambda p, q: p + q, a, b)
    assert out == {"x": 11, "y": 22} and type(out) is dict


def test_map_structure_mismatch_errors_name_both():
    with pytest.raises(ValueError) as e:
        tree.map_structure(lambda a, b: a, [1, 2], [1, 2, 3])
    msg = str(e.value)
    assert "[1, 2]" in msg and "[1, 2, 3]" in msg and "same nested structure" in msg
    with pytest.raises(ValueError, match="same type"):
        tree.map_structure(lambda a, b: a, [1, 2], (1, 2))
    with pytest.raises(ValueError, match="same set of keys"):
        tree.map_structure(lambda a, b: a, {"a": 1}, {"b": 1})
    with pytest.raises(ValueError, match="is a sequence, while substructure"):
        tree.map_structure(lambda a, b: a, [1, [2]], [1, 2])
    with pytest.raises(TypeError, match="must be callable"):
        tree.map_structure(5, [1])
    with pytest.raises(ValueError, match="at least one structure"):
        tree.map_structure(lambda: 1)


def test_assert_same_structure():
    tree.assert_same_structure([(0, 1)], [(2, 3)])
    tree.assert_same_structure(Point(0, 1), Point("a", None))
    tree.assert_same_structure({"a": [1]}, collections.OrderedDict(a=[5]))
    tree.assert_same_structure(None, 5)  # two leaves
    tree.assert_same_structure([np.zeros(3)], ["leaf"])
    for a, b in [(Point(0, 1), SamePoint(2, 3)), (Point(0, 1), OtherPoint(0, 1)),
                 (Point(0, 1), (0, 1)), ([0], [[0]]), ([None], [[]]), ({"a": 1}, [1]),
                 ([1], None)]:
        with pytest.raises(ValueError, match="don't have the same nested structure"):
            tree.assert_same_structure(a, b)
    tree.assert_same_structure([1], [2], check_types=True)  # accepted, ignored


def test_assert_same_paths():
    tree.assert_same_paths([0, 1], (2, 3))
    tree.assert_same_paths(Point(0, 1), OtherPoint(2, 3))
    with pytest.raises(ValueError, match="don't have the same paths"):
        tree.assert_same_paths({"a": 1}, {"b": 1})


# -- map_structure_up_to -----------------------------------------------------------------------

def test_map_structure_up_to():
    structure = [[1, 1], [2, 2]]
    assert tree.map_structure_up_to([None, None], len, structure) == [2, 2]
    assert tree.map_structure_up_to([None, [None, None]], str, structure) == ["[1, 1]",
                                                                              ["2", "2"]]
    out = tree.map_structure_up_to({"a": None, "b": (None,)}, lambda x, y: (x, y),
                                   {"a": [1, 2], "b": ({"deep": 3},)},
                                   {"a": "A", "b": ("B",)})
    assert out == {"a": ([1, 2], "A"), "b": (({"deep": 3}, "B"),)}
    nt = tree.map_structure_up_to(Point(None, None), lambda v: v, Point([1], [2]))
    assert type(nt) is Point and nt == Point([1], [2])


def test_map_structure_up_to_errors():
    with pytest.raises(ValueError, match="shallower"):
        tree.map_structure_up_to([None, [None]], lambda x: x, [1, 2])
    with pytest.raises(ValueError, match="Could not find key 'b'"):
        tree.map_structure_up_to({"a": None, "b": None}, lambda x: x, {"a": 1, "c": 2})
    with pytest.raises(ValueError, match="sequence length"):
        tree.map_structure_up_to([None, None], lambda x: x, [1, 2, 3])


# -- traverse, lists_to_tuples, map_shape_structure --------------------------------------------

def test_traverse_top_down_and_bottom_up():
    v = []
    out = tree.traverse(v.append, [(1, 2), [3], {"a": 4}], top_down=True)
    assert out == [(1, 2), [3], {"a": 4}]
    assert v == [[(1, 2), [3], {"a": 4}], (1, 2), 1, 2, [3], 3, {"a": 4}, 4]
    v = []
    tree.traverse(v.append, [(1, 2), [3], {"a": 4}], top_down=False)
    assert v == [1, 2, (1, 2), 3, [3], 4, {"a": 4}, [(1, 2), [3], {"a": 4}]]


def test_traverse_replacement_and_map_to_none():
    def f(x):
        if isinstance(x, tuple):
            return "T"  # replaces the sub-tree; not entered
        if x == 3:
            return tree.MAP_TO_NONE
        return None

    assert tree.traverse(f, [(1, 2), [3, 4]]) == ["T", [None, 4]]
    doubled = tree.traverse(lambda x: None if tree.is_nested(x) else x * 2, [1, (2,)],
                            top_down=False)
    assert doubled == [2, (4,)]


def test_lists_to_tuples():
    assert tree.lists_to_tuples([1, [2, (3, [4])], {"a": [5]}]) == (1, (2, (3, (4,))),
                                                                     {"a": (5,)})
    assert tree.lists_to_tuples([]) == ()
    out = tree.lists_to_tuples(Point([1], 2))
    assert type(out) is Point and out == Point((1,), 2)


def test_map_shape_structure_treats_shapes_as_leaves():
    out = tree.map_shape_structure(lambda s: (None,) + tuple(s),
                                   [(2, 3), {"a": (4,), "b": [None, 5]}, ()])
    assert out == [(None, 2, 3), {"a": (None, 4), "b": (None, None, 5)}, (None,)]
    assert tree.map_shape_structure(len, ((2, 3), (4, 5, 6))) == (2, 3)
    assert tree.map_shape_structure(lambda s: s, (np.int64(2), 3)) == (np.int64(2), 3)
    # a tuple holding a non-int is a node
    assert tree.map_shape_structure(lambda s: "S", [(2, "x")]) == [("S", "S")]
    with pytest.raises(TypeError, match="must be callable"):
        tree.map_shape_structure(None, [(1,)])
