"""pytest settings shared by the unit tests and the notebooks that nbval executes."""

import os
from pathlib import Path

# Keep TensorFlow's C++ log lines down; the first lines it writes on import cannot be silenced,
# which is why stderr is left out of nbval's comparison below.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests and notebooks never download: the stored outputs must not depend on the network.
os.environ.setdefault("TPU_LECTURE_OFFLINE", "1")
# Notebook 09's stored outputs were made with the tiny Shakespeare text; use the copy beside the checkout if any.
_shared_data = Path(__file__).resolve().parent.parent / "shared" / "data"
if "TPU_LECTURE_DATA" not in os.environ and (_shared_data / "tinyshakespeare.txt").is_file():
    os.environ["TPU_LECTURE_DATA"] = str(_shared_data)


def pytest_collectstart(collector):
    """In notebooks, compare stdout and results, not stderr (framework logs) or widget views (random ids)."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr", "application/vnd.jupyter.widget-view+json")
