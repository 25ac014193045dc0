"""The command line: ``python -m tpu_lecture info | simulate | animate | bench | handout``.

Bad input prints one line starting with ``error:`` and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import tpu_lecture


class _Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes cost one line and exit status 2, as everywhere else."""

    def error(self, message: str):
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def array_shape(text: str) -> tuple[int, int]:
    """Parse an array size such as ``8x8`` or ``128x128`` into (rows, cols)."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"array size {text[:40]!r} is not of the form RxC, e.g. 8x8 or 128x128")
    rows, cols = (_whole(p, 0) for p in parts)
    if rows < 1 or cols < 1:
        raise argparse.ArgumentTypeError(f"array size {text[:40]!r} must have at least one row and one column")
    return rows, cols


def positive_int(text: str) -> int:
    """A whole number of at least 1, such as a matrix size."""
    return _whole(text, 1)


def seed(text: str) -> int:
    """A random seed: a whole number of at least 0."""
    return _whole(text, 0)


def _whole(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        why = "has too many digits" if text.strip().isdigit() else "is not a whole number"
        raise argparse.ArgumentTypeError(f"{text[:40]!r} {why}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"{_short(value)} must be at least {minimum}")
    return value


def _short(value: int) -> str:
    """A whole number as a line can hold it: 12345, or 1.2e+400 for one with hundreds of digits."""
    digits = str(abs(value))
    return str(value) if len(digits) <= 20 else f"{'-' if value < 0 else ''}{digits[0]}.{digits[1]}e+{len(digits) - 1}"


def _cmd_info(args: argparse.Namespace) -> int:
    notebooks = Path(tpu_lecture.__file__).resolve().parent.parent / "notebooks"
    print(f"tpu_lecture {tpu_lecture.__version__}")
    where = notebooks if notebooks.is_dir() else f"not beside the package; see https://github.com/{tpu_lecture.GITHUB_REPO}"
    print(f"notebooks: {where}")
    print(_runtime_report())
    return 0


def _runtime_report() -> str:
    """The runtime report: where this runs, which framework sees which device, the Keras backend."""
    from tpu_lecture import runtime

    return runtime.describe()


SIMULATE_BUDGET_S = 60.0  # simulate refuses runs estimated to step for longer, unless --force


def _random_operands(args: argparse.Namespace):
    import numpy as np

    rng = np.random.default_rng(args.seed)
    return rng.integers(-8, 8, size=(args.m, args.k)), rng.integers(-8, 8, size=(args.k, args.n))


def _cmd_simulate(args: argparse.Namespace) -> int:
    import numpy as np

    from tpu_lecture.sim import budget
    from tpu_lecture.sim.array import SystolicArray

    rows, cols = args.array
    array = SystolicArray(rows, cols, dataflow=args.dataflow, load=args.load)
    size = budget.estimate(array.plan(args.m, args.k, args.n), np.int32)
    if args.estimate:
        print(size.describe())
        return 0
    size.refuse(max_seconds=None if args.force else SIMULATE_BUDGET_S,
                fix="simulate a smaller product, print its cycles at once with --estimate, or pass --force")
    from tpu_lecture import energy
    from tpu_lecture.sim.counts import Buffers, dram_traffic

    buffers = Buffers.parse(args.buffers) if args.buffers else Buffers()
    A, W = _random_operands(args)
    run = array.matmul(A, W, keep_frames=False)
    correct = bool(np.array_equal(run.result, np.matmul(A, W)))
    dram = dram_traffic(run.schedule, run.counts, energy.OPERAND_BYTES[args.format], energy.ACCUMULATOR_BYTES, buffers)
    split = energy.price(run.counts, dram, args.format, label=run.flow.label)
    summary = {
        "cycles": run.cycles, "compute_cycles": run.compute_cycles, "load_cycles": run.load_cycles,
        "stall_cycles": run.stall_cycles, "drain_cycles": run.drain_cycles, "macs": run.macs,
        "utilization": round(run.utilization, 6),
        "compute_utilization": round(run.compute_utilization, 6), "folds": run.folds, "correct": correct,
        "dataflow": run.dataflow, "load": run.loading.name if run.loading else None, "array": f"{rows}x{cols}",
        "shape": f"{args.m}x{args.k} @ {args.k}x{args.n}",
        "counts": run.counts.as_dict(),
        "dram": {"activation_reads": dram.activation_reads, "weight_reads": dram.weight_reads,
                 "psum_reads": dram.psum_reads, "psum_writes": dram.psum_writes, "policy": list(dram.notes)},
        "buffers_bytes": {"activation": buffers.activation, "weight": buffers.weight,
                          "accumulator": buffers.accumulator},
        "energy": {"format": args.format, "model": split.model, "pj": {k: round(v, 3) for k, v in split.pj.items()},
                   "total_pj": round(split.total_pj, 3), "pj_per_mac": round(split.per_mac_pj, 4)},
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(run.summary())
        print(f"moves:       {run.counts}")
        print(f"energy:      {split.per_mac_pj:.2f} pJ per MAC ({args.format}, {split.model}): "
              + ", ".join(f"{level} {split.share(level):.0%}" for level in energy.LEVELS if split.pj[level]))
        print(f"matches numpy.matmul: {'yes' if correct else 'NO'}")
    return 0 if correct else 1


def _cmd_animate(args: argparse.Namespace) -> int:
    from tpu_lecture.sim.array import SystolicArray
    from tpu_lecture.viz.export import (
        HTML_MAX_FRAMES,
        MAX_ANIMATION_FRAMES,
        check_frames,
        check_output_path,
        save_animation,
        symbolic_example,
    )
    from tpu_lecture.viz.layout import check_drawable

    check_output_path(args.out)
    rows, cols = args.array
    check_drawable(rows, cols)
    array = SystolicArray(rows, cols, dataflow=args.dataflow, load=args.load)
    html = str(args.out).lower().endswith((".html", ".htm"))
    check_frames(array.plan(args.m, args.k, args.n), HTML_MAX_FRAMES if html else MAX_ANIMATION_FRAMES)
    A, W = symbolic_example(args.m, args.k, args.n) if args.symbolic else _random_operands(args)
    run = array.matmul(A, W, keep_frames=True)
    path = save_animation(run, args.out, fps=args.fps)
    print(f"wrote {path}: {run.cycles} frames, one per cycle, at {args.fps} fps ({run!r})")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from tpu_lecture import files
    from tpu_lecture.bench import matrix_ops, record, store

    save = Path(args.save) if args.save else None
    if save is not None:
        files.check_writable_file(save)  # fails now, not after minutes of sweeping, and creates nothing
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    try:
        found = matrix_ops.sweep(quick=args.quick, sizes=args.sizes, frameworks=args.frameworks, dtypes=args.dtypes,
                                 include_transfer=args.include_transfer, rounds=rounds)
    except MemoryError:
        print("error: the sweep ran out of memory: choose smaller --sizes", file=sys.stderr)
        return 2
    if found:
        print(record.format_table(found))
    for reason in found.skipped:
        print(f"skipped {reason}")
    if not found:
        print(f"error: no case of the sweep ran here: all {len(found.skipped)} were skipped (reasons above)",
              file=sys.stderr)
        return 2
    if len({r.runtime_label for r in found}) > 1:
        print()
        print(record.compare(found).to_text())
    if save is not None:
        store.save_results(found, save)
        print(f"appended {len(found)} results to {save}")
    return 0


def _cmd_handout(args: argparse.Namespace) -> int:
    from tpu_lecture import handout

    pages = handout.write_handout(handout.find_notebooks(args.notebooks), Path(args.out))
    for page in pages:
        print(f"wrote {page.path} ({page.path.stat().st_size / 1e6:.1f} MB, {page.figures} figures)")
    print(f"wrote {Path(args.out) / 'index.html'}: {len(pages)} pages that open in a browser with no network")
    return 0


BENCH_DTYPES = ("float32", "bfloat16", "float16", "float64", "int8")  # bench.matrix_ops.BYTES_PER_ELEMENT's


def build_parser() -> argparse.ArgumentParser:
    from tpu_lecture import runtime

    parser = _Parser(
        prog="python -m tpu_lecture",
        description="TPUs from the multiply-accumulate up: the lecture's simulator, animation and benchmarks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    info = sub.add_parser("info", help="package version, where the notebooks are, and this runtime")
    info.set_defaults(func=_cmd_info)

    sim = sub.add_parser("simulate", help="run the systolic-array simulator on random integer matrices")
    _add_product_arguments(sim, default_array=(8, 8))
    sim.add_argument("--seed", type=seed, default=0, help="random seed for the matrices (default 0)")
    sim.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    sim.add_argument("--estimate", action="store_true",
                     help="print the run's cycles, time and memory from the closed forms, without stepping it")
    sim.add_argument("--force", action="store_true",
                     help=f"run even if stepping is estimated to take more than {SIMULATE_BUDGET_S:.0f} s")
    sim.add_argument("--format", choices=("int8", "bfloat16", "float16", "float32"), default="int8",
                     help="number format the energy is priced in (default int8, as TPU v1)")
    sim.add_argument("--buffers", metavar="ACT,WEIGHT,ACC", default=None,
                     help="on-chip buffer sizes for the DRAM traffic, e.g. 24MiB,256KiB,4MiB (default: TPU v1's)")
    sim.set_defaults(func=_cmd_simulate)

    anim = sub.add_parser("animate", help="save the systolic array's animation as GIF, MP4 or HTML")
    _add_product_arguments(anim, default_array=(2, 2), default_size=2)
    anim.add_argument("--symbolic", action="store_true",
                      help="use the lecture's symbols (activations A B / C D, weights E F / G H) instead of numbers")
    anim.add_argument("--fps", type=positive_int, default=2, help="frames per second (default 2)")
    anim.add_argument("--seed", type=seed, default=0, help="random seed for numeric matrices (default 0)")
    anim.add_argument("--out", required=True, help="output file: .gif, .mp4 (needs ffmpeg) or .html")
    anim.set_defaults(func=_cmd_animate)

    bench = sub.add_parser("bench", help="benchmark #1: element-wise add and matmul on every device found")
    bench.add_argument("--quick", action="store_true", help="a short sweep of small sizes (seconds, not minutes)")
    bench.add_argument("--save", metavar="FILE", help="append the results to this JSON-lines file")
    bench.add_argument("--sizes", type=positive_int, nargs="+", metavar="N",
                       help="matrix sizes n (n x n) instead of the defaults for the devices found")
    frameworks = runtime.NAMES
    bench.add_argument("--frameworks", nargs="+", choices=frameworks, metavar="NAME",
                       help=f"only these of {', '.join(frameworks)} (default: every one installed)")
    bench.add_argument("--include-transfer", action="store_true",
                       help="also time the host-to-device copy of the inputs (to show what it costs)")
    bench.add_argument("--dtypes", nargs="+", choices=list(BENCH_DTYPES), default=["float32", "bfloat16"],
                       metavar="DTYPE", help=f"number formats, of {', '.join(BENCH_DTYPES)} (default float32 bfloat16)")
    bench.add_argument("--rounds", type=positive_int, metavar="N",
                       help="interleaved rounds per case, the quietest kept (default 3, or 1 with --quick)")
    bench.set_defaults(func=_cmd_bench)

    handout = sub.add_parser("handout", help="each notebook as stored, as an HTML page that opens offline")
    handout.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                         help="04, 04_systolic_array or a path to an .ipynb (default: the whole lecture)")
    handout.add_argument("--out", default="handout", metavar="DIR", help="folder for the pages (default ./handout)")
    handout.set_defaults(func=_cmd_handout)
    return parser


def _add_product_arguments(p: argparse.ArgumentParser, default_array: tuple[int, int], default_size: int = 8) -> None:
    p.add_argument("--m", type=positive_int, default=default_size, help="rows of the activations A (M)")
    p.add_argument("--k", type=positive_int, default=default_size, help="inner size (K): columns of A, rows of W")
    p.add_argument("--n", type=positive_int, default=default_size, help="columns of the weights W (N)")
    p.add_argument("--array", type=array_shape, default=default_array, metavar="RxC",
                   help=f"systolic array size (default {default_array[0]}x{default_array[1]})")
    from tpu_lecture.sim.dataflow import DATAFLOWS  # the choices and their help come from the simulator
    from tpu_lecture.sim.loading import DEFAULT, MODES

    names = [f"{flow.label} ({flow.aliases[0]}{', default' if n == 0 else ''})" for n, flow in enumerate(DATAFLOWS)]
    p.add_argument("--dataflow", default=DATAFLOWS[0].aliases[0], choices=[flow.aliases[0] for flow in DATAFLOWS],
                   help=f"{', '.join(names[:-1])} or {names[-1]}")
    modes = "; ".join(f"{mode.name}: {mode.summary}{' (default)' if mode is DEFAULT else ''}" for mode in MODES)
    p.add_argument("--load", choices=[mode.name for mode in MODES],
                   help=f"how weight- and input-stationary load each tile ({modes}); output-stationary loads nothing")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure becomes one line ``error: …`` and exit status 2, never a traceback.
    SIGTERM is met like Ctrl-C, so that a command stopped either way removes what it had begun to write."""
    from tpu_lecture import files

    args = None
    try:
        with _terminate_as_interrupt():  # from the start: a signal while the parser is built is met the same way
            args = build_parser().parse_args(argv)
            return args.func(args)
    except OSError as error:
        return _fail(files.describe(error))
    except (ValueError, TypeError, OverflowError) as error:
        return _fail(str(error))
    except MemoryError:
        return _fail("out of memory: this run does not fit in this machine's memory; try a smaller product")
    except KeyboardInterrupt as stop:
        how = "terminated" if isinstance(stop, _Terminated) else "interrupted"
        return _fail(f"{how}: no file was left half written (each is whole, old or new)"
                     if getattr(args, "out", None) or getattr(args, "save", None) else how)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, so that its clean-up runs as for Ctrl-C."""


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _fail(message: str) -> int:
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
