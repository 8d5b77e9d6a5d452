"""The main job: the whole platform on one machine, two waves of traffic, a reconciled report.

`./pants run infra/local:demo` brings up Kafka and Temporal (`local_stack`), a Feast feature
server, every service as a process from its Pants-built pex and the Dagster UI; writes a labelled
payment history into the store; sends wave 1 of simulated webhooks of all four providers through
the real gateway (scored by the rules baseline); waits until every accepted event is decided or
dead-lettered; runs the pipelines (ingest, dbt, training, evaluation, promotion), brings the
features online in Feast, waits until inference serves the promoted model, sends wave 2 the same
way; and prints counts at every stage per wave with the checks that they reconcile.
"""
