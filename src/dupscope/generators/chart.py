"""Data charts (line, bar, scatter, histogram, box) drawn with matplotlib's Agg backend.

Style fixes the whole look: chart kind, fonts, palette, labels, axis limits and ticks,
legend, grid, error bars. Each render draws new data, so siblings are "two panels of
the same figure" hard negatives: same frame and text, different curves.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib
import numpy as np

from dupscope.generators._common import MPL_FONTS, Size, figure_to_array, new_figure, pick, rc_for

AXIS_LABELS = (
    "Time (h)", "Time (min)", "Time (days)", "Concentration (µM)", "Dose (mg/kg)", "Relative expression",
    "Fold change", "Absorbance (OD600)", "Cell viability (%)", "Tumor volume (mm³)", "Body weight (g)",
    "Temperature (°C)", "Frequency (Hz)", "Voltage (mV)", "Current (pA)", "Wavelength (nm)",
    "Intensity (a.u.)", "Survival (%)", "Distance (µm)", "Latency (s)", "Counts", "log2 FC",
    "Normalized fluorescence", "Binding (%)", "Growth rate (1/h)", "Energy (eV)", "Pressure (kPa)",
)
TITLES = ("", "", "Dose response", "Growth curve", "Expression", "Control vs treated", "Kinetics",
          "Viability", "Calibration", "Time course", "Group comparison", "Distribution")
SERIES = ("Control", "Treated", "WT", "KO", "Vehicle", "Drug A", "Drug B", "siCtrl", "siRNA#1",
          "siRNA#2", "Low", "Medium", "High", "Day 1", "Day 7", "Model", "Data", "Fit")
CATEGORIES = ("Ctrl", "A", "B", "C", "D", "WT", "KO", "Het", "Veh", "Low", "Mid", "High", "Liver",
              "Lung", "Kidney", "Heart", "Brain", "Spleen")
PALETTES = (
    ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"),
    ("#000000", "#e41a1c", "#377eb8", "#4daf4a", "#984ea3"),
    ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3"),
    ("#222222", "#777777", "#aaaaaa", "#444444", "#cccccc"),
    ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00"),
    ("#e64b35", "#4dbbd5", "#00a087", "#3c5488", "#f39b7f"),
    ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"),
)
KINDS = ("line", "bar", "scatter", "hist", "box")


@dataclass(frozen=True)
class ChartStyle:
    """Everything about a chart except its data."""

    kind: str
    font: str
    font_size: float
    inches: float
    title: str
    x_label: str
    y_label: str
    palette: tuple[str, ...]
    n_series: int
    series_names: tuple[str, ...]
    categories: tuple[str, ...]
    legend: bool
    legend_loc: str
    grid: bool
    open_spines: bool
    ticks_in: bool
    marker: str
    linewidth: float
    errorbars: bool
    capsize: float
    n_points: int
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    bar_edge: bool
    alpha: float
    sig_stars: bool
    fit_line: bool
    facecolor: str
    bold_title: bool


def sample_style(rng: np.random.Generator) -> ChartStyle:
    kind = str(pick(rng, KINDS))
    n_series = int(rng.integers(1, 4 if kind in ("line", "scatter", "hist") else 3))
    if kind == "box":
        n_series = 1
    xmax = float(pick(rng, (1.0, 10.0, 24.0, 48.0, 100.0, 5.0, 60.0)))
    ymax = float(pick(rng, (1.0, 1.2, 2.0, 5.0, 10.0, 100.0, 150.0, 1000.0, 3.0)))
    n_cat = int(rng.integers(2, 7))
    return ChartStyle(
        kind=kind,
        font=str(pick(rng, MPL_FONTS, p=(0.45, 0.2, 0.1, 0.25))),
        font_size=float(rng.integers(16, 25)) / 2,  # quantised: font-lookup cache stays warm
        inches=float(rng.uniform(3.0, 4.5)),
        title=str(pick(rng, TITLES)),
        x_label=str(pick(rng, AXIS_LABELS)),
        y_label=str(pick(rng, AXIS_LABELS)),
        palette=pick(rng, PALETTES),
        n_series=n_series,
        series_names=tuple(str(s) for s in rng.choice(SERIES, 3, replace=False)),
        categories=tuple(str(s) for s in rng.choice(CATEGORIES, n_cat, replace=False)),
        legend=bool(rng.random() < 0.6 and n_series > 1),
        legend_loc=str(pick(rng, ("best", "upper left", "upper right", "lower right"))),
        grid=bool(rng.random() < 0.35),
        open_spines=bool(rng.random() < 0.6),
        ticks_in=bool(rng.random() < 0.4),
        marker=str(pick(rng, ("o", "s", "^", "D", "", "o"))),
        linewidth=float(rng.uniform(1.0, 2.2)),
        errorbars=bool(rng.random() < 0.6),
        capsize=float(pick(rng, (0.0, 2.0, 3.0, 4.0))),
        n_points=int(rng.integers(6, 40)),
        xlim=(0.0, xmax),
        ylim=(0.0, ymax),
        bar_edge=bool(rng.random() < 0.5),
        alpha=float(rng.uniform(0.5, 0.9)),
        sig_stars=bool(rng.random() < 0.5),
        fit_line=bool(rng.random() < 0.5),
        facecolor=str(pick(rng, ("white", "white", "white", "#f4f4f4"))),
        bold_title=bool(rng.random() < 0.5),
    )


def _curve(rng: np.random.Generator, x: np.ndarray, xmax: float) -> np.ndarray:
    """A plausible response curve on [0, 1] (saturating, sigmoid, decay, peak, wiggly)."""
    t = x / xmax
    k = rng.integers(0, 5)
    if k == 0:
        y = 1 - np.exp(-t * rng.uniform(1.5, 8))
    elif k == 1:
        y = 1 / (1 + np.exp(-(t - rng.uniform(0.2, 0.8)) * rng.uniform(6, 20)))
    elif k == 2:
        y = np.exp(-t * rng.uniform(1, 6))
    elif k == 3:
        c = rng.uniform(0.2, 0.7)
        y = np.exp(-((t - c) / rng.uniform(0.08, 0.3)) ** 2)
    else:
        y = 0.5 + 0.25 * np.sin(2 * np.pi * t * rng.uniform(0.5, 3) + rng.uniform(0, 6)) + 0.2 * t
    lo, hi = rng.uniform(0.02, 0.3), rng.uniform(0.55, 0.9)
    return lo + (hi - lo) * (y - y.min()) / max(float(np.ptp(y)), 1e-6)


def _draw(style: ChartStyle, rng: np.random.Generator, ax) -> None:
    pal = style.palette
    xmax, ymax = style.xlim[1], style.ylim[1]
    if style.kind == "line":
        x = np.linspace(0, xmax, style.n_points)
        for i in range(style.n_series):
            y = _curve(rng, x, xmax) * ymax
            err = np.abs(rng.normal(0.03, 0.015, len(x))) * ymax
            y = y + rng.normal(0, 0.015 * ymax, len(x))
            kw = dict(color=pal[i], lw=style.linewidth, marker=style.marker or None, ms=4,
                      label=style.series_names[i])
            if style.errorbars:
                ax.errorbar(x, y, yerr=err, capsize=style.capsize, elinewidth=0.8, **kw)
            else:
                ax.plot(x, y, **kw)
    elif style.kind == "bar":
        n_cat = len(style.categories)
        width = 0.8 / style.n_series
        xc = np.arange(n_cat)
        top = 0.0
        for i in range(style.n_series):
            hgt = rng.uniform(0.15, 0.8, n_cat) * ymax
            err = hgt * rng.uniform(0.04, 0.18, n_cat)
            pos = xc - 0.4 + width * (i + 0.5)
            ax.bar(pos, hgt, width * 0.92, color=pal[i], edgecolor="black" if style.bar_edge else "none",
                   linewidth=0.8, label=style.series_names[i],
                   yerr=err if style.errorbars else None, capsize=style.capsize,
                   error_kw=dict(elinewidth=0.8))
            top = max(top, float((hgt + err).max()))
            if style.sig_stars:
                for p, hh, e in zip(pos, hgt, err):
                    s = pick(rng, ("*", "**", "***", "ns", "", ""))
                    if s:
                        ax.text(p, hh + e + 0.02 * ymax, s, ha="center", va="bottom", fontsize="small")
        ax.set_xticks(xc)
        ax.set_xticklabels(style.categories)
    elif style.kind == "scatter":
        for i in range(style.n_series):
            n = int(rng.integers(15, 120))
            slope = rng.uniform(-0.8, 0.8)
            x = rng.uniform(0.05, 0.95, n)
            y = 0.5 + slope * (x - 0.5) + rng.normal(0, rng.uniform(0.03, 0.15), n)
            y = np.clip(y, 0.02, 0.98)
            ax.scatter(x * xmax, y * ymax, s=14, color=pal[i], alpha=style.alpha,
                       marker=style.marker or "o", edgecolors="none", label=style.series_names[i])
            if style.fit_line:
                b = np.polyfit(x, y, 1)
                xx = np.array([0.0, 1.0])
                ax.plot(xx * xmax, np.polyval(b, xx) * ymax, color=pal[i], lw=1.2, ls="--")
        if style.fit_line:
            r = float(np.corrcoef(x, y)[0, 1])
            ax.text(0.05, 0.93, f"r = {r:.2f}, p < {pick(rng, ('0.05', '0.01', '0.001'))}",
                    transform=ax.transAxes, fontsize="small", va="top")
    elif style.kind == "hist":
        for i in range(style.n_series):
            mu, sd = rng.uniform(0.25, 0.75) * xmax, rng.uniform(0.06, 0.2) * xmax
            data = rng.normal(mu, sd, int(rng.integers(200, 2000)))
            # Bins follow the data range (numpy/matplotlib default), so edges move with the data.
            bins = np.linspace(max(0.0, data.min()), min(xmax, data.max()), style.n_points + 1)
            cnt, _ = np.histogram(data, bins)
            cnt = cnt * (rng.uniform(0.5, 0.9) * ymax / max(1, cnt.max()))
            ax.stairs(cnt, bins, fill=True, color=pal[i], alpha=style.alpha, label=style.series_names[i])
            ax.stairs(cnt, bins, color="black" if style.bar_edge else pal[i], lw=0.8)
    else:  # box
        n_cat = len(style.categories)
        data = [rng.normal(rng.uniform(0.3, 0.7) * ymax, rng.uniform(0.05, 0.15) * ymax, int(rng.integers(8, 40)))
                for _ in range(n_cat)]
        bp = ax.boxplot(data, patch_artist=True, widths=0.55, showfliers=not style.fit_line)
        for j, patch in enumerate(bp["boxes"]):
            patch.set_facecolor(pal[j % len(pal)])
            patch.set_alpha(style.alpha)
        for med in bp["medians"]:
            med.set_color("black")
        if style.fit_line:
            for j, d in enumerate(data):
                ax.scatter(j + 1 + rng.uniform(-0.12, 0.12, len(d)), d, s=6, color="black", alpha=0.6, zorder=3)
        ax.set_xticks(np.arange(1, n_cat + 1))
        ax.set_xticklabels(style.categories)


def _margins(fig, style: ChartStyle, size: Size) -> None:
    """Fixed margins from the font size (tight_layout would cost a second full draw)."""
    h, w = size
    dpi = max(h, w) / style.inches
    pt = style.font_size / 72.0 * dpi  # font size in pixels
    left = pt * (5.2 if style.ylim[1] >= 100 else 4.6) / w
    bottom = pt * (2.3 if style.kind in ("bar", "box") else 3.4) / h
    top = 1.0 - pt * (2.4 if style.title else 1.0) / h
    right = 1.0 - pt * 1.2 / w
    fig.subplots_adjust(left=min(left, 0.4), bottom=min(bottom, 0.4), right=max(right, 0.6), top=max(top, 0.6))


def render(style: ChartStyle, rng: np.random.Generator, size: Size) -> np.ndarray:
    """New data in this chart template."""
    rc = rc_for(style.font, style.font_size, {
        "xtick.direction": "in" if style.ticks_in else "out",
        "ytick.direction": "in" if style.ticks_in else "out",
    })
    with matplotlib.rc_context(rc):
        fig = new_figure(size, style.inches, facecolor=style.facecolor)
        ax = fig.add_subplot(1, 1, 1)
        ax.set_facecolor("white")
        _draw(style, rng, ax)
        if style.kind not in ("bar", "box"):
            ax.set_xlim(*style.xlim)
        ax.set_ylim(*style.ylim)
        if style.kind not in ("bar", "box"):
            ax.set_xlabel(style.x_label)
        ax.set_ylabel(style.y_label)
        if style.title:
            ax.set_title(style.title, fontweight="bold" if style.bold_title else "normal")
        if style.grid:
            ax.grid(True, color="#d0d0d0", lw=0.6)
            ax.set_axisbelow(True)
        if style.open_spines:
            ax.spines["top"].set_visible(False)
            ax.spines["right"].set_visible(False)
        if style.legend and style.kind not in ("box",):
            ax.legend(loc=style.legend_loc, frameon=style.grid, fontsize="small")
        _margins(fig, style, size)
        return figure_to_array(fig, size)
