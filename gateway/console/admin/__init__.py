"""Administration: the audit log (every operator) and operator accounts (admins)."""
from gateway.console.admin import views  # noqa: F401  (adds the views to the blueprint)
