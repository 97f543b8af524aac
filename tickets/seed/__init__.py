"""Data that is not the appellant's: the appeal types' catalogue (`seed_demo`), demo appeals, and
the generated volumes that the benchmarks and scale tests run on."""
