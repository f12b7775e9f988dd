"""Privacy: data subject requests (export and erase any customer), shop erasure and data retention."""
