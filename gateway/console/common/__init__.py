"""What the console's areas share: versioned documents (menus and SMS texts
are both), their common views, forms and YAML round trips."""
