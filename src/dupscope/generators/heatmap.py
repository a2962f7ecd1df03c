"""Heatmaps with colour bars: expression matrices (optionally clustered with a
dendrogram and group strip), correlation matrices (optionally annotated), smooth maps.

Style fixes colormap, labels, matrix shape, fonts and decorations; each render draws
a new matrix, so siblings look like the same figure panel made from other data.
"""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib
import numpy as np

from dupscope.generators._common import MPL_FONTS, Size, figure_to_array, new_figure, pick, rc_for

GENE_PREFIX = ("ACT", "CD", "IL", "TNF", "MYC", "SOX", "FOX", "KRT", "COL", "MMP", "CXCL", "CCL", "HOX",
               "PAX", "STAT", "SMAD", "WNT", "NOTCH", "GATA", "KLF", "TP", "RPL", "HSP", "ATF", "EGR")
DIVERGING = ("RdBu_r", "bwr", "coolwarm", "seismic", "PiYG", "PRGn", "RdYlBu_r")
SEQUENTIAL = ("viridis", "magma", "inferno", "plasma", "Reds", "Blues", "YlOrRd", "hot", "cividis", "YlGnBu")
GROUP_COLOURS = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628")


@dataclass(frozen=True)
class HeatmapStyle:
    """Everything about a heatmap except its values."""

    kind: str  # "expression" | "correlation" | "smooth"
    cmap: str
    n_rows: int
    n_cols: int
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    show_row_labels: bool
    show_col_labels: bool
    cbar_label: str
    vlim: tuple[float, float]
    annotate: bool
    dendrogram: bool
    group_strip: bool
    n_groups: int
    gaps: bool
    font: str
    font_size: float
    inches: float
    title: str
    rotate_cols: bool


def sample_style(rng: np.random.Generator) -> HeatmapStyle:
    kind = str(pick(rng, ("expression", "correlation", "smooth"), p=(0.5, 0.3, 0.2)))
    if kind == "correlation":
        n = int(rng.integers(5, 16))
        n_rows = n_cols = n
    elif kind == "expression":
        n_rows, n_cols = int(rng.integers(12, 60)), int(rng.integers(4, 16))
    else:
        n_rows, n_cols = int(rng.integers(20, 80)), int(rng.integers(20, 80))
    genes = tuple(f"{pick(rng, GENE_PREFIX)}{int(rng.integers(1, 30))}" for _ in range(n_rows))
    samples = tuple(f"S{i + 1}" for i in range(n_cols)) if rng.random() < 0.5 else \
        tuple(f"{pick(rng, ('Ctrl', 'Tx', 'WT', 'KO'))}_{i % 3 + 1}" for i in range(n_cols))
    if kind == "correlation":
        cmap = str(pick(rng, DIVERGING))
        vlim = (-1.0, 1.0)
        cbar = str(pick(rng, ("Pearson r", "Spearman ρ", "Correlation")))
        samples = genes[:n_cols]
    elif kind == "expression":
        cmap = str(pick(rng, DIVERGING + SEQUENTIAL[:3]))
        v = float(pick(rng, (2.0, 2.5, 3.0)))
        vlim = (-v, v)
        cbar = str(pick(rng, ("Z-score", "Row Z-score", "log2 FC", "Scaled expression")))
    else:
        cmap = str(pick(rng, SEQUENTIAL))
        vlim = (0.0, float(pick(rng, (1.0, 10.0, 100.0, 255.0))))
        cbar = str(pick(rng, ("Intensity (a.u.)", "Density", "Signal", "Counts", "Activity")))
    return HeatmapStyle(
        kind=kind,
        cmap=cmap,
        n_rows=n_rows,
        n_cols=n_cols,
        row_labels=genes,
        col_labels=samples,
        show_row_labels=bool(n_rows <= 40 and rng.random() < 0.75),
        show_col_labels=bool(n_cols <= 24 and rng.random() < 0.8),
        cbar_label=cbar,
        vlim=vlim,
        annotate=bool(kind == "correlation" and n_rows <= 9 and rng.random() < 0.6),
        dendrogram=bool(kind == "expression" and rng.random() < 0.5),
        group_strip=bool(kind == "expression" and rng.random() < 0.5),
        n_groups=int(rng.integers(2, 4)),
        gaps=bool(kind != "smooth" and rng.random() < 0.4),
        font=str(pick(rng, MPL_FONTS, p=(0.5, 0.2, 0.1, 0.2))),
        font_size=float(rng.integers(13, 21)) / 2,  # quantised: font-lookup cache stays warm
        inches=float(rng.uniform(3.5, 5.0)),
        title=str(pick(rng, ("", "", "Differentially expressed genes", "Correlation matrix", "Heat map",
                             "Top 50 genes", "Activity map"))),
        rotate_cols=bool(kind == "correlation" or rng.random() < 0.6),
    )


