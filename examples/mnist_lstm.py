"""The Keras RNN guide's MNIST experiment with `import rnnkit as keras`.

Each 28x28 image is a sequence of 28 rows of 28 pixels. The model is the guide's: LSTM(64) ->
BatchNormalization -> Dense(10), trained with SGD on sparse cross-entropy from logits. It uses
`--data PATH` (Keras' `mnist.npz` or a CSV), else the project's 5,000-image subset
(`mnist_5k.csv.gz`: 4,000 train, 1,000 validation) where a checkout has it beside the
repository, else Keras' full MNIST, downloaded once (see `mnist_data.py`). The guide runs one
epoch over 60,000 images with SGD's default learning rate (0.01); with 15 times fewer images,
10 epochs give only 630 steps, so this example raises the learning rate to 0.1
(`--learning-rate`). Then, as in the guide, a model built with `RNN(LSTMCell(64))` gets the
same weights and must give identical predictions.

    python examples/mnist_lstm.py [--epochs 10] [--data PATH]
"""

import argparse
import sys
import time

import numpy as np

import rnnkit as keras
import mnist_data

batch_size = 64
input_dim = 28
units = 64
output_size = 10  # labels are from 0 to 9


def build_model(allow_cudnn_kernel=True):
    # The fused LSTM layer; or the generic RNN(LSTMCell), which rnnkit also runs fused.
    if allow_cudnn_kernel:
        lstm_layer = keras.layers.LSTM(units)
    else:
        lstm_layer = keras.layers.RNN(keras.layers.LSTMCell(units))
    model = keras.models.Sequential([
        keras.Input((None, input_dim)),
        lstm_layer,
        keras.layers.BatchNormalization(),
        keras.layers.Dense(output_size),
    ])
    return model


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times = getattr(self, "times", []) + [time.perf_counter() - self.start]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    mnist_data.add_argument(parser)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--verbose", default="auto")
    parser.add_argument("--min-accuracy", type=float, default=None,
                        help="exit with an error unless some epoch's validation accuracy "
                             "reaches this")
    args = parser.parse_args()
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)

    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = mnist_data.load(args.data)
    x_train, x_test = x_train / 255.0, x_test / 255.0
    x_train, x_test = x_train.astype("float32"), x_test.astype("float32")
    print(f"train {x_train.shape}, validation {x_test.shape}")

    model = build_model(allow_cudnn_kernel=True)
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.SGD(learning_rate=args.learning_rate),
        metrics=["accuracy"],
    )
    model.summary()
    timer = EpochTimer()
    history = model.fit(x_train, y_train, validation_data=(x_test, y_test),
                        batch_size=batch_size, epochs=args.epochs, callbacks=[timer],
                        verbose=verbose)
    for epoch, seconds in enumerate(timer.times):
        print(f"epoch {epoch + 1}: {seconds:.2f} s, val_accuracy "
              f"{history.history['val_accuracy'][epoch]:.4f}")

    # The same weights in RNN(LSTMCell): identical predictions.
    generic = build_model(allow_cudnn_kernel=False)
    generic.set_weights(model.get_weights())
    fused_predictions = model.predict(x_test, batch_size=batch_size, verbose=0)
    generic_predictions = generic.predict(x_test, batch_size=batch_size, verbose=0)
    print("LSTM and RNN(LSTMCell) predictions identical:",
          bool(np.array_equal(fused_predictions, generic_predictions)))
    if not np.array_equal(fused_predictions, generic_predictions):
        return 1

    sample, sample_label = x_test[0], y_test[0]
    result = np.argmax(model.predict_on_batch(sample[None]), axis=1)
    print(f"Predicted result is: {result}, target result is: {sample_label}")

    accuracies = history.history["val_accuracy"]
    best = max(accuracies)
    print(f"validation accuracy: best {best:.4f} (epoch {accuracies.index(best) + 1}), "
          f"final {accuracies[-1]:.4f}")
    if args.min_accuracy is not None and best < args.min_accuracy:
        print(f"validation accuracy never reached {args.min_accuracy}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
