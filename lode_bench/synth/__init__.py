"""lode_bench.synth"""
