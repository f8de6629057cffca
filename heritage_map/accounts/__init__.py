"""People who sign in: accounts, their memberships of associations, and what each may do (policy)."""
