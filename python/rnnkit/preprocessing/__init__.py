"""`keras.preprocessing`: Keras 3's aliases of the dataset and sequence utilities.

- `rnnkit.preprocessing.sequence.pad_sequences` is `rnnkit.utils.pad_sequences`;
- `timeseries_dataset_from_array` and `text_dataset_from_directory` are those of
  `rnnkit.utils`.

The image helpers of `keras.preprocessing` (`image`, `image_dataset_from_directory`) are
left out: rnnkit does not handle images.
"""

from rnnkit.preprocessing import sequence
from rnnkit.utils import text_dataset_from_directory, timeseries_dataset_from_array

__all__ = ["sequence", "text_dataset_from_directory", "timeseries_dataset_from_array"]
