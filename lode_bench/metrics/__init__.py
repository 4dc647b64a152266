"""lode_bench.metrics"""
