"""lode_bench.align"""
