"""A hostile sweep: several hundred inputs a new user (or a fuzzer) might try, each run in its own forked process
under a time and a memory limit, over the command line, the simulator, the precision helpers, the results store
and the argument checks. Every case must end in one of two ways:

- **right**: the answer equals an independent oracle (NumPy's matmul on exact values, ml_dtypes, exact rational
  rounding), or the command succeeded and did what it says;
- **refused**: a TypeError/ValueError/OSError (API) or exit status 2 with one ``error:`` line (command line)
  whose message reads as ours (one line, no bare ``[Errno``, no internal Python wording), and the file system
  exactly as it was (no partial output).

Anything else (a wrong answer, a traceback, a crash, a time-out, running out of memory, a file left behind) is
counted **bad** and printed. Prints the totals; exits 1 if any case was bad.

    python benchmarks/hostile_sweep.py [--only SUBSTRING] [--time-limit 60] [--memory-gb 4]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import ml_dtypes
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tpu_lecture import checks, precision  # noqa: E402
from tpu_lecture.__main__ import main  # noqa: E402
from tpu_lecture.bench import store  # noqa: E402
from tpu_lecture.bench.record import BenchmarkResult  # noqa: E402
from tpu_lecture.sim.array import SystolicArray  # noqa: E402

INTERNAL = re.compile(r"unsupported operand|object has no attribute|not iterable|\[Errno|index out of range|"
                      r"can't multiply|ufunc|setting an array element|unhashable|'NoneType'|not subscriptable|"
                      r"takes \d+ positional|got an unexpected keyword", re.I)


class Bad(Exception):
    """The case went wrong in a way a user would not be told about clearly."""


@dataclass
class Case:
    group: str
    name: str
    run: Callable[[Path], str]  # returns "right" or "refused"; raises Bad


CASES: list[Case] = []


def case(group: str, name: str):
    def register(fn):
        CASES.append(Case(group, name, fn))
        return fn
    return register


def clear_message(error: BaseException) -> str:
    text = str(error)
    if "\n" in text.strip() or not text.strip() or len(text) > 600 or INTERNAL.search(text):
        raise Bad(f"unclear message: {type(error).__name__}: {text[:300]!r}")
    return "refused"


def api(call: Callable[[], object], check: Callable[[object], bool] | None = None,
        refusable=(TypeError, ValueError, OSError)) -> str:
    """Run ``call``; right if ``check`` accepts its result, refused if it raises clearly, else Bad."""
    try:
        result = call()
    except refusable as error:
        return clear_message(error)
    if check is None:
        raise Bad(f"expected a refusal, got {result!r:.200}")
    if not check(result):
        raise Bad(f"wrong answer: {result!r:.300}")
    return "right"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def cli(argv: list[str], tmp: Path, ok: Callable[[str, Path], bool] | None = None) -> str:
    """Run the command line in this process: right if it succeeds and ``ok`` holds, refused if it exits 2 with
    one error line and leaves ``tmp`` exactly as it was."""
    before = snapshot(tmp)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as stop:  # argparse
            status = stop.code
    err_lines = [line for line in err.getvalue().splitlines() if line.strip()]
    if "Traceback" in err.getvalue():
        raise Bad(f"traceback: {err.getvalue()[-400:]!r}")
    if status == 0:
        if ok is None:
            raise Bad(f"expected a refusal, exit 0: {out.getvalue()[-200:]!r}")
        if not ok(out.getvalue(), tmp):
            raise Bad(f"exit 0 but wrong: {out.getvalue()[-300:]!r}")
        return "right"
    if status != 2:
        raise Bad(f"exit {status}: {err.getvalue()[-300:]!r}")
    if len(err_lines) != 1 or not err_lines[0].startswith("error: "):
        raise Bad(f"not one error line: {err_lines[:5]!r}")
    clear_message(RuntimeError(err_lines[0]))
    after = snapshot(tmp)
    if after != before:
        raise Bad(f"partial output left: {sorted(set(after) ^ set(before)) or 'a file changed'}")
    return "refused"


# ============================================================================================== precision

def bf16_ref(values) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(values, dtype=np.float64).astype(ml_dtypes.bfloat16).astype(np.float32)


def same_bits(a, b) -> bool:
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    nan = np.isnan(b)
    return bool(np.array_equal(np.isnan(a), nan) and np.array_equal(a.view(np.uint32)[~nan], b.view(np.uint32)[~nan]))


def exact_nearest(x: Fraction, candidates: list[float]) -> bool:
    """Whether the first candidate is at least as near to ``x`` as every other one."""
    best = abs(x - Fraction(candidates[0]))
    return all(best <= abs(x - Fraction(c)) for c in candidates[1:] if math.isfinite(c))


def float16_is_nearest(v: float, r) -> bool:
    if np.isnan(v) or np.isnan(r):
        return bool(np.isnan(v) and np.isnan(r))
    if np.isinf(r):
        return bool(np.isinf(v) or abs(v) >= 65520)  # 65520 is the tie above float16's max: to even, infinity
    with np.errstate(over="ignore"):
        neighbours = [float(np.nextafter(np.float16(r), np.float16(d))) for d in (-np.inf, np.inf)]
    return exact_nearest(Fraction(float(v)), [float(r), *neighbours])


BF16_MAX = float(ml_dtypes.finfo(ml_dtypes.bfloat16).max)
FLOAT64_VALUES = [
    1 + 2**-8 + 2**-30, 1 + 3 * 2**-8 - 2**-40, BF16_MAX + 2.0**119 * (1 - 2**-20), 2**-134 + 2**-160,
    BF16_MAX + 2.0**119, np.nextafter(BF16_MAX + 2.0**119, 0), BF16_MAX, -BF16_MAX, 2.0**-133, 2.0**-134,
    np.nextafter(2.0**-134, 1), np.nextafter(2.0**-134, 0), 2.0**-126, np.nextafter(2.0**-126, 0), 0.0, -0.0,
    math.inf, -math.inf, math.nan, 5e-324, -5e-324, 1.7976931348623157e308, 1 + 2**-8, 1 + 3 * 2**-8, 0.1, -0.1,
    1 / 3, 65504.0, 65520.0, 65519.99, 3.14159, 1e-45, 1e-40, -1e-41, 2.0**-149, 2.0**-150, 1e38, 3.4e38, 3.5e38,
    np.uint64(0x7FF0000000000001).view(np.float64), np.uint64(0xFFF8000000000001).view(np.float64),
]
for i, value in enumerate(FLOAT64_VALUES):
    case("precision", f"to_bfloat16 float64 #{i} {value!r:.30}")(
        lambda tmp, v=value: api(lambda: precision.to_bfloat16(np.float64(v)), lambda r: same_bits(r, bf16_ref(v))))
    case("precision", f"to_float16 float64 #{i}")(lambda tmp, v=value: api(
        lambda: precision.to_float16(v), lambda r, v=v: float16_is_nearest(v, r)))

rng = np.random.default_rng(2024)
for i in range(20):
    bits = rng.integers(0, 2**64, size=5000, dtype=np.uint64)
    case("precision", f"to_bfloat16 5000 random float64 bit patterns #{i}")(
        lambda tmp, b=bits: api(lambda: precision.to_bfloat16(b.view(np.float64)), lambda r: same_bits(r, bf16_ref(
            b.view(np.float64)))))


def exact_bf16(x: Fraction) -> float:
    if x == 0:
        return 0.0
    sign, x = (-1 if x < 0 else 1), abs(x)
    e = -126
    while Fraction(2) ** (e + 1) <= x and e < 200:
        e += 1
    step = Fraction(2) ** (e - 7)
    kept, rest = divmod(x, step)
    if rest * 2 > step or (rest * 2 == step and kept % 2):
        kept += 1
    r = kept * step
    return sign * (math.inf if r > Fraction(BF16_MAX) else float(r))


for i, value in enumerate([2**62 + 3 * 2**54 - 1, 2**62 + 2**54 + 1, 2**64 - 1, -(2**63) - 1, 2**127 * 3, 2**200,
                           Fraction(1, 3), Fraction(-(2**200) - 1, 2**200), Fraction(2**-134) + Fraction(1, 2**400),
                           Fraction(1, 10**400), Decimal("1.00390625000001"), Decimal("-2.5e-40")]):
    case("precision", f"to_bfloat16 exact number #{i} {str(value)[:30]}")(lambda tmp, v=value: api(
        lambda: precision.to_bfloat16(np.array([v], dtype=object))[0],
        lambda r: float(r) == exact_bf16(Fraction(v)) if abs(Fraction(v)) < 2**129 else np.isinf(r)))
case("precision", "to_bfloat16 of 10**10000")(lambda tmp: api(lambda: precision.to_bfloat16(10**10000),
                                                              lambda r: r == np.inf))
case("precision", "bit_fields of 2**62+3*2**54-1")(lambda tmp: api(
    lambda: precision.bit_fields(2**62 + 3 * 2**54 - 1, "bfloat16").stored, lambda r: r == 2.0**62 + 2.0**55))
for fmt_dtype in (np.float16, np.float32, ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2):
    bits = rng.integers(0, 2 ** (8 * np.dtype(fmt_dtype).itemsize), size=4000, dtype=np.uint64)
    uint = {1: np.uint8, 2: np.uint16, 4: np.uint32}[np.dtype(fmt_dtype).itemsize]
    arr = bits.astype(uint).view(fmt_dtype)
    case("precision", f"to_bfloat16 of {np.dtype(fmt_dtype).name} bit patterns")(lambda tmp, a=arr: api(
        lambda: precision.to_bfloat16(a), lambda r: same_bits(r, bf16_ref(a.astype(np.float32)))))
if np.finfo(np.longdouble).nmant > 52:
    case("precision", "to_bfloat16 long double above a tie by 2**-60")(lambda tmp: api(
        lambda: precision.to_bfloat16(np.longdouble(1) + np.longdouble(2) ** -8 + np.longdouble(2) ** -60),
        lambda r: r == 1.0078125))

HOSTILE_VALUES = {
    "None": None, "str": "1.0", "bytes": b"1", "complex": 1 + 2j, "bool": True, "empty list": [], "ragged": [1, [2]],
    "dict": {1: 2}, "set": {1.0}, "masked": np.ma.masked_array([1.0, 2.0], mask=[0, 1]),
    "object None": np.array([1.0, None], dtype=object), "datetime": np.array(["2020-01-01"], dtype="datetime64[D]"),
    "timedelta": np.array([1], dtype="m8[s]"), "structured": np.zeros(2, dtype=[("a", "f4")]),
    "np.str_": np.str_("2"), "int4": np.array([1, 2], dtype=ml_dtypes.int4), "Decimal NaN": Decimal("NaN"),
    "Decimal tiny": Decimal("1e-50000"), "nested empty": [[]], "generator": (x for x in [1.0]),
    "object complex": np.array([1, 1j], dtype=object), "sympy": __import__("sympy").Symbol("x"),
}


def _plausible(value, result) -> bool:
    """For hostile values that are numbers after all: the result equals ml_dtypes' bfloat16 of them."""
    try:
        reference = np.asarray(value, dtype=np.float64) if not isinstance(value, Decimal) else float(value)
    except (TypeError, ValueError):
        return False
    return same_bits(result, bf16_ref(reference))


