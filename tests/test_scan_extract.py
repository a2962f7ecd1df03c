"""Figure extraction: panel splitting, image files and PDFs (raster and vector)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pymupdf = pytest.importorskip("pymupdf")

from dupscope.errors import ImageLoadError  # noqa: E402
from dupscope.scan.extract import Figure, Input, discover, figure_items, image_figures  # noqa: E402
from dupscope.scan.panels import content_box, split_panels  # noqa: E402
from dupscope.scan.pdf import pdf_figures, load_pdf_figure  # noqa: E402


from scan_helpers import png  # noqa: E402
from scan_helpers import blobs as _blobs  # noqa: E402


def blobs(seed: int, h: int = 120, w: int = 150) -> np.ndarray:
    return _blobs(seed, h, w, radius=(6, 25))


def composite(panels: list[np.ndarray], cols: int = 2, gutter: int = 12) -> tuple[np.ndarray, list]:
    h, w = panels[0].shape[:2]
    rows = (len(panels) + cols - 1) // cols
    out = np.full((rows * (h + gutter) + gutter, cols * (w + gutter) + gutter, 3), 255, np.uint8)
    boxes = []
    for i, p in enumerate(panels):
        y, x = gutter + (i // cols) * (h + gutter), gutter + (i % cols) * (w + gutter)
        out[y : y + h, x : x + w] = p
        boxes.append((x, y, x + w, y + h))
    return out, boxes


def test_split_panels_grid_and_single():
    comp, boxes = composite([blobs(i) for i in range(4)])
    assert split_panels(comp) == boxes
    assert split_panels(blobs(9, 300, 300)) == []  # no uniform border: one picture


def test_split_panels_irregular_layout_and_labels():
    comp = np.full((330, 420, 3), 255, np.uint8)
    comp[10:170, 10:200] = blobs(1, 160, 190)
    comp[190:320, 10:410] = blobs(2, 130, 400)  # wide panel under two
    comp[10:170, 220:410] = blobs(3, 160, 190)
    comp[0:8, 0:8] = 0  # a small label in the corner is not a panel
    got = split_panels(comp)
    assert sorted(got) == sorted([(10, 10, 200, 170), (220, 10, 410, 170), (10, 190, 410, 320)])


def test_split_panels_blot_stacks_are_one_panel_each():
    """A blot panel is a stack of thin strips; cut at every gap, each is too thin to keep."""
    rng = np.random.default_rng(0)
    comp = np.full((300, 560, 3), 255, np.uint8)
    boxes = []
    for x in (20, 300):
        comp[8:18, x : x + 10] = 0  # the panel letter
        for k in range(5):  # five strips of 40 px, 12 px apart
            y = 30 + 52 * k
            strip = np.full((40, 230), 200, np.uint8)
            for lane in range(6):
                strip[14:24, 10 + 37 * lane : 35 + 37 * lane] = rng.integers(40, 120)
            comp[y : y + 40, x : x + 230] = strip[..., None]
        boxes.append((x, 8, x + 230, 30 + 52 * 4 + 40))
    got = split_panels(comp)
    assert len(got) == 2
    for g, b in zip(sorted(got), boxes):
        assert abs(g[0] - b[0]) <= 1 and abs(g[2] - b[2]) <= 1 and abs(g[3] - b[3]) <= 1
        assert g[1] <= 30  # the whole stack, from its first strip (the letter may join it)


def test_split_panels_sparse_panel_in_a_grid_is_joined_from_its_fragments():
    """A faint blot in a grid of charts: strips and labels, each too small to be a panel.

    The first strip (with its lane labels) is just thicker than a panel's minimum side, so
    the strips are not a stack to merge; the grid the other panels form says where it is.
    """
    rng = np.random.default_rng(3)
    cells = [blobs(i, 190, 250) for i in range(5)]
    comp, boxes = composite(cells[:3] + [np.full((190, 250, 3), 255, np.uint8)] + cells[3:], cols=3, gutter=40)
    x0, y0 = boxes[3][0] + 40, boxes[3][1]
    for k, (top, h) in enumerate([(0, 52), (66, 36), (116, 36), (166, 24)]):
        strip = np.full((h, 160), 236, np.uint8)
        for lane in range(6):
            strip[h // 2 - 5 : h // 2 + 5, 8 + 25 * lane : 26 + 25 * lane] = rng.integers(60, 150) if k == 0 else 200
        comp[y0 + top : y0 + top + h, x0 : x0 + 160] = strip[..., None]
    got = split_panels(comp)
    assert len(got) == 6
    # The strips' ground is within the gutter tolerance: the panel is its bands' extent.
    assert [b for b in got if b not in boxes] == [(x0 + 8, y0 + 21, x0 + 151, y0 + 183)]
    # Without a grid around it (a hole in a single row), nothing is invented.
    row, _ = composite(cells[:3], cols=3, gutter=40)
    assert split_panels(row) == boxes[:3]


def test_split_panels_thick_strips_are_panels_and_their_stack_one_more():
    """Two blot panels side by side, each two strips thick enough to be panels of their own.

    Reuse may take one strip or the whole blot: both are candidates. The strips sit much
    closer than the panels do; a plain grid (rows as far apart as columns) has no stacks.
    """
    rng = np.random.default_rng(1)
    comp = np.full((260, 560, 3), 255, np.uint8)
    strips, stacks = [], []
    for x in (20, 310):
        for y in (20, 130):
            strip = np.full((100, 230), 200, np.uint8)
            for lane in range(6):
                strip[40:60, 10 + 37 * lane : 35 + 37 * lane] = rng.integers(40, 120)
            comp[y : y + 100, x : x + 230] = strip[..., None]
            strips.append((x, y, x + 230, y + 100))
        stacks.append((x, 20, x + 230, 230))
    got = split_panels(comp)
    assert sorted(got[:4]) == sorted(strips) and sorted(got[4:]) == stacks
    grid, _ = composite([blobs(i) for i in range(4)])
    assert len(split_panels(grid)) == 4


def test_split_panels_caption_does_not_glue_panels():
    """A thin caption line under two panels holds little content: the panels stay apart."""
    comp, boxes = composite([blobs(i) for i in range(2)])
    comp = np.concatenate([comp, np.full((30, comp.shape[1], 3), 255, np.uint8)])
    comp[comp.shape[0] - 24 : comp.shape[0] - 18, 12:-12] = 0  # a caption rule across both
    assert split_panels(comp) == boxes


def framed(body: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A one-panel chart: a title line above the body, a thin colour bar and ticks beside it."""
    h, w = body.shape[:2]
    fig = np.full((h + 60, w + 70, 3), 255, np.uint8)
    fig[8:16, 30 : 30 + w // 2] = 0  # title
    fig[40 : 40 + h, 20 : 20 + w] = body
    fig[40 : 40 + h // 2, w + 32 : w + 40] = np.linspace(0, 255, h // 2, dtype=np.uint8)[:, None, None]  # bar
    fig[40 : 40 + h // 2 : 20, w + 44 : w + 52] = 0  # its tick labels
    return fig, (20, 40, 20 + w, 40 + h)


def test_content_box_finds_the_body_of_a_framed_figure():
    body = blobs(5, 200, 160)
    fig, box = framed(body)
    assert split_panels(fig) == []  # one panel: nothing to split
    assert content_box(fig) == box
    assert content_box(blobs(9, 300, 300)) is None  # full-bleed picture
    tight = np.full((220, 180, 3), 255, np.uint8)
    tight[10:210, 10:170] = body  # the body is nearly all of it: the figure item suffices
    assert content_box(tight) is None


def test_framed_figure_body_meets_the_same_panel_cut_from_a_composite():
    """Reused as a figure of its own, a panel keeps its frame; cut from a composite, it does not."""
    body = blobs(5, 200, 160)
    single, _ = framed(body)
    comp, _ = composite([framed(body)[0], framed(blobs(6, 200, 160))[0]])
    fig = lambda img: Figure("f", None, (0.0, 0.0, float(img.shape[1]), float(img.shape[0])), img, {"type": "image"})
    single_items = [it for it, _ in figure_items(fig(single), "single.png")]
    comp_items = [it for it, _ in figure_items(fig(comp), "comp.png")]
    assert [it.panel for it in single_items] == [None, 0]
    assert single_items[1].hash in {it.hash for it in comp_items if it.panel is not None}


def test_figure_items_bbox_in_original_pixels(tmp_path):
    comp, boxes = composite([blobs(i) for i in range(2)])
    f = 8  # 2688 px wide: decoded at most 2048, bboxes still in the file's pixels
    big = np.asarray(Image.fromarray(comp).resize((comp.shape[1] * f, comp.shape[0] * f), Image.NEAREST))
    path = tmp_path / "big.png"
    Image.fromarray(big).save(path)
    fig = next(image_figures(Input("big.png", path, "image"), []))
    assert max(fig.image.shape) == 2048
    items = [it for it, _ in figure_items(fig, "big.png")]
    assert [it.panel for it in items] == [None, 0, 1]
    assert items[0].bbox == (0.0, 0.0, float(big.shape[1]), float(big.shape[0]))
    x0, y0, x1, y1 = items[1].bbox
    assert abs(x0 - f * boxes[0][0]) <= f and abs(x1 - f * boxes[0][2]) <= f and abs(y1 - f * boxes[0][3]) <= f
    assert len({it.hash for it in items}) == 3


def test_image_file_errors(tmp_path):
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tiny)
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((100, 100, 3), 200, np.uint8)).save(blank)
    for p, word in ((tiny, "too small"), (blank, "blank")):
        with pytest.raises(ImageLoadError, match=word):
            list(image_figures(Input(p.name, p, "image"), []))


def test_discover_folders_recursive_and_missing(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    for name in ("d/b.png", "d/sub/a.jpg", "d/notes.txt", "d/paper.pdf", "d/.hidden.png"):
        (tmp_path / name).write_bytes(b"x")
    skipped: list = []
    found = discover([tmp_path / "d", tmp_path / "missing.png", tmp_path / "d" / "b.png"], skipped)
    names = [i.path.name for i in found]
    assert names == ["b.png", "paper.pdf", "a.jpg"]
    assert [i.kind for i in found] == ["image", "pdf", "image"]
    assert skipped == [(str(tmp_path / "missing.png"), "file not found")]


def make_pdf(path, art: dict) -> None:
    """Two pages: JPX, CMYK JPEG, soft-masked PNG, an icon, a vector bar chart."""
    doc = pymupdf.open()
    p = doc.new_page()
    p.insert_text((72, 60), "Figure 1. Results", fontsize=11)
    buf = io.BytesIO()
    Image.fromarray(art["jpx"]).save(buf, "JPEG2000")
    p.insert_image(pymupdf.Rect(72, 80, 222, 200), stream=buf.getvalue())
    buf = io.BytesIO()
    Image.fromarray(art["cmyk"]).convert("CMYK").save(buf, "JPEG", quality=95)
    p.insert_image(pymupdf.Rect(300, 80, 450, 200), stream=buf.getvalue())
    rgba = np.dstack([art["masked"], np.full(art["masked"].shape[:2], 255, np.uint8)])
    rgba[:40, :, 3] = 0
    p.insert_image(pymupdf.Rect(72, 250, 222, 370), stream=png(rgba))
    p.insert_image(pymupdf.Rect(500, 20, 530, 50), stream=png(blobs(7, 24, 24)))  # icon
    p.insert_image(pymupdf.Rect(470, 250, 520, 300), stream=png(blobs(8, 48, 48)))  # small, shown small: a logo
    p.insert_image(pymupdf.Rect(300, 250, 450, 400), stream=png(art["lowres"]))  # small, shown large: a panel
    p2 = doc.new_page()
    for i in range(8):
        p2.draw_rect(pymupdf.Rect(100 + 20 * i, 500 - 15 * i, 112 + 20 * i, 500), color=(0, 0, 0), fill=(0.2, 0.4, 0.8))
    p2.draw_line((95, 370), (95, 502))
    p2.draw_line((95, 502), (270, 502))
    p2.draw_line((72, 700), (540, 700))  # a rule: not a figure
    doc.save(path)


def test_pdf_figures_raster_colourspaces_masks_and_vector(tmp_path):
    art = {"jpx": blobs(1), "cmyk": blobs(2), "masked": blobs(3), "lowres": blobs(4, 50, 50)}
    path = tmp_path / "paper.pdf"
    make_pdf(path, art)
    skipped: list = []
    figs = list(pdf_figures(Input("paper.pdf", path, "pdf"), skipped))
    assert skipped == []
    raster = [f for f in figs if f.origin["type"] == "raster"]
    vector = [f for f in figs if f.origin["type"] == "vector"]
    assert len(raster) == 4 and len(vector) == 1  # the icon and the logo are filtered
    jpx, cmyk, masked, lowres = raster
    assert lowres.bbox == (300.0, 250.0, 450.0, 400.0) and lowres.image.shape[:2] == (50, 50)
    assert jpx.page == 1 and jpx.bbox == (72.0, 80.0, 222.0, 200.0)
    assert np.abs(jpx.image.astype(int) - art["jpx"]).mean() < 3
    assert np.abs(cmyk.image.astype(int) - art["cmyk"]).mean() < 40  # via a CMYK profile
    assert masked.image[:40].min() == 255  # transparent: composited on white
    assert np.abs(masked.image[40:].astype(int) - art["masked"][40:]).mean() < 3
    v = vector[0]
    assert v.page == 2
    x0, y0, x1, y1 = v.bbox
    assert 90 <= x0 <= 100 and 360 <= y0 <= 400 and 260 <= x1 <= 275 and 495 <= y1 <= 510
    assert v.image.shape[0] > 100  # rendered at 150 dpi
    again = load_pdf_figure(path, v.origin)
    assert np.array_equal(again, v.image)
    assert np.array_equal(load_pdf_figure(path, jpx.origin), jpx.image)


def test_pdf_errors(tmp_path):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(ImageLoadError):
        list(pdf_figures(Input("bad.pdf", bad, "pdf"), []))
    doc = pymupdf.open()
    doc.new_page()
    enc = tmp_path / "enc.pdf"
    doc.save(enc, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    with pytest.raises(ImageLoadError, match="encrypted"):
        list(pdf_figures(Input("enc.pdf", enc, "pdf"), []))


def test_dark_ground_is_a_picture_not_a_framed_chart():
    body = blobs(5, 200, 160)
    fig, _ = framed(body)
    assert content_box(255 - fig) is None  # same layout on a black ground: cells, not a chart
