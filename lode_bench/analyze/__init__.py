"""Blur-pattern statistics of deblurring datasets (``lode-bench analyze``)."""
