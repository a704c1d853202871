"""Read, type, profile and quality-check tables; bundled demo datasets."""
