"""Where the tests find what they read: the repository, their fixtures and data, the tools."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent          # tests/: shared helpers, fixtures, data
ROOT = TESTS.parent                              # the repository
FIXTURES = TESTS / "fixtures"                    # small files made by tools/make_*_fixtures.py
DATA = TESTS / "data"                            # model files written by Keras
TOOLS = ROOT / "tools"
# The MNIST subset of the project's shared data, beside the repository where a checkout has it.
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist_5k.csv.gz"
