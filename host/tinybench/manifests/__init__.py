"""Typed readers of the manifests in models/, boards/ and runrules/, which report every
problem of a file at once."""
