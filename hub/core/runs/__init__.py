"""The run engine: event ids handed to the workers (``pending``), which hooks an event calls
(``routing``), run creation (``dispatch``), claiming and performing runs (``execute``), the
run failure policy (``policy``), the sweepers that bring back what a dead worker held
(``recovery``) and the recurring jobs' scheduler (``scheduling``).
"""
