"""The Keras guide "Working with RNNs", every runnable snippet in order, with
`import rnnkit as keras` (and `keras.ops` where the guide uses `tf.*`).

The models are built so that `summary()` prints their shapes and parameter totals. The MNIST
section reads `--data PATH`, else the project's 5,000-image subset where a checkout has it beside
the repository, else Keras' MNIST, downloaded once (see `mnist_data.py`). `--small` shortens
the training runs (for CI). `--device gpu` builds and trains every model on the GPU (all of the
script runs inside `keras.device(...)`; the data stay NumPy arrays, and `fit` moves each batch to
the device, as Keras does).

    python examples/guide.py [--small] [--data PATH] [--device cpu|gpu|gpu:N]
"""

import argparse
import contextlib
import sys

import numpy as np

import rnnkit as keras
from rnnkit import layers, ops

import mnist_data

parser = argparse.ArgumentParser()
parser.add_argument("--small", action="store_true", help="short training runs (CI)")
parser.add_argument("--device", default=None,
                    help="where the models are built and trained: cpu, gpu, gpu:N "
                         "(default: rnnkit's default device)")
mnist_data.add_argument(parser)
args = parser.parse_args()

# The whole guide runs on one device: the scope stays open until the script ends.
device_scope = contextlib.ExitStack()
if args.device:
    try:
        device_scope.enter_context(keras.device(args.device))
    except (RuntimeError, ValueError) as error:
        sys.exit(f"--device {args.device}: {error}")


def section(title):
    print(f"\n## {title}\n")


keras.utils.set_random_seed(0)

# ------------------------------------------------------------------------------------------------
section("Built-in RNN layers: a simple example")
model = keras.Sequential()
# Add an Embedding layer expecting input vocab of size 1000, and
# output embedding dimension of size 64.
model.add(layers.Embedding(input_dim=1000, output_dim=64))
# Add a LSTM layer with 128 internal units.
model.add(layers.LSTM(128))
# Add a Dense layer with 10 units.
model.add(layers.Dense(10))
model.build((None, None))  # Keras 3 prints an unbuilt model here; build it to show the shapes
model.summary()

# ------------------------------------------------------------------------------------------------
section("Outputs and states")
model = keras.Sequential()
model.add(layers.Embedding(input_dim=1000, output_dim=64))
# The output of GRU will be a 3D tensor of shape (batch_size, timesteps, 256)
model.add(layers.GRU(256, return_sequences=True))
# The output of SimpleRNN will be a 2D tensor of shape (batch_size, 128)
model.add(layers.SimpleRNN(128))
model.add(layers.Dense(10))
model.build((None, None))
model.summary()

encoder_vocab = 1000
decoder_vocab = 2000

encoder_input = layers.Input(shape=(None,))
encoder_embedded = layers.Embedding(input_dim=encoder_vocab, output_dim=64)(encoder_input)
# Return states in addition to output
output, state_h, state_c = layers.LSTM(64, return_state=True, name="encoder")(encoder_embedded)
encoder_state = [state_h, state_c]

decoder_input = layers.Input(shape=(None,))
decoder_embedded = layers.Embedding(input_dim=decoder_vocab, output_dim=64)(decoder_input)
# Pass the 2 states to a new LSTM layer, as initial state
decoder_output = layers.LSTM(64, name="decoder")(decoder_embedded, initial_state=encoder_state)
output = layers.Dense(10)(decoder_output)

model = keras.Model([encoder_input, decoder_input], output)
model.summary()

# ------------------------------------------------------------------------------------------------
section("Cross-batch statefulness")
paragraph1 = np.random.random((20, 10, 50)).astype(np.float32)
paragraph2 = np.random.random((20, 10, 50)).astype(np.float32)
paragraph3 = np.random.random((20, 10, 50)).astype(np.float32)

lstm_layer = layers.LSTM(64, stateful=True)
output = lstm_layer(paragraph1)
output = lstm_layer(paragraph2)
output = lstm_layer(paragraph3)

# reset_states() will reset the cached state to the original initial_state.
# If no initial_state was provided, zero-states will be used by default.
lstm_layer.reset_states()
print("stateful LSTM output", output.shape)

section("RNN State Reuse")
paragraph1 = np.random.random((20, 10, 50)).astype(np.float32)
paragraph2 = np.random.random((20, 10, 50)).astype(np.float32)
paragraph3 = np.random.random((20, 10, 50)).astype(np.float32)

