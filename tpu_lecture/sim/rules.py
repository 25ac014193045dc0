"""The PE's rules, checked on a run's frames: every MAC, every value that moved, every load and every store.

:func:`assert_pe_rules` reads only the frames and the fold records (what entered the array and
when), never the simulator's code, so a frame that breaks a rule is caught whoever wrote it.
"""

from __future__ import annotations

import numpy as np

from tpu_lecture.sim.tape import Frame


def assert_pe_rules(run) -> int:
    """Check every MAC, move, load and store in a run's frames against the PE's rules; returns the MACs checked.

    An active PE must hold its activation × its weight plus the partial sum it was given (from the
    PE above where sums flow down, its own where they stay), and each moving value must be the one
    its neighbour held a cycle before. Where a tile is loaded: each shadow register takes the value
    of the one above it while a tile shifts in (row 0 the tile's next row), the control signal moves
    one PE right per cycle from the left edge, entering row i i cycles after its fold starts, and a
    PE stores its shadow value exactly when the signal reaches it; every MAC uses the value of the
    tile of the fold its moving value belongs to. Symbols are compared after expanding.
    AssertionError names the cycle, the PE and the values when a rule fails.
    """
    run.check_frames()
    records = run.fold_records
    checked, before = 0, None
    for t in range(run.cycles):
        frame = run.frame(t)
        previous = None if frame.starts_empty else before
        if run.flow.preloads:
            _check_loading(frame, previous, records, run.stationary)
        for i, j in zip(*np.nonzero(frame.active)):
            _check_pe(run.flows, frame, previous, int(i), int(j))
            if run.flow.preloads:
                _check_tile(frame, records, int(i), int(j), run.stationary, run.flow.moving("right"))
            checked += 1
        before = frame
    return checked


def _check_pe(flows: dict[str, str], frame: Frame, before: Frame | None, i: int, j: int) -> None:
    values, at = frame.values, f"cycle {frame.cycle}, PE({i},{j})"
    for value, way in flows.items():
        source = (i, j - 1) if way == "right" else (i - 1, j)
        if value != "psum" and before is not None and min(source) >= 0:
            _expect(values[value][i, j], before.values[value][source], f"{at}: the {value} should come from PE{source}")
    if before is None:
        given = 0
    elif flows.get("psum") == "down":
        given = before.values["psum"][i - 1, j] if i > 0 else 0
    else:
        given = before.values["psum"][i, j]
    product = values["activation"][i, j] * values["weight"][i, j]
    _expect(values["psum"][i, j], product + given, f"{at}: the partial sum should be activation × weight + {given}")


def _check_loading(frame: Frame, before: Frame | None, records, held: str) -> None:
    """The shadow registers, the control signal and the stores of one cycle, against the cycle before."""
    t, rows = frame.cycle, frame.shape[0]
    starts = {record.start for record in records}
    for i in range(rows):
        _expect(bool(frame.control[i, 0]), t - i in starts, f"cycle {t}, PE({i},0): the control signal should enter "
                f"row {i} {i} cycles after a fold's first value")
    if frame.loading:
        record = next(r for r in records if r.load_start <= t < r.load_start + rows)
        _expect_rows(frame.values["shadow"][0], record.held[rows - 1 - (t - record.load_start)], t,
                     "row 0's shadow registers should take the tile's next row from the top edge")
    if before is None:
        return
    _expect_rows(frame.control[:, 1:], before.control[:, :-1], t, "the control signal should move one PE right")
    stored = frame.control
    _expect_rows(frame.values[held][stored], before.values["shadow"][stored], t,
                 "a PE the control signal reaches should store its shadow value")
    _expect_rows(frame.held_fold[stored], before.shadow_fold[stored], t, "a store should take the shadow's tile")
    _expect_rows(frame.values[held][~stored], before.values[held][~stored], t,
                 "a PE the control signal does not reach should keep the value it holds")
    _expect_rows(frame.held_fold[~stored], before.held_fold[~stored], t,
                 "a PE the control signal does not reach should keep the tile it holds")
    if frame.loading:
        _expect_rows(frame.values["shadow"][1:], before.values["shadow"][:-1], t,
                     "while a tile loads, each shadow register should take the value of the one above it")
    else:
        _expect_rows(frame.values["shadow"], before.values["shadow"], t, "the shadow registers should stay put")


def _check_tile(frame: Frame, records, i: int, j: int, held: str, moving: str) -> None:
    """A MAC at PE(i, j) multiplies a moving value of fold f by the value of fold f's tile at (i, j)."""
    entered = frame.cycle - i - j  # the cycle the value at PE(i, j) entered row 0's position
    fold = next((r for r in records if r.start <= entered < r.start + r.left.shape[0]), None)
    at = f"cycle {frame.cycle}, PE({i},{j})"
    if fold is None:
        raise AssertionError(f"{at} did a MAC with no fold's value passing through it")
    if frame.held_fold[i, j] != fold.index:
        raise AssertionError(f"{at} multiplies a value of fold {fold.index + 1} by the tile of fold "
                             f"{frame.held_fold[i, j] + 1}: the control signal let it mix two tiles")
    _expect(frame.values[held][i, j], fold.held[i, j], f"{at}: the {held} should be fold {fold.index + 1}'s")
    _expect(frame.values[moving][i, j], fold.left[entered - fold.start, i],
            f"{at}: the {moving} should be the stream's value {entered - fold.start} of row {i}")


def _expect(actual, expected, what: str) -> None:
    if actual == expected:
        return
    difference = actual - expected
    if getattr(difference, "expand", lambda: difference)() != 0:
        raise AssertionError(f"{what} = {expected}, but it is {actual}")


def _expect_rows(actual: np.ndarray, expected: np.ndarray, t: int, what: str) -> None:
    same = np.array([_equal(a, b) for a, b in zip(np.ravel(actual), np.ravel(expected))], bool)
    if not same.all():
        where = int(np.argmin(same))
        raise AssertionError(f"cycle {t}: {what}, but {np.ravel(actual)[where]} is not "
                             f"{np.ravel(expected)[where]} (value {where} of {same.size})")


def _equal(a, b) -> bool:
    if a == b:
        return True
    if isinstance(a, (bool, np.bool_)):
        return False
    difference = a - b
    return getattr(difference, "expand", lambda: difference)() == 0
