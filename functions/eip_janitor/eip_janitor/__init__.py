"""EIP janitor: marks idle Elastic IPs, waits out a grace period and releases them."""
