"""The RQ worker: the runner (a process of its own, or a thread inside
`gateway serve`), the periodic tasks, and its start."""
