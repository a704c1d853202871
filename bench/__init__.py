"""Side-by-side benchmark of Hygeia's tabular generators against SDV; run with `make bench`."""
