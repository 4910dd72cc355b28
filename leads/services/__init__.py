"""leads writes, by concern: ``keys`` (RSA key pairs), ``ingest`` (partner leads),
``welcome`` (the welcome SMS: one per patient per partner per window), ``pipeline`` (status
transitions), ``categories`` (category mapping)."""
