"""pytest settings shared by the unit tests and the notebooks that nbval executes."""

import os

# Keep TensorFlow's C++ log lines down; the first lines it writes on import cannot be silenced,
# which is why stderr is left out of nbval's comparison below.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests and notebooks never download: the stored outputs must not depend on the network.
os.environ.setdefault("TPU_LECTURE_OFFLINE", "1")


def pytest_collectstart(collector):
    """In notebooks, compare stdout and results, not stderr (framework logs) or widget views (random ids)."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr", "application/vnd.jupyter.widget-view+json")
