"""Board farms on labgrid: a loopback farm, and runs over remote places."""
