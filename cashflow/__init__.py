"""The business: scenario schema and validation, calendar, the vectorized cash model."""
