"""The worker process itself: start-up, the model's preparation, shutdown."""
