"""Customer satisfaction: one NPS answer (and optional CSAT) per case, from a survey tool or an agent."""
