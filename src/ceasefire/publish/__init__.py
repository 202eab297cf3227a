"""Publishing: serialisation, atomic releases, version diffs, the catalog and version READMEs."""
