"""The session API: run the shipped protocols, adaptive sessions and pipelines; the registry;
checks and proofs of registered protocols."""
