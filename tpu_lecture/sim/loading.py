"""How the tile that stays in the PEs gets there: the two loading modes of a stationary array.

The lecture: "Weights are loaded in much the same way as activations — through the input queue. We
just send a special control signal to tell the array to store weights as they pass by, instead of
running MAC operations." In the simulator every PE has two registers for the value it holds: the one
it computes with and a **shadow register** that the next tile shifts into, one PE down per cycle from
the top edge (R cycles for an R-row array). The **control signal** travels with the first activation
of a fold, one PE right per cycle along each row (row i starts i cycles late, like the activations);
when it reaches a PE, the PE stores its shadow value as the value it computes with. So no PE ever
multiplies with a half-loaded tile, and TPU v1 works this way: its matrix unit holds one weight tile
plus one more for double buffering, and preloaded weights take effect with the wave of the first data
of a new block (Jouppi et al., "In-Datacenter Performance Analysis of a Tensor Processing Unit",
ISCA 2017, section 2).

The two modes differ only in when the next tile may start shifting in:

- ``double`` (double-buffered, the default): once the control signal has passed every PE, so the
  shadow registers are free, even while the previous fold's activations still flow.
- ``serial``: once, in addition, the previous fold's last result has left the array (load a tile,
  then stream).

Output-stationary loads nothing (both operands stream in), so it has no loading mode.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loading:
    """A loading mode: its name, the other names it answers to, and whether loads overlap computing."""

    name: str
    aliases: tuple[str, ...]
    overlaps: bool  # the next tile shifts in while the current one computes
    summary: str

    def __repr__(self) -> str:
        return f"Loading({self.name}: {self.summary})"


SERIAL = Loading("serial", ("serial",), overlaps=False, summary="load a tile, then stream the fold through it")
DOUBLE = Loading("double", ("double", "double-buffered", "double_buffered", "db"), overlaps=True,
                 summary="the next tile shifts into the shadow registers while the current one computes")
MODES: tuple[Loading, ...] = (SERIAL, DOUBLE)
DEFAULT = DOUBLE  # the MXU's way: TPU v1 already double-buffers its weight tiles (Jouppi et al. 2017)


def choices() -> str:
    """The modes as an error message lists them."""
    return " or ".join(f"{mode.name!r} ({mode.summary})" for mode in MODES)


def get(load: str | Loading | None, flow) -> Loading | None:
    """The loading mode ``load`` means for dataflow ``flow``: the default where None, None where nothing loads."""
    if load is not None and not isinstance(load, (str, Loading)):
        raise TypeError(f"load must be a loading mode's name ('serial' or 'double'), got {load!r} "
                        f"({type(load).__name__})")
    if not flow.preloads:
        if load is None:
            return None
        raise ValueError(f"{flow.label} loads nothing before a fold (the partial sums stay in the PEs and both "
                         f"operands stream in), so load={_name(load)!r} means nothing for it: leave load unset, "
                         "or choose weight-stationary ('ws') or input-stationary ('is') to compare loading modes")
    if load is None:
        return DEFAULT
    if isinstance(load, Loading):
        return load
    key = load.strip().lower()
    for mode in MODES:
        if key == mode.name or key in mode.aliases:
            return mode
    raise ValueError(f"unknown loading mode {load!r}: use {choices()}")


def _name(load: str | Loading) -> str:
    return load.name if isinstance(load, Loading) else load
