"""Training: Lightning module, losses and the ``dupscope train`` runner."""
