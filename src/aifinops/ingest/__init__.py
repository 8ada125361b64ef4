"""Getting usage in: event files, provider reports and logs."""
