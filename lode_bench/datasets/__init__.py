"""lode_bench.datasets"""
