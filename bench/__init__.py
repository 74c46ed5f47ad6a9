"""
whitebrd's benchmarks: load scenarios run against a live daemon on loopback,
each beside the floor (L{bench.floor}), each bounded in time and count.

Run them with C{make bench BENCH_ARGS="SCENARIO ..."} or C{python -m bench
SCENARIO}; C{docs/performance.md} holds the method and the results.
"""
