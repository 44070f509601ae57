"""Storage protocols and their Redis (production) and memory (development) implementations."""