lstm_layer = layers.LSTM(64, stateful=True)
output = lstm_layer(paragraph1)
output = lstm_layer(paragraph2)

existing_state = lstm_layer.states

new_lstm_layer = layers.LSTM(64)
new_output = new_lstm_layer(paragraph3, initial_state=existing_state)
print("reused-state LSTM output", new_output.shape)

# ------------------------------------------------------------------------------------------------
section("Bidirectional RNNs")
model = keras.Sequential()
model.add(layers.Bidirectional(layers.LSTM(64, return_sequences=True), input_shape=(5, 10)))
model.add(layers.Bidirectional(layers.LSTM(32)))
model.add(layers.Dense(10))
model.summary()

# ------------------------------------------------------------------------------------------------
section("Performance optimization and CuDNN kernels")
batch_size = 64
# Each MNIST image batch is a tensor of shape (batch_size, 28, 28).
# Each input sequence will be of size (28, 28) (height is treated like time).
input_dim = 28

units = 64
output_size = 10  # labels are from 0 to 9


# Build the RNN model
def build_model(allow_cudnn_kernel=True):
    # The LSTM layer runs the fused kernel; RNN(LSTMCell) does too in rnnkit.
    if allow_cudnn_kernel:
        # The LSTM layer with default options uses the fused kernel.
        lstm_layer = keras.layers.LSTM(units, input_shape=(None, input_dim))
    else:
        # Wrapping a LSTMCell in a RNN layer.
        lstm_layer = keras.layers.RNN(keras.layers.LSTMCell(units),
                                      input_shape=(None, input_dim))
    model = keras.models.Sequential([
        lstm_layer,
        keras.layers.BatchNormalization(),
        keras.layers.Dense(output_size),
    ])
    return model


(x_train, y_train), (x_test, y_test) = mnist_data.load(args.data)
x_train, x_test = x_train / 255.0, x_test / 255.0
if args.small:
    x_train, y_train, x_test, y_test = x_train[:640], y_train[:640], x_test[:128], y_test[:128]
sample, sample_label = x_train[0], y_train[0]

model = build_model(allow_cudnn_kernel=True)
model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer="sgd",
    metrics=["accuracy"],
)
model.fit(x_train, y_train, validation_data=(x_test, y_test), batch_size=batch_size,
          epochs=1)

noncudnn_model = build_model(allow_cudnn_kernel=False)
noncudnn_model.set_weights(model.get_weights())
noncudnn_model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer="sgd",
    metrics=["accuracy"],
)
noncudnn_model.fit(x_train, y_train, validation_data=(x_test, y_test),
                   batch_size=batch_size, epochs=1)

# The same model can run inference on the CPU; the device annotation forces the placement.
with keras.device("CPU:0"):
    cpu_model = build_model(allow_cudnn_kernel=True)
    cpu_model.set_weights(model.get_weights())
    result = ops.argmax(cpu_model.predict_on_batch(ops.expand_dims(sample, 0)), axis=1)
    print(f"Predicted result is: {result}, target result is: {sample_label}")


# ------------------------------------------------------------------------------------------------
section("RNNs with list/dict inputs, or nested inputs")


from nested_cell import NestedCell  # noqa: E402  (the guide's class, verbatim)


unit_1 = 10
unit_2 = 20
unit_3 = 30

i1 = 32
i2 = 64
i3 = 32
batch_size = 64
num_batches = 2 if args.small else 10
timestep = 10 if args.small else 50

cell = NestedCell(unit_1, unit_2, unit_3)
rnn = keras.layers.RNN(cell)

input_1 = keras.Input((None, i1))
input_2 = keras.Input((None, i2, i3))

outputs = rnn((input_1, input_2))

model = keras.models.Model([input_1, input_2], outputs)

model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])

input_1_data = np.random.random((batch_size * num_batches, timestep, i1))
input_2_data = np.random.random((batch_size * num_batches, timestep, i2, i3))
target_1_data = np.random.random((batch_size * num_batches, unit_1))
target_2_data = np.random.random((batch_size * num_batches, unit_2, unit_3))
input_data = [input_1_data, input_2_data]
target_data = [target_1_data, target_2_data]

model.fit(input_data, target_data, batch_size=batch_size)
model.summary()
