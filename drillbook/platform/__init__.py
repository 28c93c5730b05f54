"""The control planes a drill acts on."""
