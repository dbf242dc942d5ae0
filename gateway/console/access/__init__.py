"""Log-in, log-out and the console's front page."""
from gateway.console.access import views  # noqa: F401  (adds the views to the blueprint)
