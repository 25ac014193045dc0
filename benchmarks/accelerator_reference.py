"""Measure the reference results that ship with the package, on a machine with an NVIDIA GPU (or a TPU) and JAX.

Today's shipped reference (``tpu_lecture/bench/reference/h200_2026-11-26.jsonl``) holds figures measured by other
scripts. This script replaces them with results measured by the package itself: it runs benchmark #1's sweep,

    python -m tpu_lecture bench --frameworks numpy jax --dtypes float32 bfloat16 --rounds 3 --save FILE

(the accelerator's sizes, chosen by the sweep for the device found), then stamps every record with its provenance
(chip, versions, date, the exact command, the host) and writes them, in the store's format, to
``tpu_lecture/bench/reference/<chip>_<date>.jsonl`` through a temporary file renamed into place. Add the file's
name to ``bench.store.REFERENCE_FILES`` to ship it. It refuses to run where JAX sees no GPU or TPU.

    python benchmarks/accelerator_reference.py [--out FILE] [--quick]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tpu_lecture import hardware  # noqa: E402
from tpu_lecture.bench import store  # noqa: E402
from tpu_lecture.runtime import runtime  # noqa: E402

BENCH = ["-m", "tpu_lecture", "bench", "--frameworks", "numpy", "jax", "--dtypes", "float32", "bfloat16",
         "--rounds", "3"]


class Refused(RuntimeError):
    """Why the script cannot measure here: printed as one line 'error: ...', exit status 2."""


def accelerator(detect: Callable[[], runtime.Runtime]) -> runtime.Runtime:
    """This runtime, if JAX sees a GPU or TPU on it; else ``Refused`` with what is missing."""
    found = detect()
    if found.accelerator == "cpu" or "jax" not in found.seen_by:
        raise Refused(f"JAX sees no GPU or TPU here ({found.summary_line()}): run this on a machine "
                         "with an accelerator and a JAX build for it (pip install -U 'jax[cuda12]')")
    return found


def run_bench(save: Path, quick: bool, run: Callable[..., subprocess.CompletedProcess]) -> str:
    """Run benchmark #1's sweep into ``save``; the command as it ran, or ``Refused`` with the sweep's error."""
    command = [sys.executable, *BENCH, *(["--quick"] if quick else []), "--save", str(save)]
    done = run(command, cwd=ROOT, text=True, capture_output=True, check=False)
    print(done.stdout)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise Refused(f"the sweep failed with status {done.returncode}: {last}")
    return shlex.join(["python", *command[1:-2]])


SYNC = {"jax": "block_until_ready() on the output", "tensorflow": "a host read of the output (.numpy())",
        "numpy": "none needed (NumPy computes on the host before it returns)"}


def gpu_facts(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> dict[str, str]:
    """The GPU's driver and CUDA versions and its form factor as ``nvidia-smi`` reports them (name and bus: an
    'SXM' or 'PCIe' or 'NVL' in the name); {} where there is no nvidia-smi (a TPU VM)."""
    try:
        done = run(["nvidia-smi", "--query-gpu=name,driver_version,pci.bus_id", "--format=csv,noheader"],
                   text=True, capture_output=True, check=False)
        cuda = run(["nvidia-smi"], text=True, capture_output=True, check=False)
    except OSError:
        return {}
    if done.returncode != 0 or not done.stdout.strip():
        return {}
    name, driver, _bus = (part.strip() for part in done.stdout.splitlines()[0].split(",")[:3])
    facts = {"gpu": name, "driver": driver}
    found = [w for w in cuda.stdout.split("CUDA Version:")[1:2]]
    if found:
        facts["cuda"] = found[0].split()[0]
    form = next((f for f in ("SXM", "PCIe", "NVL") if f.lower() in name.lower()), None)
    facts["form_factor"] = form or f"not in the device name ({name!r})"
    return facts


def one_per_case(results: Sequence) -> list:
    """One record per case and runtime: where the sweep measured a case twice, the quieter one (lowest spread)
    is kept and says that it was chosen, so no case ships with two values."""
    kept: dict[tuple, object] = {}
    for r in results:
        key = (r.case, r.runtime_label)
        if key not in kept or (r.spread or 0) < (kept[key].spread or 0):
            kept[key] = r
    for r in results:
        if kept[(r.case, r.runtime_label)] is not r:
            chosen = kept[(r.case, r.runtime_label)]
            chosen.note = ((chosen.note + "; ") if chosen.note else "") + "the quieter of two measurements of this case"
    return list(kept.values())


def stamp(results: Sequence, where: runtime.Runtime, command: str, date: str,
          facts: dict[str, str] | None = None) -> list:
    """The results with their provenance: where they were measured, by which command, on which day, how many
    timed calls, how the device was waited for, the driver and runtime versions and the form factor."""
    chip = hardware.match(where.accelerator_name)
    facts = dict(facts or {})
    provenance = {"command": command, "measured_on": date, "host": where.host, "python": where.python,
                  "chip_table": chip.name if chip else None, "series": "accelerator reference"}
    for r in results:
        r.source = (f"measured by tpu_lecture {r.package_version} itself ({command}) on "
                    f"{where.accelerator_name}, {date}")
        r.params = {**r.params, **provenance}
        r.repeats = r.repeats or (len(r.samples) or None)
        r.sync_method = SYNC.get(r.framework or "", "unknown") if r.synchronized else "none: timed without a sync"
        r.form_factor = facts.get("form_factor")
        r.versions = {**r.versions, **{k: v for k, v in facts.items() if k in ("driver", "cuda")}}
        r.provenance = "measured by tpu_lecture.bench (benchmarks/accelerator_reference.py)"
    return one_per_case(results)


def write_atomically(results: Sequence, out: Path) -> Path:
    """The results written to ``out`` in the store's JSON-lines format: a temporary file in the same folder,
    renamed into place, so a crash never leaves a partial reference file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        store.save_results(results, tmp)
        store.load_results(tmp)  # what ships must load
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def main(argv: Sequence[str] | None = None, run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
         detect: Callable[[], runtime.Runtime] = runtime.detect, today: str | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="the reference file to write (default: the package's folder)")
    parser.add_argument("--quick", action="store_true", help="a short sweep, to try the script out")
    args = parser.parse_args(argv)
    try:
        return measure(args, run, detect, today)
    except (Refused, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def measure(args: argparse.Namespace, run: Callable[..., subprocess.CompletedProcess],
            detect: Callable[[], runtime.Runtime], today: str | None) -> int:
    """The steps: check the accelerator, sweep, stamp the provenance, write the reference file."""
    where = accelerator(detect)
    date = today or datetime.date.today().isoformat()
    chip = hardware.match(where.accelerator_name)
    label = (chip.name if chip else where.accelerator_name).lower().replace(" ", "_")
    out = args.out or ROOT / "tpu_lecture" / "bench" / "reference" / f"{label}_{date}.jsonl"
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "sweep.jsonl"
        command = run_bench(raw, args.quick, run)
        results = stamp(store.load_results(raw), where, command, date, gpu_facts())
    if not results:
        raise Refused("the sweep saved no results")
    write_atomically(results, out)
    print(f"wrote {len(results)} results measured on {where.accelerator_name} ({platform.node()}) to {out}; "
          f"add {out.name!r} to tpu_lecture.bench.store.REFERENCE_FILES to ship them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
