"""What every stage shares: the result types (``types``) and safe file writes and hashes (``files``)."""
