"""Evaluation: metrics, calibration and the pair-CSV harness behind ``dupscope evaluate``."""
