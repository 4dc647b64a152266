"""Deblurring network architectures whose ``state_dict`` keys match the official checkpoints.

Every module here is an independent implementation; only the parameter names and shapes
follow the published code so that official weights load with ``strict=True``.
"""
