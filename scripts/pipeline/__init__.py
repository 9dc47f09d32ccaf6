"""The whole Groundskeeper flow on the embedded AWS, through SAM: shared by `make demo` and the e2e test."""