def _data(style: HeatmapStyle, rng: np.random.Generator) -> np.ndarray:
    r, c = style.n_rows, style.n_cols
    if style.kind == "correlation":
        k = style.n_groups
        load = rng.normal(0, 1, (r, k)) * (rng.random((r, k)) < 0.8) + rng.normal(0, 0.3, (r, k))
        cov = load @ load.T + np.diag(rng.uniform(0.3, 1.5, r))
        d = np.sqrt(np.diag(cov))
        return cov / d[:, None] / d[None, :]
    if style.kind == "expression":
        k = int(rng.integers(2, 6))
        row_cl = rng.integers(0, k, r)
        col_grp = np.sort(rng.integers(0, max(2, style.n_groups), c))
        means = rng.normal(0, 1.5, (k, max(2, style.n_groups)))
        x = means[row_cl][:, col_grp] + rng.normal(0, 0.7, (r, c))
        x = (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 1e-6)
        return x[np.argsort(row_cl, kind="stable")]  # gene modules grouped, as in published maps
    from scipy.ndimage import gaussian_filter

    x = gaussian_filter(rng.normal(0, 1, (r, c)), rng.uniform(1.5, 5.0))
    # Standardise so every render uses the colour scale the same way (stable histogram).
    x = np.clip(0.5 + 0.2 * (x - x.mean()) / max(float(x.std()), 1e-9), 0, 1)
    return x * style.vlim[1]


def render(style: HeatmapStyle, rng: np.random.Generator, size: Size) -> np.ndarray:
    """A new matrix in this heatmap template."""
    x = _data(style, rng)
    order = np.arange(style.n_rows)
    link = None
    if style.dendrogram:
        from scipy.cluster.hierarchy import dendrogram, linkage

        link = linkage(x, "average")
        dn = dendrogram(link, no_plot=True)
        order = np.asarray(dn["leaves"])
        x = x[order]
    with matplotlib.rc_context(rc_for(style.font, style.font_size)):
        fig = new_figure(size, style.inches)
        left = 0.08 + (0.12 if style.dendrogram else 0.0)
        lab_w = 0.14 if style.show_row_labels else 0.02
        bottom = 0.16 if (style.show_col_labels and style.rotate_cols) else (0.09 if style.show_col_labels else 0.04)
        top = 0.9 if style.title else 0.96
        strip_h = 0.03 if style.group_strip else 0.0
        main = [left, bottom, 0.86 - left - lab_w, top - bottom - strip_h - 0.01]
        ax = fig.add_axes(main)
        im = ax.imshow(x, cmap=style.cmap, vmin=style.vlim[0], vmax=style.vlim[1], aspect="auto",
                       interpolation="nearest")
        if style.gaps:  # white cell borders (line collections: far cheaper than minor-tick grids)
            ax.hlines(np.arange(0.5, style.n_rows - 1), -0.5, style.n_cols - 0.5, colors="white", lw=0.8)
            ax.vlines(np.arange(0.5, style.n_cols - 1), -0.5, style.n_rows - 0.5, colors="white", lw=0.8)
        # Labels as plain texts: a Tick per row/column costs ~10x more to build.
        ax.set_xticks([])
        ax.set_yticks([])
        if style.show_row_labels:
            for i, k in enumerate(order):
                ax.text(style.n_cols - 0.5 + 0.25, i, style.row_labels[k], ha="left", va="center",
                        fontsize="small", clip_on=False)
        if style.show_col_labels:
            for j, lab in enumerate(style.col_labels):
                ax.text(j, style.n_rows - 0.5 + 0.25, lab, ha="center", va="top", fontsize="small",
                        rotation=90 if style.rotate_cols else 0, clip_on=False)
        for s in ax.spines.values():
            s.set_visible(False)
        if style.annotate:
            for i in range(style.n_rows):
                for j in range(style.n_cols):
                    v = x[i, j]
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize="x-small",
                            color="white" if abs(v) > 0.6 else "black")
        if style.group_strip:
            sax = fig.add_axes([main[0], main[1] + main[3] + 0.005, main[2], strip_h])
            grp = np.sort(rng.integers(0, style.n_groups, style.n_cols))
            cols = np.array([matplotlib.colors.to_rgb(GROUP_COLOURS[g]) for g in grp])[None]
            sax.imshow(cols, aspect="auto", interpolation="nearest")
            sax.set_axis_off()
        if link is not None:
            from matplotlib.collections import LineCollection
            from scipy.cluster.hierarchy import dendrogram

            dn = dendrogram(link, no_plot=True)
            dax = fig.add_axes([0.02, main[1], left - 0.03, main[3]])
            segs = [np.column_stack([d, i]) for i, d in zip(dn["icoord"], dn["dcoord"])]
            dax.add_collection(LineCollection(segs, colors="black", linewidths=0.7))
            dax.set_ylim(style.n_rows * 10, 0)
            dax.set_xlim(max(float(np.max(dn["dcoord"])), 1e-6) * 1.02, 0)
            dax.set_axis_off()
        cax = fig.add_axes([0.9, main[1] + main[3] * 0.55, 0.025, main[3] * 0.4])
        cb = fig.colorbar(im, cax=cax)
        cb.set_label(style.cbar_label, fontsize="small")
        cb.ax.tick_params(labelsize="x-small")
        if style.title:
            fig.suptitle(style.title, y=0.985, fontsize="medium")
        return figure_to_array(fig, size)
