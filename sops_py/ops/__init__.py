"""Use cases on bytes and options (encrypt, decrypt, ...). No click here; only ops touch files."""
