"""The menu editor: menus as versioned documents (`menudoc`), the per-screen
form (`screenform`, `forms`), the phone preview, and its views under /admin/menus."""
from gateway.console.menus import views  # noqa: F401  (adds the views to the blueprint)
