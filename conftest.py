"""pytest settings shared by the unit tests and the notebooks that nbval executes."""

import os

import pytest

# Tests and notebooks never download: the stored outputs must not depend on the network.
os.environ.setdefault("TPU_LECTURE_OFFLINE", "1")
# TF_CPP_MIN_LOG_LEVEL is deliberately left unset: the kernels start as a student's do (Colab sets nothing), so the
# scan below sees every framework log line that the setup cell's filter (tl.runtime.keep_framework_logs_out) misses.
# Unit tests may set variables for themselves (KERAS_BACKEND, TF_CPP_MIN_LOG_LEVEL); a notebook's kernel gets the
# environment as it was when pytest started.
_ENVIRONMENT = dict(os.environ)


def pytest_collectstart(collector):
    """In notebooks, compare stdout and results, not stderr (scanned below instead) or widget views (random ids)."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr", "application/vnd.jupyter.widget-view+json")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before a notebook's kernel starts (its first cell's setup), put back the environment pytest started with."""
    if item.fspath.ext == ".ipynb" and os.environ != _ENVIRONMENT:
        os.environ.clear()
        os.environ.update(_ENVIRONMENT)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A notebook cell fails when any of its fresh outputs, stderr included, holds a framework's C++ log line."""
    result = yield
    from tpu_lecture.runtime.quiet import is_framework_noise

    outputs = getattr(item, "test_outputs", None) or []
    noisy = [line for output in outputs for line in "".join(output.get("text", "")).splitlines()
             if is_framework_noise(line)]
    if noisy:
        raise AssertionError(f"{len(noisy)} framework log line(s) reached this cell's output, e.g. {noisy[0][:160]!r}")
    return result
