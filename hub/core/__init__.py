"""Domain logic of the hub. Nothing here imports Flask."""
