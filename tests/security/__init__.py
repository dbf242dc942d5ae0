"""Who may do what, and what a stranger can send (issue 11)."""
