"""The lecture's plan in one place: its timed segments, the notebook that teaches each, and the outline's topics.

Notebook 00 draws its map from :data:`NOTEBOOKS`, every notebook ends with :func:`timing` (how long its segment
takes in class), slides read :data:`SEGMENTS`, and ``tests/test_pedagogy.py`` checks that each of :data:`TOPICS`
has a section in its notebook. The minutes marked ``"outline"`` are the original lecture outline's (10 minutes
"why a TPU", 5 minutes demo, 10 minutes "TPU explained", 5 minutes "TPU use cases", ten minutes for each
measured segment); the others are this lecture's plan, marked ``"plan"``: change them here and every notebook
follows. The plan fits the outline's 90-minute slot (:data:`LECTURE_MINUTES`, held by ``tests/test_lecture.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from tpu_lecture.checks import one_of


@dataclass(frozen=True)
class Segment:
    """One timed part of the lecture: a notebook taught in class, or a Q&A break (``notebook`` None)."""

    title: str
    minutes: int
    notebook: str | None
    minutes_from: str  # "outline": the original outline's figure; "plan": this lecture's choice
    in_class: bool = True

    def __repr__(self) -> str:
        where = self.notebook or "Q&A"
        return f"Segment({self.title!r}, {self.minutes} min, {where}, minutes from the {self.minutes_from})"


@dataclass(frozen=True)
class Topic:
    """A topic of the lecture outline, and the notebook heading that teaches it (matched case-insensitively)."""

    name: str
    notebook: str
    heading: str


# Every notebook, in lecture order, with what it covers (notebook 00's map).
NOTEBOOKS: tuple[tuple[str, str], ...] = (
    ("00_start_here", "this map; Colab and Jupyter; your runtime; the player; tests; sources; checked exercises"),
    ("01_why_tpus", "ML's compute, Moore's law and Dennard scaling, ASIC economics; the MAC; scalar, vector, "
                    "matrix machines"),
    ("02_matrix_operations", "the short demo: add and multiply tensors on the accelerator at hand, device placement"),
    ("03_inside_the_tpu", "TPU generations dated, TensorCore, MXU (128×128), HBM, interconnect, bfloat16, XLA"),
    ("04_systolic_array", "the systolic array cell by cell: the 2×2 example, the player, 3n − 2 cycles, folds"),
    ("05_when_to_use_which", "CPU, GPU or TPU: use cases, arithmetic intensity and the roofline"),
    ("06_benchmark_matrix_add", "benchmark #1: element-wise add and matmul, CPU vs accelerator, device sync"),
    ("07_tensorflow_on_tpus", "from TPUEstimator to TPUStrategy; XLA; steps_per_execution; the JAX backend"),
    ("08_benchmark_mlp_cifar10", "benchmark #2: the lecture's 9-layer MLP on CIFAR-10 at batch 1024"),
    ("09_shakespeare_on_tpu", "demo #3: a character-level model trained on Shakespeare, then writing"),
)

LECTURE_MINUTES = 90  # the outline's slot for the whole lecture, Q&A included
# The slide budget of the in-class path (tests/test_lecture.py holds every notebook's slides to its minutes): a
# slide presented takes about this long, and a narrated pass through the step-through player (04's 2×2 run) far
# longer. Sections marked "(self-study)" are left off the slides (tpu_lecture.slides).
SLIDE_SECONDS = 40
PLAYER_SECONDS = 240

SEGMENTS: tuple[Segment, ...] = (
    Segment("Start here: open the lecture, pick a runtime", 5, "00_start_here", "plan", in_class=False),
    Segment("Why a TPU", 10, "01_why_tpus", "outline"),
    Segment("Demo: a matrix operation on the accelerator", 5, "02_matrix_operations", "outline"),
    Segment("The TPU explained", 10, "03_inside_the_tpu", "outline"),
    Segment("Q&A", 5, None, "plan"),
    Segment("The systolic array, cell by cell", 10, "04_systolic_array", "plan"),
    Segment("TPU use cases: when to use which", 5, "05_when_to_use_which", "outline"),
    Segment("Benchmark #1: matrix add, CPU vs TPU", 10, "06_benchmark_matrix_add", "outline"),
    Segment("Q&A", 5, None, "plan"),
    Segment("TensorFlow on TPUs", 5, "07_tensorflow_on_tpus", "plan"),
    Segment("Benchmark #2: the MLP on CIFAR-10", 10, "08_benchmark_mlp_cifar10", "outline"),
    Segment("Demo #3: Shakespeare on a TPU", 10, "09_shakespeare_on_tpu", "outline"),
    Segment("Q&A", 5, None, "plan"),
)

TOPICS: tuple[Topic, ...] = (
    Topic("progress in machine learning and its compute", "01_why_tpus", "compute"),
    Topic("Moore's law and the end of Dennard scaling", "01_why_tpus", "Dennard"),
    Topic("why Google built the TPU", "01_why_tpus", "Why Google built the TPU"),
    Topic("ASIC economics: when a custom chip pays off", "01_why_tpus", "custom chip pays off"),
    Topic("neural networks are matrix products", "01_why_tpus", "matrix product"),
    Topic("the multiply-accumulate", "01_why_tpus", "multiply-accumulate"),
    Topic("CPU, GPU and TPU as scalar, vector and matrix machines", "01_why_tpus", "Scalar, vector and matrix"),
    Topic("demo: a matrix operation on the accelerator", "02_matrix_operations", "Create, add, multiply"),
    Topic("TPU history and generations", "03_inside_the_tpu", "TPU generations"),
    Topic("the TensorCore and the MXU", "03_inside_the_tpu", "TensorCore and MXU"),
    Topic("HBM and the interconnect", "03_inside_the_tpu", "HBM and the interconnect"),
    Topic("bfloat16", "03_inside_the_tpu", "bfloat16"),
    Topic("XLA", "03_inside_the_tpu", "XLA"),
    Topic("the systolic array", "04_systolic_array", "systolic array"),
    Topic("when to use which: CPU, GPU or TPU", "05_when_to_use_which", "CPU, GPU or TPU"),
    Topic("benchmark #1: matrix add, CPU vs accelerator", "06_benchmark_matrix_add", "Benchmark #1"),
    Topic("TensorFlow on TPUs", "07_tensorflow_on_tpus", "TensorFlow on TPUs"),
    Topic("benchmark #2: the MLP on CIFAR-10", "08_benchmark_mlp_cifar10", "Benchmark #2"),
    Topic("demo #3: Shakespeare on a TPU", "09_shakespeare_on_tpu", "Demo #3"),
)


def notebook_name(notebook: str) -> str:
    """The full name of a notebook given as "01", 1 or "01_why_tpus"; a clear error for one that is not in the map."""
    names = [name for name, _ in NOTEBOOKS]
    key = f"{notebook:02d}" if isinstance(notebook, int) and not isinstance(notebook, bool) else str(notebook)
    found = [name for name in names if name == key or name[:2] == key]
    if not found:
        one_of("notebook", key, names)
    return found[0]


def segment(notebook: str) -> Segment:
    """The segment that teaches ``notebook`` ("01", 1 or "01_why_tpus")."""
    name = notebook_name(notebook)
    return next(s for s in SEGMENTS if s.notebook == name)


def total_minutes(in_class_only: bool = True) -> int:
    """Minutes of the whole lecture, Q&A breaks included (the before-class segment only if asked)."""
    return sum(s.minutes for s in SEGMENTS if s.in_class or not in_class_only)


def timing(notebook: str) -> str:
    """One line for the end of a notebook: how long its segment takes in class, and what comes next."""
    this = segment(notebook)
    taught = [s for s in SEGMENTS if s.in_class]
    source = "the outline's figure" if this.minutes_from == "outline" else "this lecture's plan"
    if not this.in_class:
        return (f"Lecture plan: before class, about {this.minutes} minutes on your own ({source}); the lecture "
                f"itself is {len(taught)} segments, {total_minutes()} minutes with its Q&A breaks.")
    index = taught.index(this)
    after = taught[index + 1] if index + 1 < len(taught) else None
    start = sum(s.minutes for s in taught[:index])
    nxt = f"; next: {after.title} ({after.minutes} min)" if after else "; the lecture ends here"
    return (f"Lecture plan: segment {index + 1} of {len(taught)}, \"{this.title}\", {this.minutes} minutes "
            f"({source}), from minute {start} to {start + this.minutes} of {total_minutes()}{nxt}.")


def plan() -> str:
    """The whole lecture as a table: minute, segment, minutes, notebook, and where the minutes come from."""
    lines = [f"{'from':>4}  {'segment':46} {'min':>3}  {'notebook':26} minutes from"]
    start = 0
    for s in SEGMENTS:
        at = f"{start:>4}" if s.in_class else "  --"
        lines.append(f"{at}  {s.title:46} {s.minutes:>3}  {s.notebook or '':26} the {s.minutes_from}")
        start += s.minutes if s.in_class else 0
    lines.append(f"{start:>4}  {'end of the lecture':46}")
    return "\n".join(lines)
