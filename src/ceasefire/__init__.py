"""Domain code of the Nagorno-Karabakh ceasefire dataset: extract, validate, publish.

This package has no Prefect imports: the flows in ``flows/`` orchestrate it.
"""

PACKAGE_NAME = "nagorno-karabakh-ceasefire"
