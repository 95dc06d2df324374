"""Network policy: which destinations a sandboxed command may reach, and how.

Offline and online are properties of the sandbox's namespaces and filters.
Allow-list mode adds a filtering proxy on the host, reached from inside only
through a unix socket: it decides on the name before any lookup, checks the
addresses it resolves, and records every connection.
"""
