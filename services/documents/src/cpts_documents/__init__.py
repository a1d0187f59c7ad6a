"""The documents service: intake of CPTS budget and accounting documents, raw storage, FEC
validation, accounting summary, spending by mission and completeness tracking."""
