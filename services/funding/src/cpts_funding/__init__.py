"""CPTS funding: who pays what to which CPTS, for which mission; ACI envelopes and analytics."""
