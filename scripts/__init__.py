"""Project scripts: the local loop (scripts/local) and the end-to-end demo pipeline (scripts/pipeline)."""
