"""Documents rules in plain Python (no I/O beyond reading a stream): document types, content
sniffing, FEC parsing and validation, the chart-of-accounts mapping, flags, the spending
template and the completeness rules."""
