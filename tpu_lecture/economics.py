"""When does a custom chip (an ASIC) pay off? Its design costs a large sum once (the NRE, non-recurring
engineering); after that each chip does the one job it was built for faster and on less energy than a
general-purpose chip. Below some volume of work the general-purpose chip is cheaper, above it the ASIC.

Volume is counted in general-purpose chips' worth of work: the number of ordinary chips the job would need.
The ASIC needs ``volume / speedup`` chips for the same work. Each chip costs its price plus the energy it uses
over its service life. The lecture's figure for the NRE, "around a million dollars", is :data:`LECTURE_NRE`;
every other default is an illustrative assumption to change, not a fact about a real chip.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tpu_lecture.checks import positive

LECTURE_NRE = 1e6  # the lecture's figure: custom chips "start at around a million dollars" to make
HOURS_PER_YEAR = 24 * 365


@dataclass(frozen=True)
class AsicCase:
    """A job done either on general-purpose chips or on a custom chip; every figure can be changed."""

    nre: float = LECTURE_NRE  # dollars, once: design, verification, masks (the lecture's figure)
    asic_price: float = 5_000.0  # dollars per custom chip (an assumption: the same as a general-purpose one)
    general_price: float = 5_000.0  # dollars per general-purpose chip (an assumption)
    speedup: float = 15.0  # work of one ASIC / one general chip; TPU v1 was 15–30× faster (Jouppi et al. 2017)
    asic_watts: float = 75.0  # TPU v1's TDP (Jouppi et al. 2017)
    general_watts: float = 300.0  # an assumption
    years: float = 4.0  # service life of a chip (an assumption)
    dollars_per_kwh: float = 0.10  # electricity and cooling (an assumption)

    def __post_init__(self) -> None:
        for name in ("asic_price", "general_price", "speedup", "years"):
            positive(name, getattr(self, name))
        for name in ("nre", "asic_watts", "general_watts", "dollars_per_kwh"):
            positive(name, getattr(self, name), allow_zero=True)

    def per_chip(self, price: float, watts: float) -> float:
        """Dollars for one chip over its life: its price plus the energy it uses."""
        return price + watts / 1000 * HOURS_PER_YEAR * self.years * self.dollars_per_kwh

    @property
    def general_per_unit(self) -> float:
        """Dollars per general-purpose chip's worth of work, on general-purpose chips."""
        return self.per_chip(self.general_price, self.general_watts)

    @property
    def asic_per_unit(self) -> float:
        """Dollars per general-purpose chip's worth of work, on custom chips (one ASIC does ``speedup`` units)."""
        return self.per_chip(self.asic_price, self.asic_watts) / self.speedup

    @property
    def min_speedup(self) -> float:
        """The speedup below which the ASIC never pays off, however large the volume (its chips cost more each)."""
        return self.per_chip(self.asic_price, self.asic_watts) / self.general_per_unit

    def general_cost(self, volume: float) -> float:
        """Total dollars for ``volume`` general-purpose chips' worth of work on general-purpose chips."""
        return positive("volume", volume, allow_zero=True) * self.general_per_unit

    def asic_cost(self, volume: float) -> float:
        """Total dollars for the same work on custom chips, the NRE included."""
        return self.nre + positive("volume", volume, allow_zero=True) * self.asic_per_unit

    @property
    def break_even(self) -> float | None:
        """The volume (general-purpose chips' worth of work) above which the ASIC is cheaper; None if never."""
        saving = self.general_per_unit - self.asic_per_unit
        return self.nre / saving if saving > 0 else None

    def with_(self, **changes: float) -> AsicCase:
        """The same case with some figures changed: ``case.with_(nre=5e6)``."""
        unknown = set(changes) - set(self.__dataclass_fields__)
        if unknown:
            raise ValueError(f"AsicCase has no figure {sorted(unknown)}; "
                             f"change one of {', '.join(self.__dataclass_fields__)}")
        return replace(self, **changes)

    def summary(self) -> str:
        """Per unit of work on each kind of chip, and the break-even volume."""
        lines = [f"general-purpose: ${self.general_per_unit:,.0f} per chip's worth of work (price + energy)",
                 f"custom chip:     ${self.asic_per_unit:,.0f} per general chip's worth of work "
                 f"(one ASIC does the work of {self.speedup:g}), plus ${self.nre:,.0f} once"]
        volume = self.break_even
        lines.append("the ASIC never pays off: each unit of work costs no less on it" if volume is None else
                     f"break-even at {volume:,.0f} general-purpose chips' worth of work")
        return "\n".join(lines)

    def __repr__(self) -> str:
        volume = "never" if self.break_even is None else f"{self.break_even:,.0f} chips' worth"
        return f"AsicCase(NRE ${self.nre:,.0f}, speedup {self.speedup:g}×, break-even {volume})"
