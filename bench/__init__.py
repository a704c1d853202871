"""Side-by-side benchmark of every Hygeia tabular generator against SDV and MOSTLY AI; run with `make bench`."""
