"""The outbound dispatcher: per-sender rate limits now; queue, workers and retries to follow."""
