"""Working as a team, beside the log: who is online (presence), the workers that act
on their own (snoozes ending, round-robin assignment) and the small pure helpers of
notes and quick replies. Every change they make is an event with actor ``system``."""
