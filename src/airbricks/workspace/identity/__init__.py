"""Identity: users, groups, service principals (SCIM) and the tokens that name them."""
