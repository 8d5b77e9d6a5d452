"""The main job: the whole platform on one machine, simulated traffic through it, a reconciled report.

`./pants run infra/local:demo` brings up Kafka and Temporal (`local_stack`), a Feast feature
server, and every service as a process from its Pants-built pex; sends simulated webhooks of all
four providers through the real gateway; waits until every accepted event is decided or
dead-lettered; and prints counts at every stage with the checks that they reconcile.
"""
