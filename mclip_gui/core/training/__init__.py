"""Fine-tuning: settings, data, the training loop, its child process and model versions."""
