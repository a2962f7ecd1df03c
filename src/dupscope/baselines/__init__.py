"""Peer methods users would pick instead of dupscope, scored side by side in benchmarks."""

from dupscope.baselines.imagenet import ImageNetCosine
from dupscope.baselines.sift import sift_ransac_inliers, sift_ransac_score
from dupscope.baselines.phash import phash8_bits, phash8_score, phash_bits, phash_score, phash_similarity

__all__ = ["ImageNetCosine", "phash8_bits", "phash8_score", "phash_bits", "phash_score", "phash_similarity", "sift_ransac_inliers", "sift_ransac_score"]
