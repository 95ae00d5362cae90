"""What every layer uses: settings, logs and their redaction, metrics, CSV files."""
