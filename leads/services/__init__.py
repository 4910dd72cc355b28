"""leads writes, by concern: ``keys`` (RSA key pairs), ``ingest`` (partner leads),
``pipeline`` (status transitions), ``categories`` (category mapping)."""