for label, value in HOSTILE_VALUES.items():
    case("precision", f"to_bfloat16 hostile {label}")(
        lambda tmp, v=value: api(lambda: precision.to_bfloat16(v), lambda r, v=v: _plausible(v, r)))
    case("precision", f"cast_report hostile {label}")(
        lambda tmp, v=value: api(lambda: precision.cast_report(v), lambda r: isinstance(r, list)))
    case("precision", f"bit_fields hostile {label}")(
        lambda tmp, v=value: api(lambda: precision.bit_fields(v), lambda r: True))
    case("precision", f"mxu_matmul hostile {label}")(
        lambda tmp, v=value: api(lambda: precision.mxu_matmul(v, v), lambda r: False))
def outcomes_are_exact(values) -> Callable[[list], bool]:
    """cast_report's 'exact' exactly where the stored number equals the given one (compared as fractions)."""
    def check(rows) -> bool:
        for value, row in zip(values, rows, strict=True):
            for fmt in precision.FORMAT_NAMES:
                stored = row[fmt]
                if math.isfinite(stored):
                    same = Fraction(stored) == Fraction(*value.as_integer_ratio()) if hasattr(
                        value, "as_integer_ratio") else Fraction(stored) == Fraction(value)
                    if (row[f"{fmt}_outcome"] == "exact") != same:
                        return False
        return True
    return check


