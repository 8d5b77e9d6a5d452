# Loaded into every BUILD file (pants.toml: build_file_prelude_globs).
#
# The one list of project resolves that import the shared first-party code (contracts, libs/testing,
# infra/local's local_stack) and the shared test libraries. Add a service's resolve here, in
# pants.toml's [python.resolves], and nowhere else.
PROJECT_RESOLVES = ("contracts", "local_stack", "simulator", "gateway", "inference", "dbt", "normalizer", "orchestrator", "feature_repo", "pipelines", "deploy")


def project_resolves():
    """`resolve=project_resolves()`: a target parametrized over every project resolve."""
    return parametrize(*PROJECT_RESOLVES)
