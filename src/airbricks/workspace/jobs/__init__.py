"""Jobs: job definitions, runs and their state machine, task execution, and the task types (``tasks/``)."""
