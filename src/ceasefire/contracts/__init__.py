"""The contracts: Table Schemas, vocabularies and the pandera schemas derived from them."""
