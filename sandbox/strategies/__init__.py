"""How writes fan out to the stores."""