for label, values in {
    "int64 past 2**53": np.array([2**62 + 3 * 2**54 - 1, 2**53 + 1, -(2**60) - 1], dtype=np.int64),
    "uint64": np.array([2**64 - 1, 2**63], dtype=np.uint64), "small ints": np.array([1, 255, 257, 65504]),
    "float64": np.array([0.5, 0.1, 65504.0, 1e-40]), "Python ints": np.array([2**62 + 1, 3], dtype=object),
    "Fractions": np.array([Fraction(1, 4), Fraction(1, 3)], dtype=object),
}.items():
    case("precision", f"cast_report outcomes of {label}")(lambda tmp, v=values: api(
        lambda: precision.cast_report(v), outcomes_are_exact(list(v.ravel()))))
case("precision", "bit_fields of two numbers")(lambda tmp: api(lambda: precision.bit_fields([1.0, 2.0])))
case("precision", "bit_fields unknown format")(lambda tmp: api(lambda: precision.bit_fields(1.0, "float8")))
case("precision", "mxu_matmul mismatched")(
    lambda tmp: api(lambda: precision.mxu_matmul(np.ones((2, 3)), np.ones((2, 3)))))
case("precision", "mxu_matmul float64 rounds once")(lambda tmp: api(
    lambda: precision.mxu_matmul([[1 + 2**-8 + 2**-30]], [[1.0]]), lambda r: r[0, 0] == 1.0078125))

