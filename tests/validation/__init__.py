"""The coverage suite of METRICS.md section 8: the tool grades its own intervals."""
