"""Training content (培训): a catalog of short videos by role, watched on an H5 player that counts what was
really played, tried first by seed users, assigned to the roles that must watch it."""
