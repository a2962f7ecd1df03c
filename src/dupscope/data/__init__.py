"""Data: source pools, positive/hard-negative construction, datasets and pair sets."""
