"""Users' migration files: the contract, pairing TF1 and TF2 variables, aligned dropout."""
