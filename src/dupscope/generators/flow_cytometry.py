"""Flow cytometry dot/density plots with gates, in the FlowJo look.

Style is the staining panel plus the gating template: axis channels, scales, colour
scheme, populations' typical positions, gate geometry. Each render is a new tube:
new events, shifted population centres and proportions, so gate percentages and
the point cloud differ while the figure looks the same.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib
import numpy as np

from dupscope.generators._common import MPL_FONTS, Size, blur, figure_to_array, new_figure, pick, rc_for

MARKERS = ("CD3", "CD4", "CD8", "CD19", "CD14", "CD11b", "CD45", "CD56", "Ly6G", "F4/80", "CD25",
           "FoxP3", "Annexin V", "Ki-67", "IFN-γ", "CD44", "CD62L", "B220", "NK1.1", "GFP")
FLUORS = ("FITC", "PE", "APC", "PerCP-Cy5.5", "PE-Cy7", "BV421", "APC-Cy7", "Alexa Fluor 488", "BV605", "PI")
GATE_NAMES = ("Lymphocytes", "Singlets", "Live", "CD4+", "T cells", "B cells", "Monocytes", "P1", "P2", "Q2")
LIN_MAX = 262144.0


@dataclass(frozen=True)
class FlowStyle:
    """Panel, plot type and gating template."""

    scatter_plot: bool  # FSC/SSC linear axes vs fluorescence log axes
    x_label: str
    y_label: str
    pops: tuple[tuple[float, float, float, float, float, float], ...]  # mx, my, sx, sy, rho, w (unit box)
    plot_kind: str  # "pseudocolor" | "dots" | "contour" | "zebra"
    cmap: str
    gate_kind: str  # "quadrant" | "polygon" | "rectangle" | "none"
    gate: tuple[float, ...]
    gate_name: str
    n_events: int
    bins: int
    font: str
    font_size: float
    inches: float
    title: str
    show_count: bool


def sample_style(rng: np.random.Generator) -> FlowStyle:
    scatter = bool(rng.random() < 0.35)
    if scatter:
        xl, yl = str(pick(rng, ("FSC-A", "FSC-H"))), str(pick(rng, ("SSC-A", "SSC-H", "FSC-H")))
    else:
        m = rng.choice(MARKERS, 2, replace=False)
        f = rng.choice(FLUORS, 2, replace=False)
        sep = str(pick(rng, (" ", "-", " :: ")))
        xl, yl = f"{m[0]}{sep}{f[0]}", f"{m[1]}{sep}{f[1]}"
    k = int(rng.integers(2, 5))
    pops = []
    for i in range(k):
        pops.append((float(rng.uniform(0.15, 0.85)), float(rng.uniform(0.15, 0.85)),
                     float(rng.uniform(0.03, 0.1)), float(rng.uniform(0.03, 0.1)),
                     float(rng.uniform(-0.6, 0.8)), float(rng.uniform(0.2, 1.0))))
    gate_kind = str(pick(rng, ("quadrant", "polygon", "rectangle", "none"), p=(0.35, 0.3, 0.25, 0.1)))
    if scatter and gate_kind == "quadrant":
        gate_kind = "polygon"
    mx, my, sx, sy = pops[0][:4]
    if gate_kind == "quadrant":
        gate = (float(rng.uniform(0.35, 0.6)), float(rng.uniform(0.35, 0.6)))
    elif gate_kind == "polygon":
        t = np.linspace(0, 2 * np.pi, int(rng.integers(5, 9)), endpoint=False) + rng.uniform(0, 1)
        rr = rng.uniform(2.0, 3.0, len(t))
        gate = tuple(float(v) for v in np.column_stack([mx + rr * sx * np.cos(t), my + rr * sy * np.sin(t)]).ravel())
    else:
        gate = (mx - 2.5 * sx, my - 2.5 * sy, 5 * sx, 5 * sy)
    return FlowStyle(
        scatter_plot=scatter,
        x_label=xl,
        y_label=yl,
        pops=tuple(pops),
        plot_kind=str(pick(rng, ("pseudocolor", "dots", "contour", "zebra"), p=(0.55, 0.15, 0.2, 0.1))),
        cmap=str(pick(rng, ("jet", "turbo", "viridis", "plasma", "rainbow", "nipy_spectral"))),
        gate_kind=gate_kind,
        gate=tuple(float(g) for g in gate),
        gate_name=str(pick(rng, GATE_NAMES)),
        n_events=int(rng.integers(3000, 30000)),
        bins=int(rng.integers(120, 220)),
        font=str(pick(rng, MPL_FONTS, p=(0.6, 0.15, 0.1, 0.15))),
        font_size=float(rng.integers(16, 23)) / 2,  # quantised: font-lookup cache stays warm
        inches=float(rng.uniform(3.0, 4.2)),
        title=str(pick(rng, ("", "Specimen_001", "Sample", "Tube", "Lymphocytes", "Live cells"))),
        show_count=bool(rng.random() < 0.4),
    )


def _events(style: FlowStyle, rng: np.random.Generator) -> np.ndarray:
    n = int(style.n_events * rng.uniform(0.7, 1.3))
    w = np.array([p[5] for p in style.pops]) * rng.lognormal(0, 0.4, len(style.pops))
    counts = rng.multinomial(n, w / w.sum())
    parts = []
    for (mx, my, sx, sy, rho, _), c in zip(style.pops, counts):
        mx, my = mx + rng.normal(0, 0.04), my + rng.normal(0, 0.04)
        sx, sy = sx * rng.lognormal(0, 0.15), sy * rng.lognormal(0, 0.15)
        cov = [[sx * sx, rho * sx * sy], [rho * sx * sy, sy * sy]]
        parts.append(rng.multivariate_normal([mx, my], cov, c))
    # Debris / background events.
    nd = int(n * rng.uniform(0.02, 0.08))
    parts.append(rng.uniform(0, 1, (nd, 2)) * [1.0, 0.6] if style.scatter_plot else rng.normal(0.15, 0.1, (nd, 2)))
    ev = np.concatenate(parts)
    return np.clip(ev, 0.0, 0.999)


def _inside_polygon(p: np.ndarray, poly: np.ndarray) -> np.ndarray:
    from matplotlib.path import Path

    return Path(poly).contains_points(p)


def _axis_setup(ax, log: bool, which: str) -> None:
    """Map unit [0, 1] to a biexponential-looking axis (decades) or 0..262K linear."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    if log:
        # unit 0..1: zero near the origin, then decades 10^2..10^5 evenly spaced above.
        pos = lambda d: 0.2 + (d - 2) / 3.3 * 0.8  # noqa: E731
        major = [0.07] + [pos(d) for d in (2, 3, 4, 5)]
        labels = ["0", "$10^2$", "$10^3$", "$10^4$", "$10^5$"]
        minor = np.array([pos(np.log10(m * 10 ** d)) for d in (2, 3, 4) for m in range(2, 10)])
        axis.set_ticks(major)
        axis.set_ticklabels(labels)
        # Minor ticks as one line collection: 24 Tick objects per axis would cost ~15 ms.
        from matplotlib.collections import LineCollection

        fig, box = ax.figure, ax.get_position()
        span_px = fig.bbox.height * box.height if which == "x" else fig.bbox.width * box.width
        ln = 2.5 / 72 * fig.dpi / span_px  # 2.5 pt, in axes fraction across the axis
        if which == "x":
            segs = [[(m, 0.0), (m, -ln)] for m in minor]
            tr = ax.get_xaxis_transform()
        else:
            segs = [[(0.0, m), (-ln, m)] for m in minor]
            tr = ax.get_yaxis_transform()
        ax.add_collection(LineCollection(segs, colors="black", linewidths=0.6, transform=tr, clip_on=False))
    else:
        vals = [0, 50e3, 100e3, 150e3, 200e3, 250e3]
        axis.set_ticks([v / LIN_MAX for v in vals])
        axis.set_ticklabels(["0"] + [f"{int(v / 1e3)}K" for v in vals[1:]])


