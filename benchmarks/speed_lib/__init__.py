"""Parts of the speed benchmark (benchmarks/speed.py): test audio, CPU timings, memory, profiles."""
