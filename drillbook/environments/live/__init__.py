"""The live environment: a system the harness did not start, reached through the profile's
endpoints and changed only through its bindings (drillbook.environments.live.bindings)."""
