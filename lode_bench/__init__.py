"""lode-bench: build image-deblurring datasets and score deblurring methods.

The package is organised in layers (lower layers never import upper ones)::

    io  <-  metrics  <-  bench  <-  report
    io  <-  capture / synth / align / datasets
    cli sits on top of everything.
"""

__version__ = "0.1.0"

from lode_bench.errors import LodeBenchError

__all__ = ["LodeBenchError", "__version__"]
