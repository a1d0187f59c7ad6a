"""HTTP routers: parse, authorise, call the commands, shape the answer."""
