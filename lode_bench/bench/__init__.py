"""lode_bench.bench"""
