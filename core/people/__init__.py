"""People: accounts, sign-in, what each person may see, and the data kept about them."""