def render(style: FlowStyle, rng: np.random.Generator, size: Size) -> np.ndarray:
    """A new tube stained with this panel, gated with this template."""
    ev = _events(style, rng)
    b = style.bins
    hist, _, _ = np.histogram2d(ev[:, 1], ev[:, 0], bins=b, range=[[0, 1], [0, 1]])
    hist = hist.astype(np.float32)
    dens = blur(hist, 1.5)
    with matplotlib.rc_context(rc_for(style.font, style.font_size)):
        fig = new_figure(size, style.inches)
        ax = fig.add_axes([0.2, 0.16, 0.75, 0.74 if style.title else 0.79])
        if style.plot_kind in ("pseudocolor", "zebra"):
            ld = np.log1p(dens)
            ld = ld / max(float(ld.max()), 1e-6)
            rgba = matplotlib.colormaps[style.cmap](ld)
            if style.plot_kind == "zebra":
                bands = (np.floor(ld * 8) % 2 == 0)
                rgba[bands, :3] = rgba[bands, :3] * 0.75
            rgba[hist == 0] = (1, 1, 1, 1)
            ax.imshow(rgba, origin="lower", extent=(0, 1, 0, 1), interpolation="nearest", aspect="auto")
        elif style.plot_kind == "dots":
            g = np.where(hist > 0, 0.0, 1.0)
            ax.imshow(np.repeat(g[:, :, None], 3, 2), origin="lower", extent=(0, 1, 0, 1),
                      interpolation="nearest", aspect="auto")
        else:  # contour with outliers: smoother density so the lowest level is not speckle
            dens = blur(hist, 3.0)
            levels = np.quantile(dens[dens > 0], [0.5, 0.7, 0.85, 0.93, 0.97, 0.99]) if (dens > 0).any() else [1]
            levels = np.unique(levels)
            outl = (hist > 0) & (dens < levels[0])
            g = np.where(outl, 0.0, 1.0)
            ax.imshow(np.repeat(g[:, :, None], 3, 2), origin="lower", extent=(0, 1, 0, 1),
                      interpolation="nearest", aspect="auto")
            if len(levels) > 1:
                xs = (np.arange(b) + 0.5) / b
                ax.contour(xs, xs, dens, levels=levels, colors="black", linewidths=0.6)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        _axis_setup(ax, not style.scatter_plot, "x")
        _axis_setup(ax, not style.scatter_plot, "y")
        ax.set_xlabel(style.x_label)
        ax.set_ylabel(style.y_label)
        n = len(ev)
        g = style.gate
        fs = "small"
        if style.gate_kind == "quadrant":
            qx, qy = g
            ax.axvline(qx, color="black", lw=0.9)
            ax.axhline(qy, color="black", lw=0.9)
            right, up = ev[:, 0] > qx, ev[:, 1] > qy
            for sel, (tx, ty, ha, va) in (
                (~right & up, (0.03, 0.97, "left", "top")),
                (right & up, (0.97, 0.97, "right", "top")),
                (~right & ~up, (0.03, 0.03, "left", "bottom")),
                (right & ~up, (0.97, 0.03, "right", "bottom")),
            ):
                ax.text(tx, ty, f"{100 * sel.mean():.2g}", ha=ha, va=va, fontsize=fs, transform=ax.transAxes)
        elif style.gate_kind in ("polygon", "rectangle"):
            from matplotlib.patches import Polygon, Rectangle

            if style.gate_kind == "polygon":
                poly = np.asarray(g).reshape(-1, 2)
                ax.add_patch(Polygon(poly, closed=True, fill=False, ec="black", lw=1.0))
                frac = _inside_polygon(ev, poly).mean()
                tx, ty = poly[:, 0].mean(), poly[:, 1].max() + 0.02
            else:
                x0, y0, wd, ht = g
                ax.add_patch(Rectangle((x0, y0), wd, ht, fill=False, ec="black", lw=1.0))
                frac = ((ev[:, 0] > x0) & (ev[:, 0] < x0 + wd) & (ev[:, 1] > y0) & (ev[:, 1] < y0 + ht)).mean()
                tx, ty = x0 + wd / 2, y0 + ht + 0.02
            ax.text(float(np.clip(tx, 0.1, 0.9)), float(min(ty, 0.93)), f"{style.gate_name}\n{100 * frac:.3g}",
                    ha="center", va="bottom", fontsize=fs, linespacing=1.0)
        if style.title:
            t = style.title + (f"  n={n}" if style.show_count else "")
            ax.set_title(t, fontsize="medium")
        return figure_to_array(fig, size)
