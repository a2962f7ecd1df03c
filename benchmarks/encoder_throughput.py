"""Encoder throughput per registered encoder: images/s through ``SiameseVerifier.embed``.

Model-only (a batch already decoded and resized), so CPU and GPU figures compare like for
like; the scan's end-to-end figures are in ``scan_benchmark.py``. On a GPU the model runs in
fp16 with channels-last memory; on the CPU in fp32 with all threads. Medians of repeats, on
random inputs (never zeros), after warm-up.

    python benchmarks/encoder_throughput.py                       # the CPU, default sizes
    python benchmarks/encoder_throughput.py --device cuda --batch 256
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from dupscope.models import ModelConfig, SiameseVerifier, get_spec

DEFAULTS = ("efficientnet_lite0:192", "efficientnet_lite1:240", "efficientnet_lite2:260", "efficientnet_b3:300")


def throughput(encoder: str, size: int, device: str, batch: int, repeats: int) -> float:
    spec = get_spec(encoder)
    cfg = ModelConfig(encoder=encoder, input_size=size, mean=spec.mean, std=spec.std)
    model = SiameseVerifier(cfg).eval().to(device)
    x = torch.randn(batch, 3, size, size, device=device)
    if device == "cuda":
        model = model.half().to(memory_format=torch.channels_last)
        x = x.half().contiguous(memory_format=torch.channels_last)

    def once() -> float:
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        model.embed(x)
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    with torch.inference_mode():
        for _ in range(3):
            once()
        return batch / statistics.median(once() for _ in range(repeats))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--encoders", nargs="*", default=list(DEFAULTS), help="name:size pairs")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=0, help="0: 256 on a GPU, 32 on the CPU")
    ap.add_argument("--repeats", type=int, default=0, help="0: 20 on a GPU, 5 on the CPU")
    a = ap.parse_args()
    gpu = a.device == "cuda"
    batch = a.batch or (256 if gpu else 32)
    repeats = a.repeats or (20 if gpu else 5)
    where = torch.cuda.get_device_name(0) + ", fp16" if gpu else f"CPU, {torch.get_num_threads()} threads, fp32"
    print(f"{where}, batch {batch}, median of {repeats}")
    print(f"| encoder | input | images/s |\n|---|---|---|")
    for item in a.encoders:
        name, _, size = item.partition(":")
        size_i = int(size) if size else get_spec(name).input_size
        print(f"| {name} | {size_i} | {throughput(name, size_i, a.device, batch, repeats):,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
