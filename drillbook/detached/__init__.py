"""The embedded stack run detached: a daemon holds it like a team's staging, a live profile and
an env file name its endpoints, and runbook-style commands (`python -m drillbook.stack ACTION`)
act on it through a control socket, so drills reach it only as they reach a live system."""
