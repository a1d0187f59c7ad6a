"""Indicators rules in plain Python: catalogue, default targets and their bounds, evidence
weighting, achievement and the variable part earned, the dialogue de gestion calendar."""
