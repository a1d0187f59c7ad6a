"""HTTP routers: parse, authorise, call the commands and queries, shape the answer."""
