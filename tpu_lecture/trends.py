"""Growth over time, with sources: the training compute of landmark models, and microprocessors' transistors,
clock and power per chip (Moore's law, and the end of Dennard scaling that the TPU answered).

Every figure carries its source. :func:`doubling_time` fits a straight line to log2 of the values over the
years, so a notebook prints the trend from the data instead of quoting it; :func:`dennard` works out what
shrinking a transistor does to its power from P = C·V²·f, with and without the voltage scaling down too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tpu_lecture.checks import positive

# Sources.
VASWANI_2017 = "Vaswani et al., 'Attention Is All You Need', NeurIPS 2017, Table 2 (training cost in FLOPs)"
BROWN_2020 = "Brown et al., 'Language Models are Few-Shot Learners', arXiv:2005.14165, 2020, Table D.1"
CHOWDHERY_2022 = "Chowdhery et al., 'PaLM: Scaling Language Modeling with Pathways', arXiv:2204.02311, 2022, App. B"
LLAMA_2024 = "Llama Team (Meta), 'The Llama 3 Herd of Models', arXiv:2407.21783, 2024, Section 1"
GHOLAMI_2021 = ("Gholami et al., 'AI and Memory Wall', RiseLab 2021, data at github.com/amirgholami/ai_and_memory_wall "
                "(training PFLOPs computed from each paper's setup)")
AMODEI_2018 = "Amodei & Hernandez, 'AI and Compute', OpenAI, 2018: a 3.4-month doubling time from 2012 to 2018"
SEVILLA_2022 = ("Sevilla et al., 'Compute Trends Across Three Eras of Machine Learning', arXiv:2202.05924, 2022: "
                "about 6 months from 2010 to 2022, about 20 months before 2010")
RUPP_DATA = ("K. Rupp, 'Microprocessor Trend Data', github.com/karlrupp/microprocessor-trend-data (50yrs/, CC BY 4.0): "
             "data to 2010 collected by M. Horowitz, F. Labonte, O. Shacham, K. Olukotun, L. Hammond and C. Batten, "
             "from 2010 by K. Rupp")
MOORE_1965 = "G. E. Moore, 'Cramming more components onto integrated circuits', Electronics, 19 April 1965"
DENNARD_1974 = ("R. H. Dennard et al., 'Design of ion-implanted MOSFET's with very small physical dimensions', "
                "IEEE Journal of Solid-State Circuits SC-9(5), 1974")
HENNESSY_PATTERSON_2019 = ("J. L. Hennessy and D. A. Patterson, 'A New Golden Age for Computer Architecture', "
                           "Communications of the ACM 62(2), 2019")


@dataclass(frozen=True)
class Landmark:
    """A well-known model and the compute its training took (FLOPs, a MAC counted as 2), with the source."""

    name: str
    year: int
    training_flops: float
    source: str

    def __repr__(self) -> str:
        return f"Landmark({self.name!r}, {self.year}, {self.training_flops:.2g} FLOPs)"


LANDMARKS: tuple[Landmark, ...] = (
    Landmark("AlexNet", 2012, 4.6e17, GHOLAMI_2021),  # 460 PFLOPs
    Landmark("ResNet-152", 2015, 1.1e19, GHOLAMI_2021),  # 11,000 PFLOPs
    Landmark("Transformer (big)", 2017, 2.3e19, VASWANI_2017),  # Gholami et al. list the same 23,000 PFLOPs
    Landmark("BERT-Large", 2018, 2.5e20, GHOLAMI_2021),  # 250,000 PFLOPs
    Landmark("GPT-3 175B", 2020, 3.14e23, BROWN_2020),
    Landmark("PaLM 540B", 2022, 2.56e24, CHOWDHERY_2022),  # trained on 6,144 TPU v4 chips
    Landmark("Llama 3.1 405B", 2024, 3.8e25, LLAMA_2024),
)


def landmark(name: str) -> Landmark:
    """The landmark model called ``name`` (case does not matter)."""
    for item in LANDMARKS:
        if item.name.lower() == str(name).lower():
            return item
    known = ", ".join(item.name for item in LANDMARKS)
    raise ValueError(f"no landmark model called {name!r}; known: {known}")


def doubling_time(years: Sequence[float], values: Sequence[float]) -> float:
    """Years per doubling of ``values`` over ``years``: a least-squares line through log2(value) against the year."""
    if len(years) != len(values) or len(years) < 2:
        raise ValueError(f"need two or more (year, value) pairs of equal length, got {len(years)} years and "
                         f"{len(values)} values")
    logs = [math.log2(positive("value", v)) for v in values]
    mean_year, mean_log = sum(years) / len(years), sum(logs) / len(logs)
    spread = sum((y - mean_year) ** 2 for y in years)
    if spread == 0:
        raise ValueError("all the years are the same: a trend needs at least two different years")
    slope = sum((y - mean_year) * (v - mean_log) for y, v in zip(years, logs)) / spread
    if slope <= 0:
        raise ValueError(f"the values do not grow over these years (slope {slope:.3g} doublings per year): "
                         "no doubling time")
    return 1 / slope


def dennard(kappa: float, voltage_scales: bool = True) -> dict[str, float]:
    """What shrinking every length by ``kappa`` does, each factor worked out from P = C·V²·f.

    With ``voltage_scales`` (Dennard et al., 1974) the supply voltage shrinks with the transistor, and the power
    per area stays the same. Without it (from about 2005, when leakage stopped the voltage from falling) the
    same shrink at the faster clock multiplies the power per area by kappa².
    """
    k = positive("kappa", kappa)
    capacitance, voltage, clock, per_area = 1 / k, (1 / k if voltage_scales else 1.0), k, k * k
    power = capacitance * voltage**2 * clock
    return {"length": 1 / k, "voltage": voltage, "capacitance": capacitance, "clock": clock,
            "transistors per area": per_area, "power per transistor": power, "power per area": power * per_area}


@dataclass(frozen=True)
class Series:
    """One quantity over the years: (year, value) points, the unit, and the source."""

    name: str
    unit: str
    points: tuple[tuple[float, float], ...]
    source: str

    @property
    def years(self) -> list[float]:
        return [y for y, _ in self.points]

    @property
    def values(self) -> list[float]:
        return [v for _, v in self.points]

    def between(self, start: float, end: float) -> Series:
        """The points with start <= year < end."""
        return Series(self.name, self.unit, tuple(p for p in self.points if start <= p[0] < end), self.source)

    def __repr__(self) -> str:
        span = f"{int(self.years[0])}–{int(self.years[-1])}" if self.points else "empty"
        return f"Series({self.name!r}, {len(self.points)} points, {span}, {self.unit})"


def _parse(text: str, scale: float = 1.0) -> tuple[tuple[float, float], ...]:
    pairs = (item.split() for item in text.split(";") if item.strip())
    return tuple((float(year), float(value) * scale) for year, value in pairs)


def microprocessors() -> dict[str, Series]:
    """Transistors, clock (MHz) and typical power (W) per microprocessor chip, 1971–2021 (Rupp's data)."""
    return {
        "transistors": Series("transistors", "transistors per chip", _parse("".join(_TRANSISTORS), 1e3), RUPP_DATA),
        "clock": Series("clock", "MHz", _parse("".join(_FREQUENCY)), RUPP_DATA),
        "power": Series("power", "W (typical)", _parse("".join(_WATTS)), RUPP_DATA),
    }


# K. Rupp's microprocessor trend data (RUPP_DATA), 50yrs/, rounded to 3 significant digits:
# "year value" pairs; transistors in thousands, clock in MHz, power in watts.
_TRANSISTORS = (
    "1971.88 2.31; 1972.31 3.55; 1974.33 6.1; 1979.57 29.2; 1982.31 136; 1985.91 274; 1986.25 109; 1988.65 122; "
    "1989.47 1210; 1990.58 1210; 1992.40 1210; 1992.69 3110; 1992.69 1110; 1993.03 1720; 1993.41 3110; 1993.41 "
    "922; 1994.71 1910; 1994.71 2790; 1995.43 9650; 1995.72 3110; 1996.15 5470; 1996.35 6790; 1996.35 3650; "
    "1996.44 4290; 1996.83 9650; 1997.36 5470; 1997.45 3550; 1997.55 8900; 1997.64 7570; 1998.89 15300; 1999.13 "
    "9390; 1999.18 6980; 1999.47 9390; 1999.47 21700; 2000.19 22300; 2000.67 28400; 2000.67 37200; 2001.11 "
    "29200; 2001.20 42600; 2001.68 25500; 2001.83 37200; 2002.40 55700; 2002.79 38200; 2002.88 221000; 2003.41 "
    "151000; 2003.51 54200; 2003.65 106000; 2004.81 125000; 2004.81 106000; 2004.81 274000; 2005.72 233000; "
    "2005.82 112000; 2005.96 305000; 2006.06 115000; 2006.88 379000; 2006.88 155000; 2006.92 246000; 2006.97 "
    "297000; 2006.97 583000; 2007.07 151000; 2007.64 583000; 2007.74 233000; 2007.79 806000; 2007.84 115000; "
    "2007.98 509000; 2008.22 445000; 2008.46 410000; 2009.18 457000; 2009.28 784000; 2009.66 2.31e+06; 2009.71 "
    "1.91e+06; 2010.19 410000; 2010.38 1.31e+06; 2011.16 1.17e+06; 2011.32 2.6e+06; 2011.90 1.2e+06; 2012.40 "
    "2.4e+06; 2012.41 2.3e+06; 2012.70 2.1e+06; 2012.90 1.2e+06; 2013.40 5e+06; 2013.80 4.3e+06; 2014.16 "
    "4.3e+06; 2014.50 4.2e+06; 2014.80 2.6e+06; 2014.81 3.8e+06; 2014.82 5.7e+06; 2016.33 7.2e+06; 2016.67 "
    "8e+06; 2017.50 1.92e+07; 2018.40 8e+06; 2018.50 2.11e+07; 2019.30 8e+06; 2019.80 3.95e+07; 2020.10 "
    "3.04e+07; 2020.90 1.6e+07; 2021.80 5.7e+07; 2021.90 5.82e+07; 2021.90 5.5e+07 "
)
_FREQUENCY = (
    "1971.88 0.704; 1972.26 0.509; 1974.33 2.02; 1979.57 5.05; 1982.31 6.1; 1985.91 16.1; 1986.25 16.1; 1988.65 "
    "40.3; 1989.47 24.8; 1990.58 33.4; 1992.40 65.5; 1992.69 60.4; 1992.69 101; 1993.03 198; 1993.41 67.3; "
    "1993.41 40.3; 1994.71 151; 1994.71 297; 1995.43 297; 1995.72 90.6; 1996.11 198; 1996.35 198; 1996.44 90.6; "
    "1996.83 509; 1997.36 253; 1997.45 538; 1997.55 233; 1997.64 297; 1998.85 496; 1999.13 297; 1999.18 400; "
    "1999.47 457; 1999.47 509; 2000.19 743; 2000.67 1000; 2001.11 898; 2001.20 2020; 2001.68 806; 2001.78 1420; "
    "2002.40 2250; 2002.79 1810; 2002.88 1000; 2003.41 1180; 2003.51 2190; 2003.61 1810; 2004.81 2640; 2004.81 "
    "1910; 2004.86 3650; 2005.72 3190; 2005.87 2790; 2005.96 1210; 2006.01 2250; 2006.88 3650; 2006.88 2640; "
    "2007.02 2710; 2007.07 2310; 2007.64 2940; 2007.74 4660; 2007.74 4070; 2007.84 2020; 2007.98 1420; 2008.17 "
    "2020; 2008.17 2310; 2008.46 3020; 2009.18 2500; 2009.28 3280; 2009.42 2640; 2009.66 2640; 2009.71 3280; "
    "2010.19 2310; 2011.16 3470; 2011.32 2400; 2011.90 3000; 2012.40 3100; 2012.41 2900; 2012.70 3700; 2012.90 "
    "2500; 2013.40 1200; 2013.80 2700; 2014.16 2800; 2014.50 3700; 2014.80 3200; 2014.81 2600; 2014.82 2300; "
    "2016.33 2200; 2016.50 1500; 2016.67 4000; 2017.50 2200; 2017.58 2100; 2017.59 2500; 2018.40 3400; 2018.50 "
    "1200; 2019.30 2700; 2019.80 2250; 2020.10 2900; 2020.20 2700; 2020.90 3200; 2021.30 2300; 2021.80 3200; "
    "2021.90 1000; 2021.90 2600 "
)
_WATTS = (
    "1971.88 0.445; 1972.31 0.422; 1974.33 0.922; 1979.57 1.72; 1982.31 3.02; 1985.91 1.54; 1986.25 3.02; "
    "1988.65 3.96; 1989.47 2.79; 1990.58 3.46; 1992.40 5.94; 1992.69 14.5; 1993.03 35.2; 1993.41 3.02; 1993.41 "
    "13.3; 1994.71 28.4; 1994.71 3.02; 1995.43 50; 1995.72 16.1; 1996.15 33.4; 1996.30 30.8; 1996.35 10.2; "
    "1996.44 11.3; 1996.88 43.7; 1997.36 24.8; 1997.45 36.2; 1997.55 17; 1997.64 32.5; 1998.89 90.6; 1999.18 "
    "30; 1999.18 14.1; 1999.47 17; 1999.47 21.1; 2000.19 36.2; 2000.67 48.7; 2000.67 20; 2001.11 71; 2001.20 "
    "73; 2001.68 98.2; 2001.83 57.3; 2002.40 48.7; 2002.84 62.1; 2002.88 98.2; 2003.41 155; 2003.51 75; 2003.65 "
    "88.2; 2004.81 88.2; 2004.81 115; 2004.86 101; 2005.72 129; 2005.82 85.8; 2005.96 73; 2006.06 24.8; 2006.88 "
    "129; 2006.92 65.5; 2006.92 125; 2006.97 75; 2007.07 31.6; 2007.64 132; 2007.79 101; 2007.88 31.6; 2007.98 "
    "85.8; 2008.17 77; 2008.22 95.6; 2008.46 65.5; 2009.18 95.6; 2009.28 132; 2009.47 125; 2009.57 95.6; "
    "2009.66 132; 2010.38 168; 2011.16 130; 2011.32 130; 2011.90 95; 2012.40 140; 2012.41 130; 2012.70 200; "
    "2012.90 115; 2013.40 300; 2013.80 130; 2014.16 155; 2014.50 200; 2014.80 135; 2014.81 135; 2014.82 140; "
    "2016.33 145; 2016.50 245; 2017.50 180; 2017.58 140; 2017.59 205; 2018.40 190; 2018.50 250; 2019.30 205; "
    "2019.80 225; 2020.10 280; 2020.20 205; 2020.90 28; 2021.30 290; 2021.80 30; 2021.90 500; 2021.90 100 "
)
