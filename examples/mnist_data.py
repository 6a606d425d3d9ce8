"""Where the MNIST examples get their images from (shared by guide.py and mnist_lstm.py).

In order:
1. `--data PATH`: Keras' `mnist.npz`, or a CSV of 784 pixels + label per row (`.csv` /
   `.csv.gz`), read by `rnnkit.datasets.mnist.load_data(PATH)`;
2. the project's 5,000-image subset, `mnist_5k.csv.gz`, where a checkout has it in
   `../shared/data/` beside the repository (4,000 train / 1,000 test images);
3. otherwise Keras' full MNIST (60,000 / 10,000 images, 11 MB), downloaded once by
   `rnnkit.datasets.mnist.load_data()` into `~/.rnnkit/datasets` (`$RNNKIT_HOME` moves it).
"""

import os

import rnnkit as keras

HERE = os.path.dirname(os.path.abspath(__file__))
SUBSET = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data", "mnist_5k.csv.gz"))


def add_argument(parser):
    parser.add_argument("--data", default=None,
                        help="an MNIST file (mnist.npz or a CSV); default: the 5,000-image "
                             f"subset at {SUBSET} if present, else Keras' MNIST (downloaded)")


def load(path=None):
    """`(x_train, y_train), (x_test, y_test)` as uint8 images and labels; says where from."""
    if path is None and os.path.exists(SUBSET):
        path = SUBSET
    if path is not None:
        if not os.path.exists(path):
            raise SystemExit(f"--data {path}: no such file")
        print(f"MNIST from {path}")
        return keras.datasets.mnist.load_data(path)
    print("MNIST: Keras' mnist.npz (downloaded on first use, then cached)")
    try:
        return keras.datasets.mnist.load_data()
    except ConnectionError as e:
        raise SystemExit(f"{e}\n(or pass --data PATH)") from None
