"""Message brokers that carry jisflow's outbox events between processes and plants."""
