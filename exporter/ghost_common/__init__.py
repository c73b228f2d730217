"""What every ghost program shares, written once."""
