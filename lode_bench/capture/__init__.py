"""lode_bench.capture"""
