"""The SMS texts editor: the texts as a versioned document (`texts`), its
views under /admin/sms and its forms."""
from gateway.console.sms_texts import views  # noqa: F401  (adds the views to the blueprint)