# ============================================================================================== simulator

def sim(A, W, rows=2, cols=2, dataflow="ws", load=None, keep_frames=True):
    return SystolicArray(rows, cols, dataflow=dataflow, load=load).matmul(A, W, keep_frames=keep_frames).result


def matches(A, W):
    """An oracle for exact inputs: NumPy's matmul in float64/object, NaN and inf where NumPy has them."""
    def check(result):
        expected = np.matmul(np.asarray(A), np.asarray(W))
        result = np.asarray(result)
        if result.shape != expected.shape:
            return False
        if expected.dtype.kind == "f" or result.dtype.kind == "f":
            e, r = expected.astype(np.float64), result.astype(np.float64)
            return bool(np.array_equal(np.isnan(e), np.isnan(r)) and np.array_equal(e[~np.isnan(e)], r[~np.isnan(r)]))
        return result.tolist() == expected.tolist()
    return check


shapes = [(1, 1, 1), (3, 5, 2), (5, 2, 7), (4, 9, 3)]
arrays = [(1, 1), (2, 3), (3, 2), (4, 4)]
for flow in ("ws", "os", "is"):
    for R, C in arrays:
        for M, K, N in shapes:
            A = rng.integers(-9, 10, size=(M, K))
            W = rng.integers(-9, 10, size=(K, N))
            case("simulator", f"{flow} {R}x{C} int {M}x{K}x{N}")(
                lambda tmp, A=A, W=W, R=R, C=C, f=flow: api(lambda: sim(A, W, R, C, f, keep_frames=False),
                                                            matches(A, W)))

