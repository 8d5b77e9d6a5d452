"""The deploy files (infra/docker, infra/kubernetes) read as data, for the drift tests."""
