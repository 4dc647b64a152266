"""Dataset layouts, loaders, manifests and the dataset registry."""

from lode_bench.datasets.types import DatasetError, DatasetIndex, Sample

__all__ = ["DatasetError", "DatasetIndex", "Sample"]
