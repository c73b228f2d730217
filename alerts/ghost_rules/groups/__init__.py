"""One module per rule group (or family of groups); each has ``groups(ctx) -> list[Group]``."""
