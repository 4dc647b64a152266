"""lode_bench.models"""
