"""One module per hop of a pull (pure): each ``check`` answers for one workload, in one of its subnets,
for one service it needs, with the problems it finds (none: the hop passes)."""
