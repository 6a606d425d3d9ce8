"""`clone_model` and `model_from_json` (Keras 3's `keras.models.clone_model` /
`keras.models.model_from_json`)."""

from __future__ import annotations

import json

from rnnkit import tree

__all__ = ["clone_model", "model_from_json"]


def _default_clone(layer):
    return type(layer).from_config(layer.get_config())


def _is_keras_tensor(x):
    from rnnkit.graph.keras_tensor import KerasTensor
    return isinstance(x, KerasTensor)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """Returns a new model with the architecture of `model` and new weights.

    The layers are re-created from their configs (or by `clone_function`), so the clone's
    weights are freshly initialized, not copied: call `clone.set_weights(model.get_weights())`
    to copy them. A shared layer is cloned once and stays shared.

    Args:
        model: A `Sequential` or functional `Model`.
        input_tensors: Optional input tensor(s) (from `keras.Input`) to build the clone on,
            in the structure of `model.inputs`.
        clone_function: Optional callable `layer -> new layer` used instead of
            `type(layer).from_config(layer.get_config())` (return the layer itself to share
            it with the original).
        call_function: Optional callable `(layer, *args, **kwargs) -> outputs` that calls
            each cloned layer during the rebuild (functional models; for Sequential
            models, the clone's layers are called in order).
        recursive: Bool, also clone the layers of nested models with `clone_function`.
            Defaults to `False`.
        **kwargs: Any other keyword is a `ValueError`.

    Returns:
        The new model (same class: `Sequential` or functional `Model`).

    Raises:
        ValueError: For an unknown keyword, or `input_tensors` that do not match.
        TypeError: If `model` is not a model, or `clone_function` is not callable.

    Example:

    >>> import numpy as np, rnnkit as keras
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    >>> clone = keras.models.clone_model(model)
    >>> clone.layers[0].name, clone.layers[0] is model.layers[0]
    ('d', False)
    >>> clone.set_weights(model.get_weights())
    >>> x = np.ones((1, 3), "float32")
    >>> bool(np.allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0)))
    True
    """
    from rnnkit.models.functional import Functional, Input, Model
    from rnnkit.models.sequential import Sequential

    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments for clone_model(): {kwargs}")
    if not isinstance(model, Model):
        raise TypeError("Expected `model` argument to be a `Model` instance. Received: "
                        f"model={model!r}")
    if clone_function is not None and not callable(clone_function):
        raise TypeError("Expected `clone_function` argument to be a callable. Received: "
                        f"clone_function={clone_function!r}")
    if call_function is not None and not callable(call_function):
        raise TypeError("Expected `call_function` argument to be a callable. Received: "
                        f"call_function={call_function!r}")
    base_clone = clone_function or _default_clone
    cache = {}

    def clone_layer(layer):
        key = id(layer)
        if key not in cache:
            if recursive and isinstance(layer, Model):
                cache[key] = clone_model(layer, clone_function=clone_function,
                                         call_function=call_function, recursive=True)
            else:
                cache[key] = base_clone(layer)
        return cache[key]

    if isinstance(model, Sequential):
        layers = [clone_layer(layer) for layer in model.layers]
        inputs = getattr(model, "inputs", None) if model.built else None
        if input_tensors is not None:
            x = tree.flatten(input_tensors)
            if len(x) != 1:
                raise ValueError("A Sequential model takes one input tensor; received "
                                 f"input_tensors={input_tensors!r}")
            out = x[0]
            for layer in layers:
                out = call_function(layer, out) if call_function else layer(out)
            return Model(x[0], out, name=model.name)
        if inputs and call_function is None:
            shape = tuple(inputs[0].shape)[1:]
            return Sequential([Input(shape, dtype=inputs[0].dtype)] + layers,
                              name=model.name, trainable=model.trainable)
        if inputs:
            new_input = Input(tuple(inputs[0].shape)[1:], dtype=inputs[0].dtype)
            out = new_input
            for layer in layers:
                out = call_function(layer, out)
            return Model(new_input, out, name=model.name)
        return Sequential(layers, name=model.name, trainable=model.trainable)

    if not isinstance(model, Functional):
        raise ValueError("clone_model only supports Sequential and functional models; "
                         f"received a subclassed model of type {type(model).__name__}. "
                         "Re-create it with its constructor (or from_config) instead.")
    old_inputs = tree.flatten(model.inputs_structure)
    if input_tensors is not None:
        new_inputs = tree.flatten(input_tensors)
        if len(new_inputs) != len(old_inputs):
            raise ValueError(f"`input_tensors` must have {len(old_inputs)} tensor(s) (the "
                             f"model's inputs); received {len(new_inputs)}.")
        for t in new_inputs:
            if not _is_keras_tensor(t):
                raise ValueError("`input_tensors` must be symbolic tensors made by "
                                 f"keras.Input; received {t!r}")
    else:
        new_inputs = [Input(tuple(t.shape)[1:], dtype=t.dtype, name=t.name)
                      for t in old_inputs]
    mapping = {id(old): new for old, new in zip(old_inputs, new_inputs)}

    def swap(x):
        return mapping.get(id(x), x) if _is_keras_tensor(x) else x

    from rnnkit.layers.layer import Layer
    for node in model._nodes:
        if getattr(node, "is_input", False):
            continue
        operation = node.layer if node.layer is not None else node.operation
        args = tree.map_structure(swap, node.args)
        kwargs_ = tree.map_structure(swap, node.kwargs)
        if isinstance(operation, Layer):
            new_op = clone_layer(operation)
            outputs = call_function(new_op, *args, **kwargs_) if call_function else \
                new_op(*args, **kwargs_)
        else:  # an rnnkit.ops call: call the public op again on the new tensors
            from rnnkit import ops
            public = getattr(ops, getattr(operation, "op_name", ""), None)
            outputs = (public or operation)(*args, **kwargs_)
        for old, new in zip(node.output_tensors, tree.flatten(outputs)):
            mapping[id(old)] = new
    new_outputs = tree.map_structure(swap, model.outputs_structure)
    inputs_structure = tree.pack_sequence_as(model.inputs_structure, new_inputs) \
        if input_tensors is None else input_tensors
    return Model(inputs_structure, new_outputs, name=model.name)


def model_from_json(json_string, custom_objects=None):
    """Makes a model from the JSON text of `model.to_json()` (architecture only).

    Args:
        json_string: The JSON text.
        custom_objects: Optional dict mapping names to custom classes or functions.

    Returns:
        A new model, with freshly initialized weights.

    Raises:
        ValueError: If the text is not valid JSON or does not describe a model.

    Example:

    >>> import rnnkit as keras
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="tiny")
    >>> clone = keras.models.model_from_json(model.to_json())
    >>> clone.name, clone.output_shape
    ('tiny', (None, 2))
    """
    from rnnkit import saving
    try:
        config = json.loads(json_string)
    except (TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"model_from_json: `json_string` is not valid JSON ({e}).") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("model_from_json: the JSON does not describe a serialized model "
                         "(expected an object with 'class_name' and 'config').")
    return saving.deserialize(config, custom_objects=custom_objects)