for flow in ("ws", "os", "is"):
    for label, dtype in (("float16", np.float16), ("bfloat16", ml_dtypes.bfloat16), ("float32", np.float32),
                         ("float64", np.float64)):
        A = rng.integers(-8, 9, size=(3, 5)).astype(dtype)
        W = rng.integers(-8, 9, size=(5, 3)).astype(dtype)
        case("simulator", f"{flow} {label} integer-valued (exact in any order)")(lambda tmp, A=A, W=W, f=flow: api(
            lambda: sim(A, W, 2, 2, f), matches(A.astype(np.float64), W.astype(np.float64))))
    for label, special in (("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf)):
        for where in ("A", "W"):
            A = rng.integers(-4, 5, size=(3, 5)).astype(np.float64)
            W = rng.integers(-4, 5, size=(5, 4)).astype(np.float64)
            (A if where == "A" else W)[1, 2] = special
            case("simulator", f"{flow} {label} in {where}, folds on a 2x3 array")(lambda tmp, A=A, W=W, f=flow: api(
                lambda: sim(A, W, 2, 3, f), matches(A, W)))
    for label, (A, W) in {
        "int8 extremes": (np.full((2, 300), -128, dtype=np.int8), np.full((300, 2), -128, dtype=np.int8)),
        "int64 near max": (np.array([[2**62, 2**62]]), np.array([[2], [2]])),
        "uint64 max": (np.array([[2**64 - 1]], dtype=np.uint64), np.array([[1]], dtype=np.uint64)),
        "uint64 and int64": (np.array([[2**63]], dtype=np.uint64), np.array([[-1]], dtype=np.int64)),
        "object big ints": (np.array([[2**80, 3]], dtype=object), np.array([[5], [2**70]], dtype=object)),
        "Fractions": (np.array([[Fraction(1, 3), Fraction(2, 7)]], dtype=object),
                      np.array([[Fraction(3, 5)], [Fraction(-1, 9)]], dtype=object)),
        "bool": (np.array([[True, False]]), np.array([[1], [1]])),
        "np.matrix": (np.matrix([[1, 2]]), np.matrix([[3], [4]])),
    }.items():
        case("simulator", f"{flow} {label}")(lambda tmp, A=A, W=W, f=flow: api(
            lambda: sim(A, W, 2, 2, f), matches(np.asarray(A, dtype=object) if A.dtype.kind in "iu" else A,
                                                np.asarray(W, dtype=object) if W.dtype.kind in "iu" else W)))

sympy = __import__("sympy")
case("simulator", "the lecture's 2x2 symbolic example")(lambda tmp: api(
    lambda: sim(np.array(sympy.symbols("A B C D")).reshape(2, 2), np.array(sympy.symbols("E F G H")).reshape(2, 2)),
    lambda r: sympy.expand(r[0, 0] - (sympy.Symbol("A") * sympy.Symbol("E") + sympy.Symbol("B") * sympy.Symbol("G")))
    == 0))
ONES = np.ones((2, 1), dtype=int)
HOSTILE_OPERANDS = {
    "masked": np.ma.masked_array([[1, 2]], mask=[[0, 1]]), "object None": np.array([[None, 1]]),
    "str entries": np.array([["1", "2"]]), "object str": np.array([["1", 2]], dtype=object),
    "ragged": [[1, 2], [3]], "big int beside float": [[2**53 + 1, 0.5]], "uint64 beside int64": [[np.uint64(2**64 - 1),
                                                                                                  np.int64(-1)]],
    "Decimal": [[Decimal("0.1"), Decimal("0.2")]], "complex": np.array([[1 + 1j, 2]]), "complex object": np.array(
        [[1j, 2]], dtype=object), "3-D": np.ones((1, 1, 2)), "1-D": np.ones(2), "0-d": np.array(1.0),
    "empty": np.ones((0, 2)), "structured": np.zeros((1, 2), dtype=[("a", "i4")]),
    "datetime": np.array([["2020-01-01", "2020-01-02"]], dtype="datetime64[D]"), "dict": {"a": 1}, "set": {1, 2},
    "None": None, "str": "ab", "nested arrays": [[np.ones(2), np.ones(2)]], "sympy Matrix entry": [[sympy.Symbol("a"),
                                                                                                  sympy.Matrix([1])]],
    "float8": np.ones((1, 2), dtype=ml_dtypes.float8_e4m3fn), "int4": np.ones((1, 2), dtype=ml_dtypes.int4),
    "object bool": np.array([[True, 1]], dtype=object), "list of None": [[None, None]],
    "inner mismatch": np.ones((1, 3)),
}
for label, A in HOSTILE_OPERANDS.items():
    case("simulator", f"hostile A: {label}")(lambda tmp, A=A: api(lambda: sim(A, ONES)))
    W_bad = A.T if label == "inner mismatch" else A
    case("simulator", f"hostile W: {label}")(lambda tmp, W=W_bad: api(lambda: sim(np.ones((1, 2), dtype=int), W)))
for label, kwargs in {
    "rows 0": {"rows": 0}, "rows -1": {"rows": -1}, "rows 2.5": {"rows": 2.5}, "rows '2'": {"rows": "2"},
    "rows True": {"rows": True}, "rows None": {"rows": None}, "cols 0": {"cols": 0},
    "dataflow bogus": {"dataflow": "bogus"}, "load bogus": {"load": "bogus"},
    "load serial on os": {"dataflow": "os", "load": "serial"}, "rows 10**30": {"rows": 10**30},
}.items():
    def build(kw=kwargs):
        kw = {"rows": 2, "cols": 2, **kw}
        return SystolicArray(kw["rows"], kw["cols"], dataflow=kw.get("dataflow", "ws"), load=kw.get("load")).matmul(
            np.ones((2, 2), dtype=int), np.ones((2, 2), dtype=int)).result
    case("simulator", f"array {label}")(lambda tmp, b=build: api(b, lambda r: r.tolist() == [[2, 2], [2, 2]]))
case("simulator", "frames of a product too big to keep")(lambda tmp: api(
    lambda: sim(np.ones((4096, 4096), dtype=np.int8), np.ones((4096, 4096), dtype=np.int8), 128, 128),
    lambda r: False, refusable=(TypeError, ValueError, MemoryError)))
case("simulator", "a million-PE array on a 1x1 product")(lambda tmp: api(
    lambda: sim([[3]], [[4]], 1000, 1000, keep_frames=False), lambda r: r.tolist() == [[12]]))

# ============================================================================================== command line

def notebook(tmp: Path, name: str, content: str | bytes) -> str:
    path = tmp / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def with_input(make_input, argv_of):
    """A CLI case whose input files are made first (they are not output, so the snapshot is taken after)."""
    def run(tmp: Path):
        inputs = make_input(tmp)
        return cli(argv_of(tmp, inputs), tmp, ok=lambda out, t: True)
    return run


def simulate_ok(out: str, tmp: Path) -> bool:
    return "matches numpy.matmul: yes" in out or '"correct": true' in out or "cycles" in out


for argv in (["--m", str(10**30)], ["--m", "1e3"], ["--m", "-1"], ["--m", "٣"], ["--array", "1x100000"],
             ["--array", "100000x100000", "--estimate"], ["--array", "0x0"], ["--array", "2x2x2"], ["--array", ""],
             ["--dataflow", "bogus"], ["--load", "bogus"], ["--dataflow", "os", "--load", "serial"], ["--seed", "-1"],
             ["--seed", str(10**30)], ["--json"], ["--m", "5000", "--k", "5000", "--n", "5000"],
             ["--m", "5000", "--k", "5000", "--n", "5000", "--estimate"], ["--array", "×"], ["--array", "4×4"],
             ["--m", " 3"], ["--m", "3 "], ["--m", "0x10"], ["--k", "1_000"], ["--bogus"], [], ["--array", "1x1"],
             ["--m", "1", "--k", "1", "--n", "1", "--array", "1x1", "--json"],
             ["--dataflow", "is", "--load", "serial"]):
    case("cli", f"simulate {' '.join(argv)[:50]}")(lambda tmp, a=argv: cli(["simulate", *a], tmp, ok=simulate_ok))

for argv in (["--out", "x.png"], ["--out", "missing/x.gif"], ["--out", "."], ["--out", "x"], ["--out", "x.gif", "--fps",
             "0"], ["--out", "x.gif", "--fps", "1000"], ["--out", "x.gif", "--fps", "nan"], ["--out", "x.gif", "--m",
             "2000"], ["--out", "x.gif", "--array", "40x40"], ["--out", "x.html", "--m", "60", "--k", "2", "--n", "2"],
             ["--out", "x.gif", "--symbolic", "--m", "3"], ["--out", "x.html", "--symbolic"], ["--out", "x.gif"],
             ["--out", ""], ["--out", "x.GIF"], ["--out", "x.gif", "--dataflow", "os"], ["--out", "/proc/x.gif"],
             ["--out", "x.gif", "--array", "0x2"]):
    case("cli", f"animate {' '.join(argv)[:60]}")(lambda tmp, a=argv: cli(
        ["animate", *[str(tmp / v) if v.startswith(("x", "missing")) else v for v in a]], tmp,
        ok=lambda out, t: out.startswith("wrote ") and any(p.suffix.lower() in (".gif", ".html") for p in t.iterdir())))

BAD_NOTEBOOKS = {"text": "not json", "empty": "", "list": "[1, 2]", "bad cells": '{"cells": 3}',
                 "no cells": '{"metadata": {}}', "binary": b"\x00\xff\xfe\x00",
                 "utf-16": '{"cells": []}'.encode("utf-16"),
                 "nbformat 99": json.dumps({"cells": [], "metadata": {}, "nbformat": 99, "nbformat_minor": 0}),
                 "cell of wrong type": json.dumps({"cells": [{"cell_type": "bogus", "source": "x", "metadata": {}}],
                                                   "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
                 "huge nesting": "[" * 100000 + "]" * 100000}
for label, content in BAD_NOTEBOOKS.items():
    for where in ("new", "deep/new", "existing"):
        def run(tmp: Path, content=content, where=where):
            nb = notebook(tmp, "bad.ipynb", content)
            if where == "existing":
                (tmp / "existing").mkdir()
                (tmp / "existing" / "keep.txt").write_text("the user's")
            return cli(["handout", "--out", str(tmp / where), nb], tmp)
        case("cli", f"handout bad notebook ({label}) into {where}")(run)
GOOD_NOTEBOOK = json.dumps({"cells": [{"cell_type": "markdown", "id": "a1", "source": "# Title\n$x^2$",
                                       "metadata": {}}],
                            "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
case("cli", "handout a minimal good notebook")(lambda tmp: (notebook(tmp, "good.ipynb", GOOD_NOTEBOOK), cli(
    ["handout", "--out", str(tmp / "out"), str(tmp / "good.ipynb")], tmp,
    ok=lambda out, t: (t / "out" / "good.html").exists() and (t / "out" / "index.html").exists()))[1])
for label, argv_of in {
    "--out is a file": lambda t: (t.joinpath("f").write_text("x"), ["handout", "--out", str(t / "f"), "00"])[1],
    "user's index.html": lambda t: (t.joinpath("o").mkdir(), t.joinpath("o", "index.html").write_text("mine"),
                                    ["handout", "--out", str(t / "o"), "00"])[2],
    "notebook 99": lambda t: ["handout", "--out", str(t / "o"), "99"],
    "notebook ''": lambda t: ["handout", "--out", str(t / "o"), ""],
    "notebook ../x": lambda t: ["handout", "--out", str(t / "o"), "../x"],
    "a folder named x.ipynb": lambda t: (t.joinpath("x.ipynb").mkdir(), ["handout", "--out", str(t / "o"),
                                                                          str(t / "x.ipynb")])[1],
    "missing .ipynb": lambda t: ["handout", "--out", str(t / "o"), str(t / "missing.ipynb")],
}.items():
    def run(tmp: Path, argv_of=argv_of):
        argv = argv_of(tmp)
        return cli(argv, tmp)
    case("cli", f"handout {label}")(run)

for label, argv_of in {
    "--save onto a folder": lambda t: ["--save", str(t)],
    "--save into a missing folder": lambda t: ["--save", str(t / "no" / "r.jsonl")],
    "--save under a file": lambda t: (t.joinpath("f").write_text(""), ["--save", str(t / "f" / "r.jsonl")])[1],
    "--save new file, every case skipped": lambda t: ["--sizes", "1000000", "--save", str(t / "r.jsonl")],
    "--save '' ": lambda t: ["--save", ""],
    "--rounds 0": lambda t: ["--rounds", "0"], "--dtypes bogus": lambda t: ["--dtypes", "bogus"],
    "--frameworks bogus": lambda t: ["--frameworks", "bogus"], "--sizes 0": lambda t: ["--sizes", "0"],
    "--sizes huge": lambda t: ["--sizes", str(10**12)],
}.items():
    def run(tmp: Path, argv_of=argv_of):
        argv = ["bench", "--frameworks", "numpy", "--sizes", "1000000", *argv_of(tmp)]
        return cli(argv, tmp, ok=lambda out, t: "appended" in out or "skipped" not in out)
    case("cli", f"bench {label}")(run)
for argv in (["info"], ["bogus"], [], ["--help"], ["simulate", "--help"], ["handout", "--out"]):
    case("cli", f"top level {' '.join(argv)}")(lambda tmp, a=argv: cli(a, tmp, ok=lambda out, t: True))

# ============================================================================================== store

def result(**kw):
    return BenchmarkResult(name=kw.pop("name", "r"), median=kw.pop("median", 1.0), **kw)


for label, make in {
    "nan param": lambda: result(params={"x": math.nan}),
    "inf reported": lambda: result(reported={"flops_per_s": math.inf}),
    "numpy int param": lambda: result(params={"n": np.int64(3)}), "int key": lambda: result(params={1: 2}),
    "deep nesting": lambda: result(params={"a": [[[[[[[[[[1]]]]]]]]]]}),
    "object param": lambda: result(params={"o": object()}),
    "nan median": lambda: result(median=math.nan), "zero median": lambda: result(median=0.0),
    "negative median": lambda: result(median=-1.0), "huge int": lambda: result(params={"n": 10**30}),
    "bytes param": lambda: result(params={"b": b"x"}), "fine": lambda: result(),
    "surrogate in name": lambda: result(name="bad \udc80"), "nan min": lambda: result(min=math.nan),
    "shape of zero": lambda: result(shape=(0, 3)), "huge sample": lambda: result(samples=(1e400,)),
}.items():
    def run(tmp: Path, make=make):
        path = tmp / "r.jsonl"
        store.save_results(result(name="before"), path)
        before = path.read_bytes()

        made = make()

        def save_and_reload():
            store.save_results(made, path)
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a saved record that is skipped on load is a result lost
                return store.load_results(path)
        verdict = api(save_and_reload, lambda loaded: [r.name for r in loaded] == ["before", made.name])
        if verdict == "refused" and path.read_bytes() != before:
            raise Bad("a refused save changed the file")
        return verdict
    case("store", f"save {label}")(run)
for label, content in {
    "binary garbage": b"\x00\xff" * 100, "NaN text": b'{"name": "x", "median": NaN}\n', "empty": b"",
    "newer schema": b'{"name": "x", "median": 1.0, "schema": 99}\n',
    "BOM": b'\xef\xbb\xbf{"name": "x", "median": 1.0}\n',
    "deep JSON": b"[" * 100000 + b"]" * 100000 + b"\n", "huge number": b'{"name": "x", "median": 1e400}\n',
    "list": b"[1, 2]\n", "string median": b'{"name": "x", "median": "1"}\n',
    "shape text": b'{"name": "x", "median": 1.0, "shape": "abc"}\n',
    "cut line": b'{"name": "a", "median": 1.0}\n{"name": "b", "med',
}.items():
    def run(tmp: Path, content=content):
        path = tmp / "r.jsonl"
        path.write_bytes(content)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return api(lambda: store.load_results(path), lambda loaded: all(isinstance(r, BenchmarkResult) and
                                                                           math.isfinite(r.median) for r in loaded))
    case("store", f"load {label}")(run)
case("store", "load a folder")(lambda tmp: api(lambda: store.load_results(tmp)))
case("store", "load a missing file")(lambda tmp: api(lambda: store.load_results(tmp / "missing.jsonl")))
case("store", "save into a missing folder")(
    lambda tmp: api(lambda: store.save_results(result(), tmp / "no" / "r.jsonl")))
case("store", "save onto a folder")(lambda tmp: api(lambda: store.save_results(result(), tmp)))
case("store", "save a non-result")(lambda tmp: api(lambda: store.save_results([{"name": "x"}], tmp / "r.jsonl")))

# ============================================================================================== checks

for fn_name, fn in (("whole_number", lambda v: checks.whole_number("n", v)),
                    ("number", lambda v: checks.number("x", v)),
                    ("positive", lambda v: checks.positive("x", v)), ("storable", lambda v: checks.storable("x", v))):
    for label, value in (("nan", math.nan), ("inf", math.inf), ("str", "3"), ("None", None), ("bool", True),
                         ("complex", 1j), ("huge int", 10**400), ("np.int64", np.int64(3)), ("negative", -1),
                         ("Fraction", Fraction(1, 3))):
        def expected(v=value, name=fn_name):
            return lambda r: (r == v or (isinstance(v, Fraction) and r == float(v)) or
                              (name == "whole_number" and r == int(v)))
        case("checks", f"{fn_name}({label})")(lambda tmp, fn=fn, v=value, e=expected: api(lambda: fn(v), e()))


# ============================================================================================== the runner

def run_case(c: Case, time_limit: int, memory_bytes: int) -> tuple[str, str]:
    """Fork; in the child set the limits and run the case; return (verdict, detail)."""
    tmp = Path(tempfile.mkdtemp(prefix="hostile-"))
    result_path = tmp.parent / (tmp.name + ".verdict")
    pid = os.fork()
    if pid == 0:  # the child
        try:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
            signal.alarm(time_limit)
            os.chdir(tmp)
            try:
                verdict, detail = c.run(tmp), ""
            except Bad as bad:
                verdict, detail = "bad", str(bad)
            except MemoryError:
                verdict, detail = "bad", "MemoryError (past the memory limit)"
            except BaseException as error:  # noqa: BLE001 - a traceback is exactly what the sweep looks for
                verdict, detail = "bad", "traceback: " + "".join(traceback.format_exception_only(error)).strip()[:400]
            result_path.write_text(json.dumps([verdict, detail]))
        finally:
            os._exit(0)
    start = time.monotonic()
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - start > time_limit + 10:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = -1
            break
        time.sleep(0.005)
    try:
        verdict, detail = json.loads(result_path.read_text())
    except (OSError, ValueError):
        why = (f"killed by signal {os.WTERMSIG(status)}" if status != -1 and os.WIFSIGNALED(status)
               else "no verdict (time or memory limit)")
        verdict, detail = "bad", why + (" (SIGALRM: past the time limit)" if status != -1 and os.WIFSIGNALED(status)
                                        and os.WTERMSIG(status) == signal.SIGALRM else "")
    result_path.unlink(missing_ok=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return verdict, detail


def main_sweep(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run only the cases whose group or name contains this")
    parser.add_argument("--time-limit", type=int, default=60, help="seconds per case (default 60)")
    parser.add_argument("--memory-gb", type=float, default=4.0, help="address space per case (default 4 GB)")
    args = parser.parse_args(argv)
    chosen = [c for c in CASES if args.only in f"{c.group} {c.name}"]
    totals: dict[str, dict[str, int]] = {}
    started = time.monotonic()
    bad = []
    for c in chosen:
        verdict, detail = run_case(c, args.time_limit, int(args.memory_gb * 2**30))
        totals.setdefault(c.group, {"right": 0, "refused": 0, "bad": 0})[verdict] += 1
        if verdict == "bad":
            bad.append(f"  BAD [{c.group}] {c.name}: {detail}")
    print(f"hostile sweep: {len(chosen)} cases in {time.monotonic() - started:.0f} s "
          f"(each forked, at most {args.time_limit} s and {args.memory_gb:g} GB of address space)")
    for group, counts in totals.items():
        print(f"  {group:<10} {sum(counts.values()):>4} cases: {counts['right']:>4} right, {counts['refused']:>4} "
              f"refused clearly, {counts['bad']:>3} bad")
    whole = {k: sum(t[k] for t in totals.values()) for k in ("right", "refused", "bad")}
    print(f"  {'all':<10} {len(chosen):>4} cases: {whole['right']:>4} right, {whole['refused']:>4} refused clearly, "
          f"{whole['bad']:>3} bad")
    print("\n".join(bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main_sweep())
