"""The one piece of distribution state the training loop reads (kept free of imports).

`current` is the active `DataParallel` (None: single-process training, the default); the
fit loop, the data adapters, the callbacks and BatchNormalization test it once per step or
call. `in_step` is True while a distributed training step runs (BatchNormalization then
uses the global batch's moments).
"""

current = None
in_step = False
