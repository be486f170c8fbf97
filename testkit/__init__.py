"""What the tests and the benchmarks both need: tiny random-weight models built in the real
on-disk formats (and the small corpus their tokenizers are trained on), and ``dragoman``
child processes. Not part of the product (not installed with it)."""
