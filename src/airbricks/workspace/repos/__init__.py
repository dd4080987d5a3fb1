"""Git folders (``/api/2.0/repos``) over the ``git`` binary."""
