"""The C++ core from Python: one LSTM layer, forward and backward, with rnnkit.core on NumPy arrays
(below the Keras API; `quickstart.py` shows the Keras API itself).

Weights use the Keras layout and gate order (LSTM: i, f, c, o), so the arrays of a Keras
`LSTM(16)` layer's `get_weights()` could be passed in place of the random ones below.
"""

import time

import numpy as np

import rnnkit
from rnnkit.core import rnn_backward, rnn_forward

B, T, I, H = 4, 10, 8, 16  # batch, timesteps, input features, units
rng = np.random.default_rng(0)

# Keras layout: kernel (I, 4H), recurrent_kernel (H, 4H), bias (4H,) with the forget block at 1
# (Keras' unit_forget_bias=True).
kernel = rng.uniform(-0.3, 0.3, size=(I, 4 * H)).astype(np.float32)
recurrent_kernel = rng.uniform(-0.3, 0.3, size=(H, 4 * H)).astype(np.float32)
bias = np.zeros(4 * H, dtype=np.float32)
bias[H:2 * H] = 1.0

x = rng.standard_normal((B, T, I)).astype(np.float32)
lengths = np.array([10, 7, 4, 1])
mask = np.arange(T)[None, :] < lengths[:, None]  # right padding: sample b has lengths[b] real steps

start = time.perf_counter()

# Inference: the last output (B, H) and the final states [h, c].
result = rnn_forward("lstm", x, kernel, recurrent_kernel, bias, mask=mask)
print("forward (inference)")
print("  output      ", result.output.shape)
print("  states h, c ", [s.shape for s in result.states])

# Training: the whole output sequence, plus the reserve that the backward pass needs.
train = rnn_forward("lstm", x, kernel, recurrent_kernel, bias, mask=mask,
                    return_sequences=True, training=True)
print("forward (training, return_sequences=True)")
print("  output      ", train.output.shape)

# Gradients of L = sum(output * g) with respect to the inputs, the initial states and the weights.
g = rng.standard_normal(train.output.shape).astype(np.float32)
grads = rnn_backward("lstm", x, kernel, recurrent_kernel, bias, reserve=train.reserve,
                     d_output=g, mask=mask, return_sequences=True)
print("backward")
for name, value in [("d_x", grads.d_x), ("d_initial_h", grads.d_initial_state[0]),
                    ("d_initial_c", grads.d_initial_state[1]), ("d_kernel", grads.d_kernel),
                    ("d_recurrent_kernel", grads.d_recurrent_kernel), ("d_bias", grads.d_bias)]:
    print(f"  {name:<19} shape {str(value.shape):<9} norm {np.linalg.norm(value):.4f}")

# Padded steps get no gradient.
assert np.all(grads.d_x[3, 1:] == 0)
elapsed = time.perf_counter() - start
print(f"done in {elapsed * 1e3:.1f} ms on {rnnkit.get_num_threads()} thread(s)")
