"""The accounts API on both hosts: sign-in and tokens, partners' tokens, `me/`, clinic staff."""
