"""MTN MoMo's callbacks (`POST /momo/callback`, and PUT, as MTN sends them)."""
