import csv
import json

import numpy as np
import pytest
from PIL import Image

from dupscope.cli import main


@pytest.fixture
def pair_files(tmp_path, textured):
    a = tmp_path / "a.png"
    b = tmp_path / "b.jpg"
    Image.fromarray(textured).save(a)
    Image.fromarray(np.ascontiguousarray(textured[:, ::-1])).save(b, quality=90)
    return a, b


def test_compare_json(pair_files, tiny_checkpoint, capsys):
    a, b = pair_files
    assert main(["compare", str(a), str(b), "--json", "--model", str(tiny_checkpoint), "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"a", "b", "probability", "duplicate", "threshold", "model"} <= set(out)
    assert out["a"] == str(a) and 0.0 <= out["probability"] <= 1.0
    assert out["duplicate"] == (out["probability"] >= out["threshold"])
    # --threshold overrides the model's threshold, and the decision follows it.
    assert main(["compare", str(a), str(b), "--json", "--threshold", "0", "--model", str(tiny_checkpoint)]) == 0
    assert json.loads(capsys.readouterr().out)["duplicate"] is True


@pytest.mark.parametrize("content,reason", [(None, "file not found"), (b"", "file is empty"), (b"GIF89a\x00", "corrupt|truncated|not a recognised")])
def test_compare_bad_input_exit_2_one_line(tmp_path, pair_files, tiny_checkpoint, capsys, content, reason):
    bad = tmp_path / "bad.gif"
    if content is not None:
        bad.write_bytes(content)
    rc = main(["compare", str(pair_files[0]), str(bad), "--model", str(tiny_checkpoint)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert str(bad) in err[0]
    import re

    assert re.search(reason, err[0])


def test_compare_missing_model_exit_2(pair_files, tmp_path, capsys):
    rc = main(["compare", str(pair_files[0]), str(pair_files[1]), "--model", str(tmp_path / "nope")])
    assert rc == 2 and "not found" in capsys.readouterr().err


def test_evaluate_skips_bad_pairs_and_writes_outputs(tmp_path, pair_files, tiny_checkpoint, textured, capsys):
    a, b = pair_files
    c = tmp_path / "c.png"
    Image.fromarray(np.ascontiguousarray(255 - textured)).save(c)
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    rows = [("a.png", "b.jpg", 1, "mirror"), ("a.png", "c.png", 0, "neg"), ("b.jpg", "c.png", 0, "neg"), ("a.png", "corrupt.png", 1, "mirror")]
    pairs = tmp_path / "pairs.csv"
    with pairs.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["a", "b", "label", "group"])
        w.writerows(rows)
    scores, metrics, plot = tmp_path / "s.csv", tmp_path / "m.json", tmp_path / "roc.png"
    rc = main(["evaluate", str(pairs), "--scores-out", str(scores), "--json-out", str(metrics), "--plot", str(plot), "--model", str(tiny_checkpoint)])
    assert rc == 0
    m = json.loads(metrics.read_text())
    for key in ("roc_auc", "average_precision", "tpr_at_fpr_1pct", "threshold_at_fpr_1pct", "pairs_per_second", "groups"):
        assert key in m
    assert m["skipped"] == 1 and m["scored"] == 3
    assert m["groups"]["neg"]["count"] == 2 and "share_above_threshold" in m["groups"]["neg"]
    assert 0.0 <= m["ece"] <= 1.0
    out = capsys.readouterr()
    assert "corrupt.png" in out.err
    printed = json.loads(out.out[out.out.index("{"):])
    assert printed["ece"] == pytest.approx(m["ece"])
    assert set(printed["share_above_threshold"]) == {"mirror", "neg"}
    with scores.open() as fh:
        got = list(csv.DictReader(fh))
    assert [r["a"] for r in got] == ["a.png", "a.png", "b.jpg"]  # input columns repeated as given
    assert all(0.0 <= float(r["probability"]) <= 1.0 for r in got)
    assert plot.stat().st_size > 1000


def test_compare_explain_and_fusion(tmp_path, tiny_checkpoint, textured, capsys):
    """With a fitted fusion in the checkpoint, compare fuses by default and explains on request."""
    import shutil

    from dupscope.evidence import FusionModel

    ckpt = tmp_path / "fused"
    shutil.copy(tiny_checkpoint.with_suffix(".safetensors"), ckpt.with_suffix(".safetensors"))
    cfg = json.loads(tiny_checkpoint.with_suffix(".json").read_text())
    cfg["fusion_model"] = {**FusionModel(weights=[1.0, 2.0, 0.0, 0.0, 3.0], bias=-6.0).to_dict(), "threshold": 0.6}
    ckpt.with_suffix(".json").write_text(json.dumps(cfg))
    big = np.ascontiguousarray(np.kron(textured, np.ones((3, 3, 1), np.uint8)))
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(big).save(a)
    Image.fromarray(np.ascontiguousarray(np.rot90(big))).save(b)
    pic = tmp_path / "ev.png"
    assert main(["compare", str(a), str(b), "--json", "--explain", "--visualize", str(pic), "--model", str(ckpt)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["threshold"] == 0.6 and "verifier_probability" in out
    t = out["transform"]
    assert {"rotation_deg", "mirrored", "scale", "crop_box_a", "overlap_fraction", "inliers"} <= set(t)
    assert t["found"] and abs(t["rotation_deg"] - 90) < 2 and t["mirrored"] is False
    # Strong geometry lifts the fused probability above the (random) verifier's.
    assert out["probability"] > out["verifier_probability"]
    assert pic.stat().st_size > 5000
