"""lode_bench.report"""
